"""RealEstate10K pose text, as CameraCtrl reads it: import and export.

Layout: a first line with the source video URL, then one line per frame:
`timestamp_us fx fy cx cy k1 k2` followed by the 3x4 world-to-camera matrix, row-major,
OpenCV camera axes (x right, y down, z forward). Intrinsics are normalised by the image
size (fx = focal / width, fy = focal / height), so vertical FOV = 2 atan(0.5 / fy).
"""

from __future__ import annotations

import numpy as np

from amg.camera.camera import check_fov, check_pose
from amg.camera.formats._io import c2w_gl_to_w2c_cv, text_rows, w2c_cv_to_c2w_gl
from amg.camera.path import CameraPath, Keyframe
from amg.errors import AmgError

NAME = "re10k"
COLUMNS = 19


def load(text: str, source: str, fps: float = 8.0) -> CameraPath:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    url = lines[0] if lines and len(lines[0].split()) < COLUMNS else ""
    rows = text_rows(text, source)
    if url:
        rows = rows[1:]
    if not rows:
        raise AmgError(f"{source}: no poses: expected lines of {COLUMNS} numbers after the URL line")
    stamps, keys_pose, fovs, aspects = [], [], [], []
    for lineno, vals in rows:
        where = f"{source}: line {lineno}"
        if vals is None or len(vals) != COLUMNS:
            got = "text" if vals is None else f"{len(vals)} numbers"
            raise AmgError(f"{where}: expected {COLUMNS} numbers (t fx fy cx cy k1 k2 and a 3x4 matrix), got {got}")
        v = np.asarray(vals)
        if not np.all(np.isfinite(v)):
            raise AmgError(f"{where}: contains NaN or infinite values")
        fx, fy = v[1], v[2]
        if fx <= 0 or fy <= 0:
            raise AmgError(f"{where}: focal lengths must be positive, got fx={fx:g} fy={fy:g}")
        check_pose(v[7:].reshape(3, 4), where)  # the rotation of the stored (world-to-camera) matrix
        keys_pose.append(check_pose(w2c_cv_to_c2w_gl(v[7:].reshape(3, 4)), where))
        fovs.append(check_fov(np.degrees(2 * np.arctan(0.5 / fy)), where))
        aspects.append(fy / fx)  # width / height for square pixels
        stamps.append(v[0])
    stamps = np.asarray(stamps)
    if len(stamps) > 1 and np.all(np.diff(stamps) > 0):
        times = (stamps - stamps[0]) * 1e-6
        timing = "timestamps"
    else:  # some tools write frame numbers or zeros: play one pose per frame
        times = np.arange(len(stamps)) / fps
        timing = f"{fps:g} fps"
    keys = [Keyframe(float(t), m, f) for t, m, f in zip(times, keys_pose, fovs)]
    return CameraPath(keys, source=source, aspect=float(np.median(aspects)),
                      meta={"re10k": {"url": url, "timing": timing}})


def dump(path: CameraPath, fps: float = 8.0, retime_frames: int | None = None) -> str:
    """One line per frame sampled at `fps` (or `retime_frames` spanning the path)."""
    if retime_frames is not None:
        times = path.frame_times(retime_frames, fps, retime=True)
    else:
        times = path.frame_times(int(np.floor(path.duration * fps + 1e-6)) + 1, fps)
    c2w, fov = path.poses_at(times)
    aspect = path.aspect or 1.0
    lines = [path.meta.get("re10k", {}).get("url") or f"amg-studio camera path {path.name}".strip()]
    for t, m, f in zip(times, c2w, fov):
        fy = 0.5 / np.tan(np.radians(f) / 2)
        w2c = c2w_gl_to_w2c_cv(m)[:3].reshape(-1)
        vals = [fy / aspect, fy, 0.5, 0.5, 0.0, 0.0, *w2c]
        lines.append(f"{int(round((t - times[0]) * 1e6))} " + " ".join(f"{x:.9f}" for x in vals))
    return "\n".join(lines) + "\n"
