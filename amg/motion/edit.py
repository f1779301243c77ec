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
from amg.motion.skeleton import PARENTS, forward_kinematics

#: For each of the 22 joints, the joint it swaps with in a mirror (itself on the midline).
MIRROR_INDEX = np.array([
    SMPLX_JOINT_NAMES.index(n.replace("left_", "@").replace("right_", "left_").replace("@", "right_"))
    for n in SMPLX_JOINT_NAMES
])

#: Height of the body's surface below each joint when it is the lowest point (metres):
#: flesh under the pelvis (sitting) and elsewhere. Feet are handled by SOLE_POINTS.
_CLEARANCE = np.full(22, 0.04)
_CLEARANCE[0] = 0.09
_FEET = [SMPLX_JOINT_NAMES.index(n) for n in ("left_ankle", "left_foot", "right_ankle", "right_foot")]
#: Points of the left sole, (joint, offset in that joint's rest frame), measured on the
#: embedded avatar's rest mesh (lowest vertices of the heel, the ball and the toe tip):
#: they are on the floor in the rest pose. The right sole mirrors them (x -> -x).
SOLE_POINTS = (
    ("ankle", (0.003, -0.0583, -0.0512)),   # back of the heel (lowest when the toes are up)
    ("ankle", (0.012, -0.0694, -0.0209)),   # heel
    ("ankle", (0.0246, -0.0682, 0.0779)),   # outer edge, mid-foot
    ("foot", (-0.0233, -0.0232, -0.024)),   # ball, inner
    ("foot", (0.0188, -0.0225, -0.0363)),   # ball, outer
    ("foot", (-0.0358, -0.0226, 0.0413)),   # toe tip
    ("foot", (0.034, -0.0144, 0.012)),      # little toe (lowest when the foot rolls outwards)
    ("foot", (0.020, -0.0154, 0.028)),      # middle toes
    ("foot", (-0.013, -0.0180, 0.049)),     # big toe, front
)

#: A looped clip whose pelvis travels further than this per cycle is locomotion: the
#: loop carries on from where the last cycle ended instead of jumping back.
LOCOMOTION_DISTANCE = 0.25
#: Seconds over which a looped clip's jump from its last pose back to its first is faded out.
LOOP_BLEND = 0.5


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
    return motion.at_fps(float(fps))  # refuses a rate that is not a number, or too many frames


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


def scale_root(motion: Motion, factor: float) -> Motion:
    """The root path for a body `factor` times the canonical size: heights scaled about the
    floor, the path on the floor about the first frame. A smaller body then stands on the
    floor and takes shorter strides from the same start instead of sliding its feet."""
    start = motion.transl[:1] * np.array([1.0, 0.0, 1.0])
    transl = start + factor * (motion.transl - start)
    return replace(motion, transl=transl, meta=dict(motion.meta))


def joints(motion: Motion) -> np.ndarray:
    """(T, 22, 3) world joints on the canonical skeleton (see amg.motion.skeleton)."""
    return forward_kinematics(motion.local_rotations(), motion.transl)


def _world_rotations(motion: Motion) -> np.ndarray:
    """(T, 22, 3, 3) world rotation of every joint."""
    t = motion.num_frames
    local = Rotation.from_rotvec(motion.local_rotations().reshape(-1, 3)).as_matrix().reshape(t, 22, 3, 3)
    world = np.empty_like(local)
    for j, p in enumerate(PARENTS):
        world[:, j] = local[:, j] if p < 0 else world[:, p] @ local[:, j]
    return world


def gaze_elevation(motion: Motion, joint: str = "head") -> np.ndarray:
    """(T,) degrees above level of where `joint` faces (its rest +Z, forward), per frame: the
    head's gaze, or the chest's ("spine3") facing."""
    forward = _world_rotations(motion)[:, SMPLX_JOINT_NAMES.index(joint)] @ np.array([0.0, 0.0, 1.0])
    return np.degrees(np.arcsin(np.clip(forward[:, 1], -1.0, 1.0)))


def level_gaze(motion: Motion, degrees: float = -3.0) -> Motion:
    """The head turned by one constant pitch (at the head joint, about its own left-right axis)
    so that its gaze over the clip is `degrees` above level on average: for captures whose
    rig holds its head at rest at another angle than ours (the cgspeed conversions of CMU
    look 12-28 degrees up). The head's movement within the clip is kept as it was."""
    head = SMPLX_JOINT_NAMES.index("head") - 1  # its slot in body_pose
    body = motion.body_pose.reshape(-1, 21, 3).copy()
    out = motion
    for _ in range(4):  # the pitch adds almost one to one; a few rounds absorb roll and yaw
        error = float(np.mean(gaze_elevation(out))) - degrees
        if abs(error) < 0.05:
            break
        turn = Rotation.from_euler("x", error, degrees=True)  # +x pitch turns +Z down
        body[:, head] = (Rotation.from_rotvec(body[:, head]) * turn).as_rotvec()
        out = replace(out, body_pose=body.reshape(-1, 63).copy(), meta=dict(out.meta))
    return out


def sole_points(motion: Motion) -> np.ndarray:
    """(T, 2, K, 3) world positions of the sole points (heel, ball, toe) of the left and right foot."""
    pos, rot = joints(motion), _world_rotations(motion)
    out = []
    for side, mirror in (("left", 1.0), ("right", -1.0)):
        pts = []
        for joint, offset in SOLE_POINTS:
            j = SMPLX_JOINT_NAMES.index(f"{side}_{joint}")
            off = np.array(offset) * np.array([mirror, 1.0, 1.0])
            pts.append(pos[:, j] + rot[:, j] @ off)
        out.append(np.stack(pts, 1))
    return np.stack(out, 1)


def sole_heights(motion: Motion) -> np.ndarray:
    """(T, 2) height of the lowest sole point of the left and right foot."""
    return sole_points(motion)[..., 1].min(-1)


def ground_offset(motion: Motion) -> float:
    """Vertical shift that puts the lowest body surface of the whole clip on the floor.

    One offset for the clip, not one per frame: a per-frame shift would make feet slide
    and jumps stay on the ground. Feet count by their soles (heel, ball, toe tip); other
    joints with the flesh around them (sitting on the floor, a hand down).
    """
    low = joints(motion)[..., 1] - _CLEARANCE  # (T, 22)
    low[:, _FEET] = np.inf
    return -float(min(low.min(), sole_heights(motion).min()))


def ground(motion: Motion) -> Motion:
    """`motion` shifted vertically so its lowest foot (or body part) touches y = 0."""
    dy = ground_offset(motion)
    return replace(motion, transl=motion.transl + np.array([0.0, dy, 0.0]), meta=dict(motion.meta))


def level(motion: Motion, window: float = 1.0) -> Motion:
    """Remove a slow vertical drift of the floor (a tilted capture volume, drifting root
    height): the lowest foot of each `window`-second stretch should touch the same floor,
    so a straight line fitted through those minima is subtracted. Clips shorter than two
    windows are returned unchanged."""
    n = int(round(window * motion.fps))
    if n < 2 or motion.num_frames < 2 * n:
        return motion
    low = sole_heights(motion).min(1)
    starts = np.arange(0, motion.num_frames - n + 1, max(n // 2, 1))
    t = np.array([s + int(np.argmin(low[s:s + n])) for s in starts])
    slope, intercept = np.polyfit(t / motion.fps, low[t], 1)
    drift = slope * np.arange(motion.num_frames) / motion.fps
    return replace(motion, transl=motion.transl - np.outer(drift, [0.0, 1.0, 0.0]), meta=dict(motion.meta))


def stick_to_floor(motion: Motion, smooth: float = 0.1) -> Motion:
    """For walking, where a foot is always down: move the body vertically, frame by frame,
    so the lowest sole touches the floor (smoothed over `smooth` seconds). It fixes
    captures whose stance foot floats or sinks; it must not be used where both feet leave
    the ground (runs, jumps). Horizontal motion is untouched, so nothing slides."""
    low = sole_heights(motion).min(1)
    n = max(int(round(smooth * motion.fps)) | 1, 1)
    if n > 1 and motion.num_frames > n:
        pad = np.pad(low, n // 2, mode="edge")
        low = np.convolve(pad, np.ones(n) / n, mode="valid")
    return replace(motion, transl=motion.transl - np.outer(low, [0.0, 1.0, 0.0]), meta=dict(motion.meta))


def lock_feet(motion: Motion, height: float = 0.03, max_speed: float = 0.6) -> Motion:
    """Remove foot sliding: while a foot is planted (its sole lower than `height` metres
    and moving slower than `max_speed` m/s: a skimming swing foot is not planted),
    move the body horizontally by the opposite of that foot's drift, so the planted foot
    stays put (both planted: their mean drift). Captures retargeted onto another body
    slide a few centimetres per step because hips and legs differ; this is the usual
    root-correction clean-up. Vertical motion is untouched."""
    soles = sole_heights(motion)  # (T, 2)
    ankles = joints(motion)[:, [7, 8]][..., [0, 2]]  # (T, 2, 2) horizontal ankle positions
    drift = np.diff(ankles, axis=0)  # (T-1, 2, 2)
    slow = np.linalg.norm(drift, axis=-1) * motion.fps < max_speed
    planted = (soles[1:] < height) & (soles[:-1] < height) & slow  # (T-1, 2)
    weight = planted.astype(float)
    count = weight.sum(1, keepdims=True)
    step = np.where(count > 0, (drift * weight[..., None]).sum(1) / np.maximum(count, 1), 0.0)
    shift = np.concatenate([np.zeros((1, 2)), np.cumsum(step, axis=0)])  # (T, 2)
    transl = motion.transl.copy()
    transl[:, [0, 2]] -= shift
    return replace(motion, transl=transl, meta=dict(motion.meta))


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


def loop_cut(motion: Motion, min_duration: float) -> Motion:
    """The clip cut where its pose best repeats its first one (after at least
    `min_duration` s), so that looping it shows no jump: compares the joints relative to
    the pelvis, with the facing taken out."""
    j = joints(motion)
    rel = j - j[:, :1]
    yaw = np.radians([facing_yaw(motion, f) for f in range(motion.num_frames)])
    c, s = np.cos(-yaw), np.sin(-yaw)
    x = c[:, None] * rel[..., 0] + s[:, None] * rel[..., 2]
    z = -s[:, None] * rel[..., 0] + c[:, None] * rel[..., 2]
    canon = np.stack([x, rel[..., 1], z], -1)  # (T, 22, 3) facing +Z
    first = int(np.ceil(min_duration * motion.fps))
    if first >= motion.num_frames - 1:
        return motion
    cost = np.linalg.norm(canon[first:] - canon[0], axis=-1).mean(1)
    cost = cost + np.abs(motion.transl[first:, 1] - motion.transl[0, 1])
    end = first + int(np.argmin(cost))
    return trim(motion, 0.0, end / motion.fps)


def retime(motion: Motion, fps: float, num_frames: int, loop: bool = False, offset: float = 0.0) -> Motion:
    """`num_frames` frames at `fps` from the start of `motion`; the clip starts `offset` seconds into
    the shot (its first pose held until then; a negative offset starts the shot that far into it).

    Past the end the clip holds its last pose, or with `loop` starts again. Each new cycle
    starts from where the last one ended: the jump between the clip's last and first pose
    (per joint rotation, and translation) is faded out over LOOP_BLEND seconds, so a clip
    whose end does not match its start shows no pop, and one that does is left unchanged.
    A looped walk (pelvis travelling more than LOCOMOTION_DISTANCE per cycle) carries on
    from where each cycle ended rather than jumping back to its start.
    """
    if num_frames < 1:
        raise AmgError(f"motion {motion.name!r}: need at least one frame, got {num_frames}")
    times = np.maximum(np.arange(num_frames) / float(fps) - offset, 0.0)
    period = motion.duration
    if not loop or period <= 0 or times[-1] <= period:
        out = motion.sample(times)
        out.fps = float(fps)
        return out
    cycle = np.floor(times / period + 1e-9)
    phase = times - cycle * period
    out = motion.sample(phase)
    travel = motion.transl[-1] - motion.transl[0]
    travel[1] = 0.0
    if np.linalg.norm(travel) <= LOCOMOTION_DISTANCE:
        travel[:] = 0.0  # a clip in place stays in place
    rots = motion.local_rotations()
    seam = (Rotation.from_rotvec(rots[0]).inv() * Rotation.from_rotvec(rots[-1])).as_rotvec()  # (22, 3)
    u = np.clip(phase / min(LOOP_BLEND, period / 2), 0.0, 1.0)
    w = np.where(cycle > 0, 1.0 - u * u * (3 - 2 * u), 0.0)  # smoothstep from 1 at the seam to 0
    current = Rotation.from_rotvec(out.local_rotations().reshape(-1, 3))
    offset = Rotation.from_rotvec((w[:, None, None] * seam).reshape(-1, 3))
    faded = (current * offset).as_rotvec().reshape(-1, 22, 3)
    out.global_orient, out.body_pose = faded[:, 0], faded[:, 1:].reshape(-1, 63)
    gap = motion.transl[-1] - motion.transl[0] - travel
    out.transl = out.transl + cycle[:, None] * travel + w[:, None] * gap
    out.fps = float(fps)
    return out
