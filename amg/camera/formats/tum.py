"""TUM RGB-D trajectories: `timestamp tx ty tz qx qy qz qw` per line, `#` comments.

Each line is the camera's pose in the world (camera-to-world), translation in metres and
a unit quaternion (x, y, z, w); TUM cameras use OpenCV axes (x right, y down, z forward),
converted here to OpenGL axes. The file holds no intrinsics: vertical FOV is `fov`.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from amg.camera.camera import check_fov, check_pose
from amg.camera.formats._io import CV_TO_GL, text_rows
from amg.camera.path import CameraPath, Keyframe
from amg.errors import AmgError

NAME = "tum"


def load(text: str, source: str, fov: float = 40.0) -> CameraPath:
    rows = text_rows(text, source)
    if not rows:
        raise AmgError(f"{source}: no poses: expected lines 'timestamp tx ty tz qx qy qz qw'")
    fov = check_fov(fov, f"{source}: fov")
    keys = []
    for lineno, vals in rows:
        where = f"{source}: line {lineno}"
        if vals is None or len(vals) != 8:
            got = "text" if vals is None else f"{len(vals)} numbers"
            raise AmgError(f"{where}: expected 8 numbers 'timestamp tx ty tz qx qy qz qw', got {got}")
        v = np.asarray(vals)
        if not np.all(np.isfinite(v)):
            raise AmgError(f"{where}: contains NaN or infinite values")
        norm = np.linalg.norm(v[4:])
        if abs(norm - 1.0) > 1e-2:
            raise AmgError(f"{where}: the quaternion must have unit length, got length {norm:.4g}")
        c2w = np.eye(4)
        c2w[:3, :3] = Rotation.from_quat(v[4:] / norm).as_matrix()
        c2w[:3, 3] = v[1:4]
        keys.append(Keyframe(float(v[0]), check_pose(c2w @ CV_TO_GL, where), fov))
    t0 = keys[0].time
    for k in keys:  # TUM stamps are absolute (Unix) seconds: start the path at 0
        k.time -= t0
    return CameraPath(keys, source=source)


def dump(path: CameraPath, fps: float = 30.0, retime_frames: int | None = None) -> str:
    if retime_frames is not None:
        times = path.frame_times(retime_frames, fps, retime=True)
    else:
        times = path.frame_times(int(np.floor(path.duration * fps + 1e-6)) + 1, fps)
    c2w, _ = path.poses_at(times)
    lines = ["# timestamp tx ty tz qx qy qz qw (camera-to-world, OpenCV camera axes)"]
    for t, m in zip(times, c2w):
        cv = m @ CV_TO_GL
        q = Rotation.from_matrix(cv[:3, :3]).as_quat()
        lines.append(" ".join(f"{x:.9f}" for x in (t - times[0], *cv[:3, 3], *q)))
    return "\n".join(lines) + "\n"
