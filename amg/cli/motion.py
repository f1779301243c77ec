"""`amg motion import|export|list|search|joints|generate|from-video`: the motion library and motion files."""

from __future__ import annotations

import json
import time


def register(sub) -> None:
    p = sub.add_parser("motion", help="import, export, list and search motions")
    msub = p.add_subparsers(dest="motion_command", required=True, metavar="ACTION")

    q = msub.add_parser("import", help="convert a motion file (AMASS, SMPL/SMPL-X params, AIST++, joint "
                                       "positions, BVH) to AMG's .npz")
    q.add_argument("file", help="motion file (.npz, .npy, .bvh)")
    q.add_argument("-o", "--output", required=True, help="output .npz")
    q.add_argument("--fps", type=float, help="resample to this frame rate (for joint files: their frame rate, "
                                             "default 20 as HumanML3D)")
    q.add_argument("--person", type=int, help="keep only this person (0-based) of a multi-person file")
    q.add_argument("--no-ground", action="store_true", help="keep the file's height instead of putting "
                                                            "the lowest foot on the floor")
    q.set_defaults(func=run_import)

    q = msub.add_parser("export", help="write a motion as AMASS-style .npz (SMPL-X, Z up) or BVH")
    q.add_argument("file", help="motion (.npz of ours, or any importable file, or a preset name)")
    q.add_argument("-o", "--output", required=True, help="output .npz (AMASS-style) or .bvh")
    q.add_argument("--person", type=int, default=0, help="which person of a multi-person motion")
    q.set_defaults(func=run_export)

    q = msub.add_parser("list", help="list the motion library")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=run_list)

    q = msub.add_parser("search", help="rank the library by a sentence")
    q.add_argument("text", help='e.g. "two people boxing"')
    q.add_argument("-n", "--limit", type=int, default=5)
    q.add_argument("--keywords", action="store_true", help="keyword matching only (no sentence model)")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=run_search)

    q = msub.add_parser("joints", help="world joint positions (T,22,3) as the avatar performs them")
    q.add_argument("file", help="motion file or preset name")
    q.add_argument("-o", "--output", required=True, help="output .npy: (T,22,3), or (P,T,22,3) for pairs")
    q.add_argument("--fps", type=float, help="resample first")
    q.add_argument("--no-ground", action="store_true", help="do not put the lowest foot on the floor")
    q.set_defaults(func=run_joints)

    q = msub.add_parser("generate", help="motion from text: an external text-to-motion model, or the library")
    q.add_argument("text")
    q.add_argument("-o", "--output", required=True, help="output .npz")
    q.add_argument("--people", type=int, default=1)
    q.add_argument("--seconds", type=float, default=4.0)
    q.add_argument("--generator", help="a registered generator (entry point group amg.text_to_motion)")
    q.add_argument("--command", help="a program to run, e.g. \"python gen.py --text {prompt} --out {out}\"; "
                                     "{out} is where it writes joint positions (.npy)")
    q.add_argument("--fps", type=float, default=20.0, help="frame rate of generated joint positions")
    q.set_defaults(func=run_generate)

    q = msub.add_parser("from-video", help="capture the motion of the people in a video (BlazePose, offline) "
                                           "and the camera")
    q.add_argument("video", help="video file (MP4, MOV, WebM, ...)")
    q.add_argument("-o", "--output", required=True, help="output .npz (one person axis, first frame at --start)")
    q.add_argument("--people", type=int, default=1, help="how many people to follow (the most visible first)")
    q.add_argument("--start", type=float, default=0.0, help="seconds into the video")
    q.add_argument("--end", type=float, help="seconds into the video (default: the end)")
    q.add_argument("--fps", type=float, help="sampling rate (default: the video's, at most 30)")
    q.add_argument("--focal-mm", type=float, help="35 mm-equivalent focal length of the camera (default: from the "
                                                   "video's metadata, else 26 mm, a phone's main camera)")
    q.add_argument("--camera-out", help="write the camera path here (AMG camera JSON; `amg camera export` "
                                        "converts it)")
    q.add_argument("--overlay", help="write a video of the avatars over the footage here (.mp4)")
    q.set_defaults(func=run_from_video)


def _load(source: str, fps: float | None = None):
    from pathlib import Path

    from amg.errors import AmgError
    from amg.motion import edit
    from amg.motion.formats import load_motion_file
    from amg.motion.library import load_source

    if Path(source).exists():
        motions = load_motion_file(source, fps=fps)
    else:
        try:
            motions = load_source(source)
        except AmgError:
            raise AmgError(f"{source}: no such motion file or preset (see `amg motion list`)") from None
        if fps is not None:
            motions = [edit.resample(m, fps) for m in motions]
    return motions


def _pick(motions, person, source):
    from amg.errors import AmgError

    if person is None:
        return motions
    if not 0 <= person < len(motions):
        raise AmgError(f"{source}: --person {person} out of range: the file holds {len(motions)} "
                       f"{'person' if len(motions) == 1 else 'people'}")
    return [motions[person]]


def run_import(args) -> int:
    from amg.errors import AmgError
    from amg.motion import edit
    from amg.motion.formats import load_motion_file, save_npz

    if not args.output.lower().endswith(".npz"):
        raise AmgError(f"output {args.output!r}: must be an .npz file")
    from tqdm import tqdm

    start = time.time()
    with tqdm(total=0, unit="frame", desc="solving joints", disable=None, leave=False) as bar:
        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        motions = _pick(load_motion_file(args.file, fps=args.fps, progress=progress), args.person, args.file)
    if not args.no_ground:
        motions = [edit.ground(m) for m in motions]
    if len({m.num_frames for m in motions}) > 1:
        raise AmgError(f"{args.file}: its people have different lengths; import one with --person")
    save_npz(motions, args.output)
    m = motions[0]
    who = f"{len(motions)} people, " if len(motions) > 1 else ""
    print(f"wrote {args.output}: {who}{m.num_frames} frames at {m.fps:g} fps ({m.duration:.2f} s) "
          f"from {m.meta.get('source_format', '?')} ({time.time() - start:.2f} s)")
    if "source_scale" in m.meta:
        print(f"the source skeleton is {m.meta['source_scale']:.3f} times the size of the canonical one; "
              f"the motion was solved at that size and scaled to the canonical size (avatars perform it at theirs)")
    return 0


def run_export(args) -> int:
    from amg.errors import AmgError
    from amg.motion.formats import save_amass, save_bvh

    out = args.output.lower()
    if not (out.endswith(".npz") or out.endswith(".bvh")):
        raise AmgError(f"output {args.output!r}: must be .npz (AMASS-style) or .bvh")
    motion = _pick(_load(args.file), args.person, args.file)[0]
    (save_bvh if out.endswith(".bvh") else save_amass)(motion, args.output)
    kind = "BVH" if out.endswith(".bvh") else "AMASS-style SMPL-X .npz"
    print(f"wrote {args.output}: {kind}, {motion.num_frames} frames at {motion.fps:g} fps")
    return 0


def run_list(args) -> int:
    from dataclasses import asdict

    from amg.motion.library import list_presets

    presets = list_presets()
    if args.json:
        print(json.dumps([{**asdict(p), "tags": list(p.tags)} for p in presets], indent=1))
        return 0
    print(f"{'name':17s} {'people':>6s} {'seconds':>7s}  description")
    for p in presets:
        print(f"{p.name:17s} {p.people:6d} {p.duration:7.2f}  {p.description}")
    print(f"{len(presets)} motions. Credits: `amg motion list --json`.")
    return 0


def run_search(args) -> int:
    from amg.motion.search import search

    ranked = search(args.text, limit=args.limit, use_embeddings=not args.keywords)
    if args.json:
        print(json.dumps([{"name": p.name, "score": round(s, 4), "people": p.people} for p, s in ranked]))
        return 0
    for p, s in ranked:
        who = " (two people)" if p.people == 2 else ""
        print(f"{s:6.3f}  {p.name}{who}: {p.description}")
    return 0


def run_joints(args) -> int:
    import io

    import numpy as np

    from amg.errors import AmgError
    from amg.motion import edit
    from amg.files import atomic_write_bytes

    if not args.output.lower().endswith(".npy"):
        raise AmgError(f"output {args.output!r}: must be an .npy file")
    motions = _load(args.file, args.fps)
    if not args.no_ground:
        motions = [edit.ground(m) for m in motions]
    joints = [edit.joints(m).astype(np.float32) for m in motions]
    if len(joints) > 1 and len({len(j) for j in joints}) > 1:
        raise AmgError(f"{args.file}: its people have different lengths")
    arr = joints[0] if len(joints) == 1 else np.stack(joints)
    buf = io.BytesIO()
    np.save(buf, arr)
    atomic_write_bytes(args.output, buf.getvalue())
    print(f"wrote {args.output}: joints {arr.shape} (Y up, metres) at {motions[0].fps:g} fps")
    return 0


def run_generate(args) -> int:
    from amg.errors import AmgError
    from amg.motion.formats import save_npz
    from amg.motion.text2motion import CommandGenerator, text_to_motion

    if args.generator and args.command:
        raise AmgError("give --generator or --command, not both")
    gen = CommandGenerator(args.command) if args.command else args.generator
    motions = text_to_motion(args.text, people=args.people, seconds=args.seconds, generator=gen, fps=args.fps)
    save_npz(motions, args.output)
    source = motions[0].meta.get("preset") or "generated"
    print(f"wrote {args.output}: {len(motions)} person(s), {motions[0].num_frames} frames at "
          f"{motions[0].fps:g} fps (from {source})")
    return 0


def run_from_video(args) -> int:
    from tqdm import tqdm

    from amg.capture import CaptureConfig, motion_from_video
    from amg.errors import AmgError

    out = args.output
    if not str(out).lower().endswith(".npz"):
        raise AmgError(f"{out}: the motion is written as .npz")
    config = CaptureConfig(people=args.people, start=args.start, end=args.end, fps=args.fps, focal_mm=args.focal_mm)
    bars = []  # made at the first report, so a refused input prints only its message

    def progress(msg: str, frac: float) -> None:
        if not bars:
            bars.append(tqdm(total=100, unit="%", desc="capturing", leave=False))
        bars[0].set_postfix_str(msg)
        bars[0].n = int(frac * 100)
        bars[0].refresh()

    try:
        result = motion_from_video(args.video, config, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    result.save(out, camera=args.camera_out)
    people = result.num_people
    print(f"{out}: {people} {'person' if people == 1 else 'people'}, {len(result.times)} frames at "
          f"{result.fps:g} fps from {result.times[0]:.2f} s ({result.timings['total']:.1f} s)")
    for note in result.notes:
        print(f"  {note}")
    if args.camera_out:
        kind = "static" if result.camera.meta.get("static") else "turning"
        print(f"{args.camera_out}: {kind} camera, {result.width}x{result.height}")
    if args.overlay:
        from amg.capture.overlay import render_overlay

        render_overlay(result, args.video, args.overlay)
        print(f"{args.overlay}: avatars over the video")
    return 0
