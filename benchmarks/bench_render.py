"""Condition-video rendering speed: AMG's renderer against typical SMPL tooling, same run.

Work measured (two people, 16 frames, 256x256): skinning + rendering + H.264 MP4 encoding.
- ours: Anny skinned in one batch, moderngl on EGL with buffers written in place.
- baseline: what typical SMPL code does per frame: a new trimesh.Trimesh and pyrender.Mesh for
  each person, a new pyrender.Scene, rendered by pyrender.OffscreenRenderer on EGL (the same
  skinned vertices, the same cameras), then the same MP4 writer.
Also: cold start, `import amg` to the first frame, with a warm cache (Anny data built) and in a
fresh process each time.

Run: python benchmarks/bench_render.py [--repeats 7]   (baseline needs benchmarks/requirements.txt)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

SCENE = ROOT / "presets" / "scenes" / "two_people.json"


def ours(scene, out_dir: Path) -> float:
    from amg.render import render_scene
    from amg.video import write_mp4

    start = time.perf_counter()
    result = render_scene(scene)
    write_mp4(result.rgb, out_dir / "ours.mp4", result.fps)
    return time.perf_counter() - start


def baseline(scene, out_dir: Path) -> float:
    """Per-frame trimesh + pyrender meshes and scene, pyrender offscreen on EGL."""
    if not hasattr(np, "infty"):  # pyrender 0.1.45 still uses np.infty, removed in NumPy 2
        np.infty = np.inf
    import pyrender
    import trimesh

    from amg.motion.library import scene_motion
    from amg.video import write_mp4
    from amg.render.scene_render import scene_avatars
    from amg.camera.scene_camera import scene_cameras

    start = time.perf_counter()
    s = scene.render
    avatars = scene_avatars(scene)
    posed = [a.pose(scene_motion(p, scene, s.frames, s.fps)) for p, a in zip(scene.people, avatars)]
    cameras = scene_cameras(scene.camera, np.stack([p.joints for p in posed]), s.width, s.height, fps=s.fps,
                            resolve_path=scene.resolve_path)
    renderer = pyrender.OffscreenRenderer(s.width, s.height)
    frames = []
    for t, cam in enumerate(cameras):
        pscene = pyrender.Scene(bg_color=[0, 0, 0, 1], ambient_light=[0.4, 0.4, 0.4])
        for body in posed:
            verts, faces, colors = body.meshes[0]
            tm = trimesh.Trimesh(verts[t], faces, vertex_colors=(colors * 255).astype(np.uint8), process=False)
            pscene.add(pyrender.Mesh.from_trimesh(tm, smooth=False))
        pscene.add(pyrender.PerspectiveCamera(yfov=np.radians(cam.fov_y_deg), aspectRatio=s.width / s.height),
                   pose=cam.c2w)
        pscene.add(pyrender.DirectionalLight(intensity=2.0), pose=cam.c2w)
        color, _ = renderer.render(pscene)
        frames.append(color[..., :3])
    renderer.delete()
    write_mp4(np.stack(frames), out_dir / "baseline.mp4", s.fps)
    return time.perf_counter() - start


COLD = """
import time; t = time.perf_counter()
import amg
from amg.scene import Scene
from amg.render import render_scene
r = render_scene(Scene.load({scene!r}), frames=1)
print(time.perf_counter() - t)
"""


def cold_start(cache_dir: str | None) -> float:
    env = dict(os.environ)
    if cache_dir:
        env["AMG_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", COLD.format(scene=str(SCENE))], env=env, capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cold-empty", action="store_true",
                        help="also time a cold start with an EMPTY cache (builds Anny's data: minutes)")
    args = parser.parse_args()

    from amg.scene import Scene

    scene = Scene.load(SCENE)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ours(scene, tmp)  # warm-up: GL context, avatars, Anny data
        ours_t = [ours(scene, tmp) for _ in range(args.repeats)]
        try:
            baseline(scene, tmp)
            base_t = [baseline(scene, tmp) for _ in range(args.repeats)]
        except ImportError as e:
            base_t = None
            print(f"baseline unavailable ({e}); pip install -r benchmarks/requirements.txt")
    print(f"two people, {scene.render.frames} frames, {scene.render.width}x{scene.render.height}, "
          f"skinning + rendering + MP4, median of {args.repeats}:")
    print(f"  ours (moderngl EGL, batched skinning):  {statistics.median(ours_t):.3f} s "
          f"(min {min(ours_t):.3f}, max {max(ours_t):.3f})")
    if base_t:
        print(f"  baseline (per-frame trimesh+pyrender): {statistics.median(base_t):.3f} s "
              f"(min {min(base_t):.3f}, max {max(base_t):.3f})")
        print(f"  speed-up: {statistics.median(base_t) / statistics.median(ours_t):.1f}x")
    warm = [cold_start(None) for _ in range(3)]
    print(f"cold start, import amg -> first frame, warm cache (fresh process): median {statistics.median(warm):.2f} s")
    if args.cold_empty:
        with tempfile.TemporaryDirectory() as empty:
            print(f"cold start, empty cache (builds Anny data once): {cold_start(empty):.1f} s")


if __name__ == "__main__":
    main()
