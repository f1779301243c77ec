"""Leaving the app: animated glTF export, PNG sequences and the ComfyUI render node.

Two people (one in a dress) at 16 and 81 frames: `export_scene` time and .glb size; the
PNG sequences of all passes (`write_pass_sequences`) at 832x480; the ComfyUI "AMG Render"
node (one render, all passes as torch batches) at 832x480, 81 frames. Warm: avatars built
and the GL context up before timing.

Run: python benchmarks/bench_export.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import torch

    from amg.export import export_scene
    from amg.render import render_scene
    from amg.render.frames import write_pass_sequences
    from amg.render.passes import passes_from_render
    from amg.scene import Scene
    from amg_comfyui.nodes import AMGRender

    torch.set_num_threads(2)

    def scene(frames, width=256, height=256, fps=8):
        return Scene.from_dict({
            "people": [{"id": "a", "avatar": {"prompt": "a man in a blue shirt"}, "motion": {"source": "walk"},
                        "placement": {"x": -0.5}},
                       {"id": "b", "avatar": {"prompt": "a woman in a red dress"}, "motion": {"source": "wave"},
                        "placement": {"x": 0.5, "z": 0.4}}],
            "camera": {"preset": "orbit", "params": {"angle": 90}},
            "render": {"width": width, "height": height, "frames": frames, "fps": fps}})

    with tempfile.TemporaryDirectory() as tmp:
        export_scene(scene(2), Path(tmp) / "warm.glb")
        for frames, fps in ((16, 8), (81, 16)):
            t, info = timed(lambda: export_scene(scene(frames, fps=fps), Path(tmp) / "s.glb"), args.repeats)
            print(f"export_scene: 2 people, {frames} frames at {fps} fps: {t:.2f} s, {info.size / 1e6:.1f} MB .glb")
        wan = scene(81, 832, 480, 16)
        result = render_scene(wan)
        passes = passes_from_render(result, ("rgb", "depth", "pose", "mask"))
        t, folders = timed(lambda: write_pass_sequences(result, passes, Path(tmp) / "frames", ["a", "b"]), args.repeats)
        size = sum(f.stat().st_size for d in folders.values() for f in d.iterdir())
        print(f"PNG sequences: {len(folders)} folders x 81 frames at 832x480 (16-bit depth): {t:.2f} s, "
              f"{size / 1e6:.1f} MB")
    t, out = timed(lambda: AMGRender().run(wan), args.repeats)
    print(f"ComfyUI AMG Render node: 81 frames at 832x480, all passes as torch batches: {t:.2f} s "
          f"(avatars {tuple(out[0].shape)}, person_masks {tuple(out[5].shape)})")


if __name__ == "__main__":
    main()
