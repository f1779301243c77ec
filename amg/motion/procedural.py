"""Small motions generated from a few sinusoids: always available, no files needed.

They are the built-in fallbacks of the library (idle breathing, walking in place,
waving); real motion capture presets live in presets/motions/.
"""

from __future__ import annotations

import numpy as np

from amg.motion.motion import JOINT_INDEX, Motion
from amg.motion.skeleton import PELVIS_HEIGHT

_J = {n: i - 1 for n, i in JOINT_INDEX.items()}  # index into the 21 body_pose joints


def _pose(num_frames: int) -> np.ndarray:
    return np.zeros((num_frames, 21, 3))


def _arms_down(pose: np.ndarray, angle: float = 1.25) -> None:
    """Lower both arms from the T-pose to the sides (rotation about the forward axis)."""
    pose[:, _J["left_shoulder"], 2] -= angle
    pose[:, _J["right_shoulder"], 2] += angle


def idle(seconds: float = 4.0, fps: float = 30.0) -> Motion:
    """Standing, breathing, a slow weight shift."""
    t = np.arange(int(seconds * fps)) / fps
    pose = _pose(len(t))
    _arms_down(pose)
    sway = 0.03 * np.sin(2 * np.pi * t / 4.0)
    pose[:, _J["spine3"], 0] = 0.03 * np.sin(2 * np.pi * t / 3.0)  # breathing
    pose[:, _J["left_hip"], 2] = sway
    pose[:, _J["right_hip"], 2] = sway
    transl = np.stack([-0.5 * sway, np.full_like(t, PELVIS_HEIGHT), 0 * t], axis=1)
    return Motion(np.zeros((len(t), 3)), pose.reshape(-1, 63), transl, fps=fps, name="idle")


def walk(seconds: float = 4.0, fps: float = 30.0, speed: float = 1.2, cadence: float = 0.9) -> Motion:
    """Walking forward (+Z) at `speed` m/s, `cadence` strides (two steps) per second."""
    t = np.arange(int(seconds * fps)) / fps
    phase = 2 * np.pi * cadence * t
    pose = _pose(len(t))
    _arms_down(pose)
    swing = 0.45 * np.sin(phase)
    pose[:, _J["left_hip"], 0] = -swing
    pose[:, _J["right_hip"], 0] = swing
    # knees bend during each leg's swing phase
    pose[:, _J["left_knee"], 0] = 0.6 * np.clip(np.sin(phase + 1.2), 0, None) ** 2 + 0.05
    pose[:, _J["right_knee"], 0] = 0.6 * np.clip(np.sin(phase + 1.2 + np.pi), 0, None) ** 2 + 0.05
    pose[:, _J["left_shoulder"], 0] = 0.35 * np.sin(phase)
    pose[:, _J["right_shoulder"], 0] = -0.35 * np.sin(phase)
    pose[:, _J["left_elbow"], 1] = -0.3
    pose[:, _J["right_elbow"], 1] = 0.3
    bob = 0.02 * np.cos(2 * phase)
    transl = np.stack([0 * t, PELVIS_HEIGHT - 0.02 + bob, speed * t], axis=1)
    return Motion(np.zeros((len(t), 3)), pose.reshape(-1, 63), transl, fps=fps, name="walk")


def wave(seconds: float = 3.0, fps: float = 30.0) -> Motion:
    """Standing and waving with the right hand raised."""
    t = np.arange(int(seconds * fps)) / fps
    pose = _pose(len(t))
    _arms_down(pose)
    raise_ = np.clip(t / 0.6, 0, 1)
    ease = raise_ * raise_ * (3 - 2 * raise_)
    pose[:, _J["right_shoulder"], 2] = 1.25 - ease * (1.25 + 0.3)  # up past horizontal
    pose[:, _J["right_elbow"], 2] = -ease * (1.3 + 0.35 * np.sin(2 * np.pi * 1.5 * t))  # forearm up, swaying
    transl = np.tile([0.0, PELVIS_HEIGHT, 0.0], (len(t), 1))
    return Motion(np.zeros((len(t), 3)), pose.reshape(-1, 63), transl, fps=fps, name="wave")


BUILTIN = {"idle": idle, "walk": walk, "wave": wave}
