"""MotionCtrl camera poses: a JSON list with one 3x4 world-to-camera matrix per frame.

Each entry is 12 numbers (row-major RT; 3x4 or 4x4 nested lists are accepted too),
OpenCV camera axes as in RealEstate10K, from which MotionCtrl learned. The file holds no
timing and no intrinsics: frames play at `fps` with vertical FOV `fov`.
"""

from __future__ import annotations

import json

import numpy as np

from amg.camera.camera import check_fov, check_pose
from amg.camera.formats._io import c2w_gl_to_w2c_cv, numbers, w2c_cv_to_c2w_gl
from amg.files import parse_json
from amg.camera.path import CameraPath, Keyframe
from amg.errors import AmgError

NAME = "motionctrl"


def load(text: str, source: str, fps: float = 8.0, fov: float = 40.0) -> CameraPath:
    data = parse_json(text, source)
    if isinstance(data, dict) and "camera_poses" in data:
        data = data["camera_poses"]
    if not isinstance(data, list) or not data:
        raise AmgError(f"{source}: a MotionCtrl camera file is a non-empty JSON list of 3x4 matrices")
    fov = check_fov(fov, f"{source}: fov")
    keys = []
    for i, entry in enumerate(data):
        where = f"{source}: [{i}]"
        if entry is None or (isinstance(entry, list) and not entry):
            raise AmgError(f"{where}: missing matrix")
        flat = numbers(entry, where)
        if flat.size not in (12, 16):
            raise AmgError(f"{where}: expected a 3x4 matrix (12 numbers), got {flat.size} numbers")
        rt = flat.reshape(-1, 4)[:3]
        check_pose(rt, where)
        keys.append(Keyframe(i / fps, w2c_cv_to_c2w_gl(rt), fov))
    return CameraPath(keys, source=source)


def dump(path: CameraPath, fps: float = 8.0, retime_frames: int | None = None) -> str:
    if retime_frames is not None:
        times = path.frame_times(retime_frames, fps, retime=True)
    else:
        times = path.frame_times(int(np.floor(path.duration * fps + 1e-6)) + 1, fps)
    c2w, _ = path.poses_at(times)
    return json.dumps([[float(x) for x in c2w_gl_to_w2c_cv(m)[:3].reshape(-1)] for m in c2w], indent=1) + "\n"
