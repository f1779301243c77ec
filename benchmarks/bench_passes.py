"""Control passes at Wan's size: two people, 81 frames at 832x480 (16 fps), all passes.

Measures `render_passes(scene, "rgb,depth,pose,mask")` (one rasterisation, then depth, OpenPose
skeletons and masks), warm (avatars built, GL context up) and the first call in the process;
and the reference images (one per person). Target: all passes under 5 s on 2 CPU cores.

Run: python benchmarks/bench_passes.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import torch

    from amg.render.passes import reference_images, render_passes
    from amg.scene import Scene

    torch.set_num_threads(2)
    scene = Scene.from_dict({
        "people": [{"id": "a", "avatar": {"prompt": "a man in a blue shirt"}, "motion": {"source": "walk"},
                    "placement": {"x": -0.5}},
                   {"id": "b", "avatar": {"prompt": "a woman in a red dress"}, "motion": {"source": "wave"},
                    "placement": {"x": 0.5, "z": 0.4}}],
        "render": {"width": 832, "height": 480, "frames": 81, "fps": 16}})
    start = time.perf_counter()
    render_passes(scene)
    first = time.perf_counter() - start
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        out = render_passes(scene)
        times.append(time.perf_counter() - start)
    stages = {}
    from amg.render.passes import depth_pass, mask_pass, pose_pass
    from amg.render.scene_render import render_scene

    start = time.perf_counter()
    result = render_scene(scene)
    stages["render (pose bodies + rasterise rgb/ids/depth)"] = time.perf_counter() - start
    for name, fn in (("depth", lambda: depth_pass(result.depth)), ("pose", lambda: pose_pass(result)),
                     ("mask", lambda: mask_pass(result.masks))):
        start = time.perf_counter()
        fn()
        stages[name] = time.perf_counter() - start
    start = time.perf_counter()
    reference_images(scene, 832, 480)
    refs = time.perf_counter() - start
    t, h, w = out["rgb"].shape[:3]
    print(f"control passes rgb,depth,pose,mask: 2 people, {t} frames {w}x{h}")
    print(f"  first call in the process: {first:.2f} s (builds avatars, GL context)")
    print(f"  warm: median {statistics.median(times):.2f} s over {args.repeats} (target < 5 s)")
    for k, v in stages.items():
        print(f"    {k}: {v:.2f} s")
    print(f"  reference images (2 people, 832x480): {refs:.2f} s")


if __name__ == "__main__":
    main()
