"""Gaussian avatar rendering speed: two 30k-gaussian avatars walking, seen by the scene's camera.

Measured per frame, median over the frames of a 16-frame shot:
- rasterise: the gaussian rasteriser alone (gsplat on CUDA when there is one, else the torch
  tile rasteriser on CPU), at 256x256 and 512x512, with 1 and 2 torch threads;
- pose: linear blend skinning of both avatars (per frame, amortised over the shot);
- scene: the whole `render_scene` of the two-person scene (skinning, meshes, splats, composite).
Also the CPU seconds each rasterised frame took (less sensitive to a busy machine than wall time;
on a shared machine report the load average the script prints beside the figures).

Run: python benchmarks/bench_gaussians.py [--frames 16] [--sizes 256 512] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402


def scene(size: int, frames: int):
    from amg.scene import Scene

    person = lambda pid, prompt, x: {"id": pid, "avatar": {"prompt": prompt, "style": "gaussians"},  # noqa: E731
                                     "motion": {"source": "walk"}, "placement": {"x": x}}
    return Scene.from_dict({"people": [person("a", "a man in a blue shirt and dark trousers", -0.5),
                                       person("b", "a woman in a red dress", 0.5)],
                            "render": {"frames": frames, "width": size, "height": size}})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()

    from amg.camera.scene_camera import scene_cameras
    from amg.motion.library import scene_motion
    from amg.render import render_scene
    from amg.render.scene_render import scene_avatars
    from amg.render.splat_scene import default_device, render_gaussian_people

    device = default_device()
    print(f"device: {device} ({'gsplat.rasterization' if device == 'cuda' else 'torch tile rasteriser'}); "
          f"cpus: {os.cpu_count()}; load average now: {os.getloadavg()[0]:.1f}")
    sc = scene(256, args.frames)
    avatars = scene_avatars(sc)
    print(f"gaussians: {' + '.join(f'{len(a):,}' for a in avatars)}")
    motions = [scene_motion(p, sc, args.frames, sc.render.fps) for p in sc.people]
    start = time.perf_counter()
    posed = [a.pose(m) for a, m in zip(avatars, motions)]
    pose_s = (time.perf_counter() - start) / args.frames
    print(f"pose (LBS, both avatars): {pose_s * 1000:.1f} ms/frame")
    joints = np.stack([p.joints for p in posed])
    for size in args.sizes:
        cams = scene_cameras(sc.camera, joints, size, size, fps=sc.render.fps)
        c2w = np.stack([c.c2w for c in cams])
        fov = np.array([c.fov_y_deg for c in cams])
        for threads in args.threads:
            torch.set_num_threads(threads)
            render_gaussian_people(posed, [1, 2], c2w[:1], fov[:1], size, size)  # warm-up
            wall, cpu = [], []
            for t in range(args.frames):
                one = [type(p)(p.means[t:t + 1], p.quats[t:t + 1], p.scales, p.opacities, p.sh, p.sh_degree,
                               p.joints[t:t + 1], p.body_vertices[t:t + 1]) for p in posed]
                w0, c0 = time.perf_counter(), time.process_time()
                layer = render_gaussian_people(one, [1, 2], c2w[t:t + 1], fov[t:t + 1], size, size)
                wall.append(time.perf_counter() - w0)
                cpu.append(time.process_time() - c0)
            cover = float((layer.alpha >= 0.5).mean())
            print(f"rasterise {size}x{size}, {threads} thread(s): {statistics.median(wall):.3f} s/frame "
                  f"(min {min(wall):.3f}, cpu {statistics.median(cpu):.3f} s), people cover {100 * cover:.0f}% "
                  f"of the frame")
    torch.set_num_threads(max(args.threads))
    for size in args.sizes:
        render_scene(scene(size, 1))  # the avatars are built once and cached, as in the app's preview
        start, cpu0 = time.perf_counter(), time.process_time()
        render_scene(scene(size, args.frames))
        total, cpu = time.perf_counter() - start, time.process_time() - cpu0
        print(f"render_scene {size}x{size}, {args.frames} frames, both gaussian: {total:.2f} s "
              f"({total / args.frames:.3f} s/frame, cpu {cpu / args.frames:.3f} s/frame)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
