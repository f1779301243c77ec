"""Leaving the app: animated glTF export, PNG sequences and the ComfyUI render node.

The two people of presets/scenes/zoom_in_two_people.json (one in a dress) at 16 and 81 frames: `export_scene` time and .glb size; the
PNG sequences of all passes (`write_pass_sequences`) at 832x480; the ComfyUI "AMG Render"
node (one render, all passes as torch batches) at 832x480, 81 frames. Warm: avatars built
and the GL context up before timing.

Run: python benchmarks/bench_export.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_eval import median_seconds as timed  # noqa: E402  (benchmarks/ is on sys.path)


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

    base = Scene.load(ROOT / "presets" / "scenes" / "zoom_in_two_people.json")  # a woman in a dress, a man

    def scene(frames, width=256, height=256, fps=8):
        s = base.model_copy(deep=True)
        s.render.frames, s.render.width, s.render.height, s.render.fps = frames, width, height, float(fps)
        return s

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
