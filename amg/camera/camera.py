"""Pinhole camera: intrinsics and a camera-to-world pose.

Conventions: world Y up, right-handed; camera-to-world 4x4 matrices with OpenGL camera
axes (x right, y up, looking down -Z). Pixel coordinates: origin at the top-left
corner of the image, x right, y down, pixel centres at half-integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amg.errors import AmgError


def look_at(eye, target, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """(4, 4) camera-to-world matrix (OpenGL axes) at `eye` looking at `target`."""
    eye = np.asarray(eye, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    forward = target - eye
    if np.linalg.norm(forward) < 1e-9:
        raise AmgError("look_at: the camera position equals its target")
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.asarray(up, dtype=np.float64))
    if np.linalg.norm(right) < 1e-9:  # looking straight along `up`: pick any right
        right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    true_up = np.cross(right, forward)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, true_up, -forward, eye
    return c2w


def look_at_many(eyes: np.ndarray, targets: np.ndarray, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """(M, 3, 3) camera-to-world rotations (OpenGL axes) for eyes (M, 3) looking at targets (M, 3).

    Vectorised `look_at`; a camera looking straight along `up` gets any level right axis.
    """
    eyes, targets = np.asarray(eyes, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    forward = targets - eyes
    norm = np.linalg.norm(forward, axis=-1, keepdims=True)
    if np.any(norm < 1e-9):
        raise AmgError("look_at: a camera position equals its target")
    forward = forward / norm
    right = np.cross(forward, np.asarray(up, dtype=np.float64))
    degenerate = np.linalg.norm(right, axis=-1) < 1e-9
    right[degenerate] = np.cross(forward[degenerate], [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    true_up = np.cross(right, forward)
    return np.stack([right, true_up, -forward], axis=-1)


def check_pose(c2w, where: str, tol: float = 1e-3) -> np.ndarray:
    """Validate a camera-to-world matrix from a file; returns it as a (4, 4) float64 array.

    c2w: (4, 4) or (3, 4) rigid transform (any camera axes). Raises AmgError naming `where`
    for a wrong shape, NaN/inf, a rotation that is not orthonormal (scale, shear, mirror)
    or a bottom row other than [0, 0, 0, 1].
    """
    try:
        m = np.asarray(c2w, dtype=np.float64)
    except (TypeError, ValueError):
        raise AmgError(f"{where}: the pose matrix must hold numbers") from None
    if m.shape == (3, 4):
        m = np.vstack([m, [0.0, 0.0, 0.0, 1.0]])
    if m.shape != (4, 4):
        raise AmgError(f"{where}: the pose must be a 4x4 (or 3x4) matrix, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise AmgError(f"{where}: the pose matrix contains NaN or infinite values")
    if np.abs(m[3] - [0.0, 0.0, 0.0, 1.0]).max() > tol:
        raise AmgError(f"{where}: the pose matrix's last row must be [0, 0, 0, 1], got {m[3].tolist()}")
    r = m[:3, :3]
    err = float(np.abs(r.T @ r - np.eye(3)).max())
    if err > tol:
        raise AmgError(f"{where}: the rotation is not orthonormal (|R^T R - I| = {err:.3g}); "
                       "scaled or sheared camera matrices are not camera poses")
    if np.linalg.det(r) < 0:
        raise AmgError(f"{where}: the rotation is a reflection (determinant < 0), not a camera pose")
    return m


def check_fov(fov_y_deg, where: str) -> float:
    """Validate a vertical field of view in degrees: a finite number strictly between 0 and 180."""
    try:
        fov = float(fov_y_deg)
    except (TypeError, ValueError):
        raise AmgError(f"{where}: the field of view must be a number of degrees, got {fov_y_deg!r}") from None
    if not np.isfinite(fov) or not (0.0 < fov < 180.0):
        raise AmgError(f"{where}: the field of view must be between 0 and 180 degrees (exclusive), got {fov}")
    return fov


def focal_from_fov(fov_y_deg: float, height: int) -> float:
    """Focal length in pixels for a vertical field of view in degrees."""
    return 0.5 * height / np.tan(np.radians(fov_y_deg) / 2)


def fov_from_focal(focal_px: float, height: int) -> float:
    """Vertical field of view in degrees for a focal length in pixels."""
    return float(np.degrees(2 * np.arctan(0.5 * height / focal_px)))


def projection_matrix(fov_y_deg: float, aspect: float, near: float = 0.05, far: float = 100.0) -> np.ndarray:
    """(4, 4) OpenGL perspective projection (clip space, NDC z in [-1, 1])."""
    f = 1.0 / np.tan(np.radians(fov_y_deg) / 2)
    p = np.zeros((4, 4))
    p[0, 0], p[1, 1] = f / aspect, f
    p[2, 2], p[2, 3] = (far + near) / (near - far), 2 * far * near / (near - far)
    p[3, 2] = -1.0
    return p


@dataclass
class Camera:
    """One view. c2w: (4, 4) camera-to-world, OpenGL axes; fov_y_deg: vertical FOV."""

    c2w: np.ndarray
    fov_y_deg: float = 40.0
    width: int = 256
    height: int = 256

    def __post_init__(self):
        self.c2w = np.asarray(self.c2w, dtype=np.float64)
        if self.c2w.shape != (4, 4) or not np.all(np.isfinite(self.c2w)):
            raise AmgError(f"camera pose must be a finite 4x4 matrix, got shape {self.c2w.shape}")
        if not (0.0 < self.fov_y_deg < 180.0):
            raise AmgError(f"camera field of view must be between 0 and 180 degrees, got {self.fov_y_deg}")

    @property
    def focal(self) -> float:
        return focal_from_fov(self.fov_y_deg, self.height)

    @property
    def position(self) -> np.ndarray:
        return self.c2w[:3, 3].copy()

    def world_to_camera(self) -> np.ndarray:
        return np.linalg.inv(self.c2w)

    def intrinsics(self) -> np.ndarray:
        """(3, 3) K for pixel coordinates with y down (OpenCV style)."""
        f = self.focal
        return np.array([[f, 0, self.width / 2], [0, f, self.height / 2], [0, 0, 1.0]])

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (N, 3) -> pixels (N, 2) (x right, y down) and depth (N,) along the view."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        cam = (self.world_to_camera() @ np.c_[pts, np.ones(len(pts))].T).T[:, :3]
        depth = -cam[:, 2]
        f = self.focal
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.width / 2 + f * cam[:, 0] / depth
            v = self.height / 2 - f * cam[:, 1] / depth
        return np.stack([u, v], axis=1), depth
