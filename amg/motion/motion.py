"""Motion: SMPL-X body parameters over time, world Y-up, metres, seconds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from amg.errors import AmgError

#: The 22 SMPL-X body joints (pelvis + the 21 of body_pose), in SMPL-X order.
SMPLX_JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)
#: Joint name -> its index in SMPLX_JOINT_NAMES (body_pose holds joint i at slot i - 1).
JOINT_INDEX = {name: i for i, name in enumerate(SMPLX_JOINT_NAMES)}
#: Parent of each of the 22 body joints (-1 for the pelvis).
SMPLX_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
NUM_BODY_JOINTS = 21
#: Bounds on what a motion may ask memory for: frames per second, and frames of one clip.
MAX_FPS = 1000.0
MAX_FRAMES = 200_000
MAX_VALUE = 1e5


@dataclass
class Motion:
    """SMPL-X body motion of one person.

    global_orient: (T, 3) axis-angle of the pelvis in the world (Y up).
    body_pose:     (T, 63) axis-angle of the 21 body joints, relative to their parents.
    transl:        (T, 3) pelvis translation in metres (SMPL-X `transl` convention).
    betas:         optional (B,) shape coefficients (used by the SMPL-X body only).
    fps:           frames per second of the samples.
    """

    global_orient: np.ndarray
    body_pose: np.ndarray
    transl: np.ndarray
    fps: float
    betas: np.ndarray | None = None
    gender: str = "neutral"
    name: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.global_orient = np.asarray(self.global_orient, dtype=np.float64)
        self.body_pose = np.asarray(self.body_pose, dtype=np.float64)
        self.transl = np.asarray(self.transl, dtype=np.float64)
        self.validate()

    def validate(self) -> None:
        where = f"motion {self.name!r}" if self.name else "motion"
        t = self.global_orient.shape[0] if self.global_orient.ndim == 2 else -1
        for key, arr, width in (("global_orient", self.global_orient, 3),
                                ("body_pose", self.body_pose, 63),
                                ("transl", self.transl, 3)):
            if arr.ndim != 2 or arr.shape[1] != width:
                raise AmgError(f"{where}: {key} must have shape (T, {width}), got {arr.shape}")
            if arr.shape[0] != t:
                raise AmgError(f"{where}: {key} has {arr.shape[0]} frames, global_orient has {t}")
            if not np.all(np.isfinite(arr)):
                raise AmgError(f"{where}: {key} contains NaN or infinite values")
            if arr.size and np.abs(arr).max() > MAX_VALUE:  # finite, but inf once in centimetres or squared
                raise AmgError(f"{where}: {key} holds values up to {np.abs(arr).max():.3g}, beyond any body's "
                               f"(at most {MAX_VALUE:g} metres or radians)")
        if t < 1:
            raise AmgError(f"{where}: has no frames")
        if not (np.isfinite(self.fps) and 0 < self.fps <= MAX_FPS):
            raise AmgError(f"{where}: fps must be a positive number up to {MAX_FPS:g}, got {self.fps}")
        if t > MAX_FRAMES:
            raise AmgError(f"{where}: {t} frames is more than the {MAX_FRAMES} a motion may hold")
        if self.betas is not None:
            self.betas = np.asarray(self.betas, dtype=np.float64)
            if self.betas.ndim != 1 or not np.all(np.isfinite(self.betas)):
                raise AmgError(f"{where}: betas must be a list of finite numbers, got shape {self.betas.shape}")

    @property
    def num_frames(self) -> int:
        return self.global_orient.shape[0]

    @property
    def duration(self) -> float:
        """Seconds from the first to the last sample."""
        return (self.num_frames - 1) / self.fps

    def local_rotations(self) -> np.ndarray:
        """(T, 22, 3) axis-angle of pelvis (global) and the 21 body joints (local)."""
        return np.concatenate([self.global_orient[:, None], self.body_pose.reshape(-1, 21, 3)], axis=1)

    def frame_range(self, start: int, stop: int) -> "Motion":
        """Frames start .. stop - 1 of this motion, at its frame rate."""
        return replace(self, global_orient=self.global_orient[start:stop], body_pose=self.body_pose[start:stop],
                       transl=self.transl[start:stop], meta=dict(self.meta))

    def sample(self, times: np.ndarray) -> "Motion":
        """Motion evaluated at `times` (seconds; clamped to the clip), rotations by slerp."""
        times = np.clip(np.asarray(times, dtype=np.float64), 0.0, self.duration)
        src = np.arange(self.num_frames) / self.fps
        if self.num_frames == 1:
            idx = np.zeros(len(times), dtype=int)
            return replace(self, global_orient=self.global_orient[idx], body_pose=self.body_pose[idx],
                           transl=self.transl[idx], meta=dict(self.meta))
        rots = self.local_rotations()  # (T, 22, 3)
        out = np.empty((len(times), 22, 3))
        for j in range(22):
            out[:, j] = Slerp(src, Rotation.from_rotvec(rots[:, j]))(times).as_rotvec()
        transl = np.stack([np.interp(times, src, self.transl[:, k]) for k in range(3)], axis=1)
        return replace(self, global_orient=out[:, 0], body_pose=out[:, 1:].reshape(-1, 63),
                       transl=transl, meta=dict(self.meta))

    def at_fps(self, fps: float, num_frames: int | None = None) -> "Motion":
        """Resampled to `fps`; `num_frames` frames from the start (the clip holds its last pose)."""
        if not (np.isfinite(fps) and 0 < fps <= MAX_FPS):
            raise AmgError(f"motion {self.name!r}: fps must be a positive number up to {MAX_FPS:g}, got {fps}")
        if num_frames is None:
            num_frames = int(np.floor(self.duration * fps + 1e-6)) + 1
        if not 1 <= num_frames <= MAX_FRAMES:
            raise AmgError(f"motion {self.name!r}: {num_frames} frames at {fps:g} fps is more than the "
                           f"{MAX_FRAMES} a motion may hold; ask for a lower frame rate")
        m = self.sample(np.arange(num_frames) / fps)
        m.fps = float(fps)
        return m

    @staticmethod
    def rest(num_frames: int = 1, fps: float = 8.0, name: str = "rest") -> "Motion":
        """T-pose standing at the origin, soles on the floor (average adult)."""
        z = np.zeros((num_frames, 3))
        transl = np.tile([0.0, 0.876, 0.0], (num_frames, 1))  # skeleton.PELVIS_HEIGHT
        return Motion(z, np.zeros((num_frames, 63)), transl, fps=fps, name=name)
