"""SMPL-family conventions the parameter importers share: up axes, pelvis rest positions, rotations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from amg.errors import AmgError
from amg.motion.motion import Motion

#: AMASS (Z up) -> our world (Y up): (x, y, z) -> (x, z, -y).
Z_UP_TO_Y_UP = Rotation.from_euler("x", -90, degrees=True)
#: Rest position of the pelvis joint in the SMPL(-H) / SMPL-X model frame (neutral shape):
#: SMPL's `trans` moves the model, the pelvis sits at trans + this.
SMPL_PELVIS_REST = np.array([-0.0022, -0.2408, 0.0286])
SMPLX_PELVIS_REST = np.array([0.0031, -0.3514, 0.0120])


def to_rotvec(arr: np.ndarray, joints: int, key: str, path: Path) -> np.ndarray:
    """(..., joints*3), (..., joints, 3) axis-angle or (..., joints, 3, 3) matrices -> (..., joints, 3).

    For joints == 1 a (..., 3, 3) array of proper rotations is read as matrices.
    """
    def as_matrices(mats_shape_lead):
        mats = arr.reshape(-1, 3, 3)
        if np.any(np.abs(np.linalg.det(mats) - 1) > 1e-2):
            raise AmgError(f"{path}: {key!r} looks like rotation matrices but they are not rotations")
        return Rotation.from_matrix(mats).as_rotvec().reshape(*mats_shape_lead, joints, 3)

    if arr.ndim >= 3 and arr.shape[-3:] == (joints, 3, 3):
        return as_matrices(arr.shape[:-3])
    if joints == 1 and arr.ndim >= 2 and arr.shape[-2:] == (3, 3):
        mats = arr.reshape(-1, 3, 3)
        if np.allclose(mats @ mats.transpose(0, 2, 1), np.eye(3), atol=1e-3):
            return as_matrices(arr.shape[:-2])
    if arr.ndim >= 2 and arr.shape[-2:] == (joints, 3):
        return arr
    if arr.shape[-1] == joints * 3:
        return arr.reshape(*arr.shape[:-1], joints, 3)
    raise AmgError(f"{path}: {key!r} has shape {arr.shape}; expected (T, {joints * 3}), "
                   f"(T, {joints}, 3) axis-angle or (T, {joints}, 3, 3) rotation matrices")


def up_fix(global_orient: np.ndarray) -> Rotation:
    """Rotation bringing the body's up axis (median over frames) onto +Y.

    Video mocap writes camera coordinates (Y down), AMASS-like tools Z up; the body's own
    up axis (+Y in the SMPL model frame) says which.
    """
    up = Rotation.from_rotvec(global_orient.reshape(-1, 3)).apply([0.0, 1.0, 0.0])
    up = np.median(up, axis=0)
    axis = int(np.argmax(np.abs(up)))
    sign = np.sign(up[axis])
    if axis == 1:
        return Rotation.identity() if sign > 0 else Rotation.from_euler("x", 180, degrees=True)
    if axis == 2:
        return Rotation.from_euler("x", -90 * sign, degrees=True)
    return Rotation.from_euler("z", 90 * sign, degrees=True)


def world_motion(orient: np.ndarray, body: np.ndarray, pelvis: np.ndarray, fix: Rotation, fps: float,
                 name: str, betas=None, gender="neutral", meta=None) -> Motion:
    """A Motion from model-frame parameters turned into our world by `fix`."""
    orient = (fix * Rotation.from_rotvec(orient)).as_rotvec()
    return Motion(orient, body.reshape(-1, 63), fix.apply(pelvis), fps=fps, betas=betas, gender=gender,
                  name=name, meta=dict(meta or {}))
