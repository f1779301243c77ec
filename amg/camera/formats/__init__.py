"""Camera-path files: AMG's own JSON, nerfstudio, RealEstate10K/CameraCtrl, MotionCtrl, TUM.

`load_camera_path(file)` detects the format from the content; `dump_camera_path(path,
format)` writes one. All poses inside AMG are camera-to-world with OpenGL camera axes.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from amg.camera.formats import amg_json, motionctrl, nerfstudio, re10k, tum
from amg.camera.formats._io import read_text
from amg.files import parse_json
from amg.camera.path import CameraPath
from amg.errors import AmgError
from amg.files import atomic_write_text

#: Formats by name; import reads all, export writes all.
FORMATS = ("amg", "nerfstudio", "re10k", "motionctrl", "tum")


def detect_format(text: str, source: str) -> str:
    """Guess a camera file's format from its content."""
    head = text.lstrip()
    if head.startswith("{") or head.startswith("["):
        data = parse_json(text, source)
        if isinstance(data, list):
            return "motionctrl"
        if data.get("format") == amg_json.FORMAT:
            return "amg"
        if "keyframes" in data or "camera_path" in data:
            return "nerfstudio"
        if "camera_poses" in data:
            return "motionctrl"
        raise AmgError(f"{source}: unrecognised camera JSON: expected an AMG camera path ('format': "
                       f"'{amg_json.FORMAT}'), a nerfstudio camera_path.json or a MotionCtrl list of matrices")
    for line in head.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        count = len(line.split())
        if count == 8:
            return "tum"
        if count in (1, re10k.COLUMNS):  # RealEstate10K opens with its video URL
            return "re10k"
        break
    raise AmgError(f"{source}: unrecognised camera file: expected JSON (AMG, nerfstudio, MotionCtrl), "
                   "RealEstate10K lines of 19 numbers, or TUM lines 'timestamp tx ty tz qx qy qz qw'")


def load_camera_path(file: str | os.PathLike, format: str = "auto", fps: float = 8.0,
                     fov: float = 40.0) -> CameraPath:
    """Read a camera path. fps: frame rate of files without timing (MotionCtrl, and
    RealEstate10K files without increasing timestamps); fov: vertical FOV, degrees, of
    files without intrinsics (MotionCtrl, TUM)."""
    source = str(file)
    text = read_text(file)
    if format == "auto":
        format = detect_format(text, source)
    if format == "amg":
        return amg_json.load(text, source)
    if format == "nerfstudio":
        return nerfstudio.load(text, source)
    if format == "re10k":
        return re10k.load(text, source, fps=fps)
    if format == "motionctrl":
        return motionctrl.load(text, source, fps=fps, fov=fov)
    if format == "tum":
        return tum.load(text, source, fov=fov)
    raise AmgError(f"camera file format {format!r} is unknown; available: auto, {', '.join(FORMATS)}")


def dump_camera_path(path: CameraPath, format: str = "amg", fps: float | None = None,
                     width: int | None = None, height: int | None = None,
                     retime_frames: int | None = None) -> str:
    """Text of `path` in `format`. Dense formats sample it at `fps` (their own default when
    None), or at `retime_frames` frames stretched over the whole path."""
    default_fps = {"nerfstudio": path.meta.get("nerfstudio", {}).get("fps") or 24.0, "tum": 30.0}.get(format, 8.0)
    check_sampling(path, fps if fps is not None else default_fps, retime_frames, dense=format != "amg")
    for name, value in (("width", width), ("height", height)):
        if value is not None and not 1 <= value <= 16384:
            raise AmgError(f"{name} must be 1-16384 pixels, got {value}")
    if format == "amg":
        return amg_json.dump(path if retime_frames is None else _baked(path, retime_frames, fps or 8.0))
    if format == "nerfstudio":
        return nerfstudio.dump(path, fps=fps, width=width, height=height, retime_frames=retime_frames)
    if format == "re10k":
        return re10k.dump(path, fps=fps or 8.0, retime_frames=retime_frames)
    if format == "motionctrl":
        return motionctrl.dump(path, fps=fps or 8.0, retime_frames=retime_frames)
    if format == "tum":
        return tum.dump(path, fps=fps or 30.0, retime_frames=retime_frames)
    raise AmgError(f"camera file format {format!r} is unknown; available: {', '.join(FORMATS)}")


def save_camera_path(path: CameraPath, file: str | os.PathLike, format: str = "amg", **kwargs) -> Path:
    """Write atomically (a failure never leaves a half-written file)."""
    text = dump_camera_path(path, format, **kwargs)
    file = Path(file)
    atomic_write_text(file, text)
    return file


#: Most camera frames a file may be sampled into (an hour at 24 fps is 86,400).
MAX_FRAMES = 100_000
MAX_FPS = 1000.0


def check_sampling(path: CameraPath | None, fps: float, frames: int | None = None, dense: bool = True) -> None:
    """Refuse a rate or frame count that is not a number, or that would make more than
    MAX_FRAMES cameras (each is kept in memory)."""
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise AmgError(f"fps must be a number above 0 and at most {MAX_FPS:g}, got {fps}")
    if frames is not None and not 2 <= frames <= MAX_FRAMES:
        raise AmgError(f"frame count must be 2-{MAX_FRAMES}, got {frames}")
    if dense and frames is None and path is not None and path.duration * fps > MAX_FRAMES:
        raise AmgError(f"{path.duration:g} s at {fps:g} fps is {path.duration * fps:.3g} frames, more than "
                       f"{MAX_FRAMES}; ask for a lower fps or a frame count")


def _baked(path: CameraPath, frames: int, fps: float) -> CameraPath:
    """`path` re-timed so that `frames` frames at `fps` span it exactly."""
    return path.retimed(frames / fps if path.loop else max(frames - 1, 1) / fps)
