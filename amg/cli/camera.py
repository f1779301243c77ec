"""`amg camera`: build camera paths from presets, import them from other tools, export them.

    amg camera presets
    amg camera preset orbit --angle 180 --radius 3 -o orbit.json
    amg camera import camera_path.json [--fit] [--retime-frames 16] -o path.json
    amg camera export path.json --format nerfstudio -o camera_path.json
"""

from __future__ import annotations

import numpy as np

from amg.camera.formats import FORMATS, MAX_FRAMES, check_sampling, load_camera_path, save_camera_path
from amg.files import parse_json
from amg.camera.presets import PRESETS, make_preset, preset_params
from amg.camera.subjects import Subjects, fit_to_subjects
from amg.errors import AmgError

#: Flags of `amg camera preset` that map straight onto preset parameters.
_NUMBER_FLAGS = ("angle", "radius", "height", "elevation", "azimuth", "fov", "distance", "factor",
                 "amount", "shake", "seed", "tension", "target_height", "smooth")
_CHOICE_FLAGS = ("direction", "mode")


def register(sub) -> None:
    p = sub.add_parser("camera", help="camera paths: presets, import from other tools, export",
                       description="Build, import and export camera paths (AMG camera-path JSON, nerfstudio "
                                   "camera_path.json, RealEstate10K/CameraCtrl text, MotionCtrl JSON, TUM).")
    csub = p.add_subparsers(dest="camera_command", required=True, metavar="ACTION")

    ls = csub.add_parser("presets", help="list the presets and their parameters")
    ls.set_defaults(func=_presets)

    pr = csub.add_parser("preset", help="build a preset path and write it as AMG camera-path JSON")
    pr.add_argument("name", choices=PRESETS, metavar="NAME", help=f"one of: {', '.join(PRESETS)}")
    for flag in _NUMBER_FLAGS:
        pr.add_argument(f"--{flag.replace('_', '-')}", dest=flag, type=float, default=None)
    for flag in _CHOICE_FLAGS:
        pr.add_argument(f"--{flag}", dest=flag, default=None)
    pr.add_argument("--constant-speed", action="store_true", help="move at constant speed along the path")
    pr.add_argument("--target", type=float, nargs=3, metavar=("X", "Y", "Z"),
                    help="the people's centre (default: one person standing at the origin, 0 0.9 0)")
    pr.add_argument("--subject-height", type=float, default=1.8, metavar="M",
                    help="how tall the framed group is, metres (default 1.8)")
    pr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="any other preset parameter (see `amg camera presets`)")
    pr.add_argument("--frames", type=int, default=16, help="frames the path spans (default 16)")
    pr.add_argument("--fps", type=float, default=8.0, help="frame rate (default 8)")
    pr.add_argument("-o", "--output", required=True, metavar="PATH.json")
    pr.set_defaults(func=_preset)

    im = csub.add_parser("import", help="read a camera file from another tool, write AMG camera-path JSON")
    im.add_argument("file", metavar="FILE")
    im.add_argument("--format", default="auto", choices=("auto",) + FORMATS)
    im.add_argument("--fps", type=float, default=8.0, help="frame rate of files without timing (default 8)")
    im.add_argument("--fov", type=float, default=40.0, help="vertical FOV of files without intrinsics (default 40)")
    im.add_argument("--fit", action="store_true",
                    help="re-centre, level and re-scale the path onto the people (see --target, --subject-height)")
    im.add_argument("--azimuth", type=float, default=None,
                    help="with --fit: where the first camera goes, degrees about the people (default 0 = in "
                         "front; AMG paths keep their own)")
    im.add_argument("--target", type=float, nargs=3, metavar=("X", "Y", "Z"), help="with --fit: the people's centre")
    im.add_argument("--subject-height", type=float, default=1.8, metavar="M", help="with --fit: their height")
    im.add_argument("--retime-frames", type=int, metavar="N",
                    help="re-time the path so N frames at --retime-fps span it from start to end")
    im.add_argument("--retime-fps", type=float, default=8.0, help="frame rate for --retime-frames (default 8)")
    im.add_argument("-o", "--output", required=True, metavar="PATH.json")
    im.set_defaults(func=_import)

    ex = csub.add_parser("export", help="write a camera path in another tool's format")
    ex.add_argument("file", metavar="PATH", help="a camera path (AMG JSON or any importable format)")
    ex.add_argument("--format", default="nerfstudio", choices=FORMATS)
    ex.add_argument("--fps", type=float, default=None,
                    help="sampling rate of the dense path (default: the file's own, else 24 nerfstudio, "
                         "8 re10k/motionctrl, 30 tum)")
    ex.add_argument("--width", type=int, default=None, help="render width written to nerfstudio files")
    ex.add_argument("--height", type=int, default=None, help="render height written to nerfstudio files")
    ex.add_argument("--retime-frames", type=int, metavar="N", help="sample exactly N frames spanning the path")
    ex.add_argument("-o", "--output", required=True, metavar="OUT")
    ex.set_defaults(func=_export)


def _subjects(args) -> Subjects:
    base = Subjects.standing_person()
    if args.subject_height is not None and not args.subject_height > 0:
        raise AmgError(f"--subject-height must be positive, got {args.subject_height}")
    centroid = np.asarray(args.target, dtype=np.float64) if args.target else base.centroid
    return Subjects(centroid, float(args.subject_height), centroid[None])


def _parse_set(items: list[str]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise AmgError(f"--set {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = parse_json(value, f"--set {key.strip()}")
        except AmgError as e:
            if "nested" in str(e) or "digits" in str(e):  # JSON, but not a value anyone means
                raise
            out[key.strip()] = value
    return out


def _presets(args) -> int:
    for name in PRESETS:
        print(name)
        for p in preset_params(name):
            rng = f" [{'|'.join(p.choices)}]" if p.choices else (
                f" [{p.low:g}..{p.high:g}]" if p.low is not None else "")
            print(f"  {p.name:15s} default {p.default!s:8s}{rng}  {p.help}")
    return 0


def _preset(args) -> int:
    check_sampling(None, args.fps)
    if not 1 <= args.frames <= MAX_FRAMES:
        raise AmgError(f"--frames must be 1-{MAX_FRAMES}, got {args.frames}")
    params = {k: getattr(args, k) for k in _NUMBER_FLAGS + _CHOICE_FLAGS if getattr(args, k) is not None}
    if args.constant_speed:
        params["constant_speed"] = True
    params.update(_parse_set(args.set))
    if float(params.get("start", 0.0)) != 0.0 or float(params.get("end", 1.0)) != 1.0:
        raise AmgError("start/end time the camera move within a scene's shot: set them in the scene's "
                       "camera params; a path file plays its keyframes as they are")
    path = make_preset(args.name, params, _subjects(args), max(args.frames - 1, 1) / args.fps)
    out = save_camera_path(path, args.output, "amg")
    print(f"wrote {out}: {args.name}, {len(path.keyframes)} keyframes, {path.duration:.3g} s")
    return 0


def _import(args) -> int:
    check_sampling(None, args.fps)
    path = load_camera_path(args.file, args.format, fps=args.fps, fov=args.fov)
    if args.fit:
        path = fit_to_subjects(path, _subjects(args), azimuth="auto" if args.azimuth is None else args.azimuth)
    if args.retime_frames is not None:
        try:
            check_sampling(None, args.retime_fps, args.retime_frames)
        except AmgError as e:
            raise AmgError(f"--retime-frames/--retime-fps: {e}") from None
        frames = args.retime_frames
        path = path.retimed(frames / args.retime_fps if path.loop else (frames - 1) / args.retime_fps)
    out = save_camera_path(path, args.output, "amg")
    dense = f", {len(path.samples)} dense cameras" if path.samples is not None else ""
    print(f"wrote {out}: {len(path.keyframes)} keyframes{dense}, {path.duration:.4g} s"
          f"{', loops' if path.loop else ''}")
    return 0


def _export(args) -> int:
    path = load_camera_path(args.file)
    out = save_camera_path(path, args.output, args.format, fps=args.fps, width=args.width, height=args.height,
                           retime_frames=args.retime_frames)
    print(f"wrote {out} ({args.format})")
    return 0
