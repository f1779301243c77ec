"""The people a camera frames, and re-framing a path onto them.

World Y up, metres. Poses are camera-to-world with OpenGL camera axes (looking down -Z).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from amg.camera.path import CameraPath
from amg.errors import AmgError


def frame_subjects_distance(extent: float, fov_y_deg: float, margin: float = 1.25) -> float:
    """Distance at which a subject of vertical `extent` metres fills the view with a margin."""
    return margin * 0.5 * extent / np.tan(np.radians(fov_y_deg) / 2)


@dataclass
class Subjects:
    """Where the people are.

    centroid: (3,) centre of their bounding box over all frames.
    extent:   size in metres a shot must frame: their height from the floor, or their
              spread across the floor when wider (people far apart); at least 1 m.
    track:    (T, 3) bounding-box centre per rendered frame (for the follow preset).
    """

    centroid: np.ndarray
    extent: float
    track: np.ndarray
    #: Their height from the floor and spread across it (metres; 0: unknown, `extent` serves), and
    #: the shot's width / height: a tall frame must fit the spread in its narrower width.
    height: float = 0.0
    spread: float = 0.0
    aspect: float = 1.0

    def framing_extent(self) -> float:
        """The vertical size a preset frames so that the people fit the shot's width and height."""
        if self.height <= 0 and self.spread <= 0:
            return self.extent
        return max(self.height, self.spread / self.aspect, 1.0)

    @classmethod
    def from_joints(cls, joints: np.ndarray, aspect: float = 1.0) -> "Subjects":
        """joints: (P, T, J, 3) world joint positions of every person over the frames; aspect: the
        shot's width / height."""
        j = np.asarray(joints, dtype=np.float64)
        if j.ndim != 4 or j.shape[-1] != 3 or min(j.shape[:3]) < 1:
            raise AmgError(f"subject joints must have shape (people, frames, joints, 3), got {j.shape}")
        if not np.all(np.isfinite(j)):
            raise AmgError("subject joints contain NaN or infinite values")
        pts = j.reshape(-1, 3)
        lo, hi = pts.min(0), pts.max(0)
        height, spread = hi[1] - min(lo[1], 0.0), np.linalg.norm((hi - lo)[[0, 2]])
        extent = max(height, spread, 1.0)
        per_frame = j.transpose(1, 0, 2, 3).reshape(j.shape[1], -1, 3)
        track = 0.5 * (per_frame.min(1) + per_frame.max(1))
        return cls(0.5 * (lo + hi), float(extent), track, float(height), float(spread), float(aspect))

    @classmethod
    def standing_person(cls) -> "Subjects":
        """One adult standing at the origin: what a path is built around without a scene."""
        return cls(np.array([0.0, 0.9, 0.0]), 1.8, np.array([[0.0, 0.9, 0.0]]))


def path_target(path: CameraPath) -> tuple[np.ndarray, float]:
    """Point a path looks at (3,) and the mean camera distance to it, estimated from its poses.

    The target is the least-squares meeting point of the optical axes when they converge
    in front of the cameras; for near-parallel axes (a walk, a pan) a point ahead of the
    mean camera along the mean view direction.
    """
    if path.samples is not None:
        c2w = path.samples.c2w
    else:
        c2w = np.stack([k.c2w for k in path.keyframes])
    pos, fwd = c2w[:, :3, 3], -c2w[:, :3, 2]
    proj = np.eye(3)[None] - fwd[:, :, None] * fwd[:, None, :]  # (N, 3, 3) off-axis projectors
    a, b = proj.sum(0), np.einsum("nij,nj->i", proj, pos)
    spread = float(np.linalg.norm(pos - pos.mean(0), axis=1).max())
    target = None
    if np.linalg.eigvalsh(a / len(pos))[0] > 0.05:
        x = np.linalg.solve(a, b)
        if np.all(np.einsum("ni,ni->n", x - pos, fwd) > 0):
            target = x
    if target is None:
        ahead = fwd.mean(0)
        ahead /= max(np.linalg.norm(ahead), 1e-9)
        target = pos.mean(0) + ahead * max(2.0 * spread, 1.0)
    return target, float(np.linalg.norm(pos - target, axis=1).mean())


def fit_to_subjects(path: CameraPath, subjects: Subjects, azimuth: float | None | str = "auto",
                    level: bool | None = None) -> CameraPath:
    """Re-centre and re-scale a path so it frames `subjects`.

    Paths built by AMG carry an anchor (the subjects they were built around): the anchor
    is moved onto the subjects and scaled by the ratio of their sizes. Other paths (from
    nerfstudio, RealEstate10K, TUM...) are levelled so their mean camera up is world +Y,
    their estimated target goes to the subjects' centroid, and they are scaled so the
    mean camera distance frames the subjects. azimuth (degrees about Y, 0 = in front,
    +Z): where the first camera ends up; None keeps the path's own heading; "auto": keep
    it for AMG paths, 0 for others. level (None = for others only): make the cameras' up
    the world's +Y.
    """
    if level is None:
        level = path.anchor is None
    if azimuth == "auto":
        azimuth = None if path.anchor is not None else 0.0
    if path.anchor is not None:
        source_target, scale = path.anchor.target, subjects.extent / path.anchor.extent
    else:
        source_target, mean_dist = path_target(path)
        fov = np.mean([k.fov_y_deg for k in path.keyframes]) if path.keyframes else 40.0
        scale = frame_subjects_distance(subjects.extent, fov) / max(mean_dist, 1e-9)
    rot = Rotation.identity()
    if level:
        up = _world_up(path.samples.c2w if path.samples is not None else np.stack([k.c2w for k in path.keyframes]))
        rot = Rotation.align_vectors([[0.0, 1.0, 0.0]], [up])[0]
    if azimuth is not None:
        first = path.poses_at(np.array([path.start]), shake=False)[0][0, :3, 3]
        offset = rot.apply(first - source_target)
        if np.hypot(offset[0], offset[2]) > 1e-9:
            current = np.arctan2(offset[0], offset[2])
            rot = Rotation.from_rotvec([0.0, np.radians(azimuth) - current, 0.0]) * rot
    r = rot.as_matrix()
    return path.transformed(r, scale, subjects.centroid - scale * r @ source_target)


def _world_up(c2w: np.ndarray) -> np.ndarray:
    """The world's up (3,) as a path's cameras imply it, for cameras held without roll.

    Level cameras keep their x axis horizontal, so up is the direction perpendicular to
    all of them (their x axes' least principal direction); when they all point the same
    way (a dolly, a truck), the mean camera up made perpendicular to that x axis.
    """
    right, up = c2w[:, :3, 0], c2w[:, :3, 1].mean(0)
    w, v = np.linalg.eigh(right.T @ right / len(right))
    if w[1] > 1e-3:
        est = v[:, 0]
    else:
        est = up - (up @ v[:, 2]) * v[:, 2]
    if np.linalg.norm(est) < 1e-9:
        return np.array([0.0, 1.0, 0.0])
    est = est / np.linalg.norm(est)
    return est if est @ up >= 0 else -est
