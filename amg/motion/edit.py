"""Editing a Motion: trim, speed, loop, mirror, resample, place on the floor, ground.

Every function returns a new Motion and leaves its input untouched. Rotations are always
interpolated on the sphere (slerp, via `Motion.sample`), never per axis-angle component.
World frame: Y up, metres; the character faces +Z at zero global_orient, its left is +X.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.spatial.transform import Rotation

from amg.errors import AmgError
from amg.motion.motion import SMPLX_JOINT_NAMES, Motion
from amg.motion.skeleton import forward_kinematics

#: For each of the 22 joints, the joint it swaps with in a mirror (itself on the midline).
MIRROR_INDEX = np.array([
    SMPLX_JOINT_NAMES.index(n.replace("left_", "@").replace("right_", "left_").replace("@", "right_"))
    for n in SMPLX_JOINT_NAMES
])

#: Height of the body's surface below each joint when it is the lowest point (metres):
#: the soles under ankle and toe joints; flesh under the pelvis (sitting) and elsewhere.
_CLEARANCE = np.full(22, 0.04)
_CLEARANCE[[SMPLX_JOINT_NAMES.index(n) for n in ("left_ankle", "right_ankle")]] = 0.0705
_CLEARANCE[[SMPLX_JOINT_NAMES.index(n) for n in ("left_foot", "right_foot")]] = 0.0234
_CLEARANCE[0] = 0.09

#: A looped clip whose pelvis travels further than this per cycle is locomotion: the
#: loop carries on from where the last cycle ended instead of jumping back.
LOCOMOTION_DISTANCE = 0.25


def trim(motion: Motion, start: float = 0.0, end: float | None = None) -> Motion:
    """The part of `motion` between `start` and `end` seconds (end None = to the end)."""
    end = motion.duration if end is None else min(float(end), motion.duration)
    start = float(start)
    if start < 0 or start > motion.duration:
        raise AmgError(f"motion {motion.name!r}: trim start {start:.3f} s is outside the clip "
                       f"(0 to {motion.duration:.3f} s)")
    if end <= start and motion.num_frames > 1:
        raise AmgError(f"motion {motion.name!r}: trim end {end:.3f} s must come after start {start:.3f} s")
    times = start + np.arange(int(np.floor((end - start) * motion.fps + 1e-6)) + 1) / motion.fps
    out = motion.sample(times)
    out.meta = {**motion.meta, "trim": (start, end)}
    return out


def speed(motion: Motion, factor: float) -> Motion:
    """Played `factor` times faster (same samples, higher frame rate)."""
    if not (np.isfinite(factor) and factor > 0):
        raise AmgError(f"motion {motion.name!r}: speed must be a positive number, got {factor}")
    return replace(motion, fps=motion.fps * float(factor), meta=dict(motion.meta))


def resample(motion: Motion, fps: float) -> Motion:
    """The same clip sampled at `fps` (slerp for rotations, linear for translation)."""
    if not (np.isfinite(fps) and fps > 0):
        raise AmgError(f"motion {motion.name!r}: fps must be a positive number, got {fps}")
    return motion.at_fps(float(fps))


def mirror(motion: Motion) -> Motion:
    """Left and right exchanged: reflect across the character's YZ plane (x -> -x).

    A reflection of rotation (x, y, z) axis-angle is (x, -y, -z); each left joint takes the
    reflected rotation of its right partner and vice versa.
    """
    flip = np.array([1.0, -1.0, -1.0])
    rots = motion.local_rotations()[:, MIRROR_INDEX] * flip  # (T, 22, 3)
    transl = motion.transl * np.array([-1.0, 1.0, 1.0])
    return replace(motion, global_orient=rots[:, 0], body_pose=rots[:, 1:].reshape(-1, 63),
                   transl=transl, meta={**motion.meta, "mirrored": not motion.meta.get("mirrored", False)})


def place(motion: Motion, x: float = 0.0, z: float = 0.0, heading: float = 0.0) -> Motion:
    """Turned by `heading` degrees about the world Y axis through the origin (counter-clockwise
    seen from above, i.e. +Z towards +X), then moved by (x, z) on the floor."""
    turn = Rotation.from_euler("y", heading, degrees=True)
    orient = (turn * Rotation.from_rotvec(motion.global_orient)).as_rotvec()
    transl = turn.apply(motion.transl) + np.array([x, 0.0, z])
    return replace(motion, global_orient=orient, transl=transl, meta=dict(motion.meta))


def joints(motion: Motion) -> np.ndarray:
    """(T, 22, 3) world joints on the canonical skeleton (see amg.motion.skeleton)."""
    return forward_kinematics(motion.local_rotations(), motion.transl)


def ground_offset(motion: Motion) -> float:
    """Vertical shift that puts the lowest body surface of the whole clip on the floor.

    One offset for the clip, not one per frame: a per-frame shift would make feet slide
    and jumps stay on the ground.
    """
    low = joints(motion)[..., 1] - _CLEARANCE  # (T, 22)
    return -float(low.min())


def ground(motion: Motion) -> Motion:
    """`motion` shifted vertically so its lowest foot (or body part) touches y = 0."""
    dy = ground_offset(motion)
    return replace(motion, transl=motion.transl + np.array([0.0, dy, 0.0]), meta=dict(motion.meta))


def facing_yaw(motion: Motion, frame: int = 0) -> float:
    """Heading (degrees, as in `place`) the character faces at `frame`: 0 = facing +Z."""
    forward = Rotation.from_rotvec(motion.global_orient[frame]).apply([0.0, 0.0, 1.0])
    return float(np.degrees(np.arctan2(forward[0], forward[2])))


def to_origin(motion: Motion, frame: int = 0, face_forward: bool = True) -> Motion:
    """Moved so the pelvis is above the origin at `frame` and (optionally) faces +Z there."""
    heading = -facing_yaw(motion, frame) if face_forward else 0.0
    turned = place(motion, heading=heading)
    p = turned.transl[frame]
    return place(turned, x=-p[0], z=-p[2])


def retime(motion: Motion, fps: float, num_frames: int, loop: bool = False) -> Motion:
    """`num_frames` frames at `fps` from the start of `motion`.

    Past the end the clip holds its last pose, or with `loop` starts again; a looped walk
    (pelvis travelling more than LOCOMOTION_DISTANCE per cycle) carries on from where each
    cycle ended rather than jumping back to its start.
    """
    if num_frames < 1:
        raise AmgError(f"motion {motion.name!r}: need at least one frame, got {num_frames}")
    times = np.arange(num_frames) / float(fps)
    period = motion.duration
    if not loop or period <= 0 or times[-1] <= period:
        out = motion.sample(times)
        out.fps = float(fps)
        return out
    cycle = np.floor(times / period + 1e-9)
    out = motion.sample(times - cycle * period)
    travel = motion.transl[-1] - motion.transl[0]
    travel[1] = 0.0
    if np.linalg.norm(travel) > LOCOMOTION_DISTANCE:
        out.transl = out.transl + cycle[:, None] * travel
    out.fps = float(fps)
    return out


def concatenate(motions: list[Motion]) -> Motion:
    """Motions of equal fps played one after another (used to build presets)."""
    if not motions:
        raise AmgError("nothing to concatenate")
    fps = motions[0].fps
    if any(abs(m.fps - fps) > 1e-9 for m in motions):
        raise AmgError("motions to concatenate must share one frame rate")
    cat = lambda key: np.concatenate([getattr(m, key) for m in motions])  # noqa: E731
    return replace(motions[0], global_orient=cat("global_orient"), body_pose=cat("body_pose"),
                   transl=cat("transl"), meta=dict(motions[0].meta))
