"""`amg render SCENE.json -o out.mp4 [--passes rgb,depth,pose,mask]`: the scene's condition videos.

Each pass is its own MP4: the RGB avatars at OUTPUT, the others beside it as
OUTPUT_STEM.depth.mp4, .pose.mp4, .mask.mp4 (see amg.render.passes). With --frames-dir DIR
every pass is also a numbered PNG sequence DIR/PASS/00000.png (depth as 16-bit PNG, one mask
folder per person; see amg.render.frames).
"""

from __future__ import annotations

import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("render", help="render a scene's avatar condition video to MP4")
    p.add_argument("scene", help="scene JSON file or .amgscene bundle (the scene with its files)")
    p.add_argument("-o", "--output", required=True, help="output .mp4")
    p.add_argument("--width", type=int, help="override render.width")
    p.add_argument("--height", type=int, help="override render.height")
    p.add_argument("--frames", type=int, help="override render.frames")
    p.add_argument("--fps", type=float, help="override render.fps")
    p.add_argument("--floor", action="store_true", help="draw the floor grid")
    p.add_argument("--masks", help="also write the per-person masks as an .npz")
    p.add_argument("--passes", default="rgb",
                   help="comma-separated control passes to write, each its own MP4: rgb (at OUTPUT), depth "
                        "(near = bright), pose (OpenPose colours), mask (people white), pose+depth "
                        "(default: rgb)")
    p.add_argument("--frames-dir", help="also write every pass as numbered PNGs in DIR/PASS/00000.png "
                                        "(depth 16-bit; per-person masks in DIR/mask.PERSON)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from amg.errors import AmgError
    from amg.files import check_output
    from amg.render.outputs import write_passes
    from amg.render.passes import PASSES, check_passes, pass_paths
    from amg.bundle import load_scene

    if not args.output.lower().endswith(".mp4"):
        raise AmgError(f"output {args.output!r}: must be an .mp4 file")
    passes = check_passes(args.passes, PASSES + ("pose+depth",))
    if args.frames_dir and Path(args.frames_dir).exists() and not Path(args.frames_dir).is_dir():
        raise AmgError(f"--frames-dir {args.frames_dir}: exists and is not a folder")
    for path in pass_paths(args.output, passes).values():  # every output is checked before anything is made
        check_output(path)
    if args.masks:
        check_output(args.masks, "--masks")
        if Path(args.masks).resolve() == Path(args.output).resolve():
            raise AmgError(f"--masks {args.masks!r}: is the video output itself; give another file")
    scene = load_scene(args.scene)
    if args.floor:
        scene.render.floor = True
    start = time.time()
    # streamed: frames are rendered and written a chunk at a time, so memory does not grow with the clip
    out = write_passes(scene, args.output, passes, frames_dir=args.frames_dir, masks=args.masks, frames=args.frames,
                       width=args.width, height=args.height, fps=args.fps, progress=lambda msg: print(f"  {msg}..."))
    if args.frames_dir:
        print(f"wrote {out.frames} PNGs in each of {', '.join(str(f) for f in out.folders.values())}")
    print(f"wrote {', '.join(str(p) for p in out.videos.values())}: {out.frames} frames {out.width}x{out.height} at "
          f"{out.fps:g} fps, {len(scene.people)} people ({time.time() - start:.2f} s)")
    return 0
