"""Keyframed motion authoring: poses at key times -> a smooth, grounded Motion.

A clip is a list of keys (time, channel updates); each key keeps the previous key's
values for channels it does not name, so a key says only what changes. Channels are
interpolated with monotone cubic curves (PCHIP: they ease in and out at turning points
and never overshoot a key), then the pose of every frame is built:

- pelvis: position `x, y, z` (metres) and `yaw, pitch, roll` (degrees);
- spine, neck, head, collars, toes and (unless a hand is placed, see below) arms:
  local rotations `<joint>.rx/.ry/.rz` (degrees, intrinsic XYZ);
- feet, by inverse kinematics: `lf.*` / `rf.*` = ankle target `x, y` (height above the
  standing ankle height), `z`, foot `yaw`, `pitch` (heel-to-toe); the leg is solved
  analytically (knee towards the front of the foot), so a planted foot does not slide
  while the body shifts its weight over it;
- hands, optionally, by inverse kinematics: `lh.*` / `rh.*` = wrist target `x, y, z`
  and elbow direction `px, py, pz`, for contact (clapping, handshakes, hugs).

All positions are in the clip's own world frame (Y up, facing +Z, left +X).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicHermiteSpline, PchipInterpolator
from scipy.spatial.transform import Rotation

from amg.motion.motion import JOINT_INDEX as J, Motion
from amg.motion.skeleton import PARENTS, PELVIS_HEIGHT, REST_JOINTS

#: Height of the ankle joint above the floor when standing (soles on y = 0).
ANKLE_HEIGHT = PELVIS_HEIGHT + REST_JOINTS[J["left_ankle"], 1]
#: Standing: ankles under the hips, feet turned out a little.
STAND = {
    "x": 0.0, "y": PELVIS_HEIGHT - 0.01, "z": 0.0, "yaw": 0.0, "pitch": 0.0, "roll": 0.0,
    "lf.x": 0.11, "lf.y": 0.0, "lf.z": 0.0, "lf.yaw": 8.0, "lf.pitch": 0.0,
    "rf.x": -0.11, "rf.y": 0.0, "rf.z": 0.0, "rf.yaw": -8.0, "rf.pitch": 0.0,
    # arms relaxed at the sides, elbows a little bent
    "left_shoulder.rz": -72.0, "right_shoulder.rz": 72.0,
    "left_elbow.ry": -12.0, "right_elbow.ry": 12.0,
    "left_shoulder.ry": 0.0, "right_shoulder.ry": 0.0,
}
_FK_JOINTS = ("spine1", "spine2", "spine3", "neck", "head", "left_collar", "right_collar",
              "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
              "left_foot", "right_foot")


@dataclass
class Clip:
    """Keys: (time in seconds, channel -> value). Durations end at the last key."""

    name: str
    keys: list[tuple[float, dict]]
    fps: float = 30.0
    base: dict = field(default_factory=lambda: dict(STAND))

    def channels(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(K,) key times and channel -> (K,) values, each key filled from the previous."""
        times, rows = [], []
        current = dict(self.base)
        for t, update in sorted(self.keys, key=lambda k: k[0]):
            current = {**current, **update}
            times.append(float(t))
            rows.append(current)
        names = sorted({k for r in rows for k in r})
        values = {}
        for n in names:  # a channel first named by a later key holds that value before it
            first = next(r[n] for r in rows if n in r)
            values[n] = np.array([r.get(n, first) for r in rows], dtype=np.float64)
        return np.array(times), values


#: Where the foot pivots, relative to the ankle (height below, distance ahead): the toe
#: joint (heel up: the toes stay flat) and the heel (toes up); skeleton/edit.SOLE_POINTS.
_TOE_PIVOT = (ANKLE_HEIGHT - 0.0234, 0.1358)
_HEEL_PIVOT = (0.0694, -0.0209)


def _pivot_height(pitch_deg: np.ndarray) -> np.ndarray:
    """Ankle height of a foot pitched about its toes (heel up, pitch > 0) or its heel
    (toes up, pitch < 0) while that point stays on the floor."""
    th = np.radians(pitch_deg)
    toe = 0.0234 + _TOE_PIVOT[0] * np.cos(th) + _TOE_PIVOT[1] * np.sin(th)
    heel = _HEEL_PIVOT[0] * np.cos(th) - _HEEL_PIVOT[1] * np.sin(th)
    return np.where(th > 0, toe, np.maximum(heel, ANKLE_HEIGHT * np.cos(th)))


def _curves(clip: Clip) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    times, values = clip.channels()
    frames = np.arange(int(round(times[-1] * clip.fps)) + 1) / clip.fps
    out = {}
    for name, v in values.items():
        if len(times) < 2:
            out[name] = np.full(len(frames), v[0])
            continue
        # monotone slopes at inner keys, zero at the first and last: the clip eases in and out
        slopes = PchipInterpolator(times, v).derivative()(times)
        slopes[[0, -1]] = 0.0
        out[name] = CubicHermiteSpline(times, v, slopes)(frames)
    return frames, out


def _euler(c: dict, prefix: str, n: int) -> Rotation:
    xyz = np.stack([c.get(f"{prefix}.r{a}", np.zeros(n)) for a in "xyz"], 1)
    return Rotation.from_euler("XYZ", xyz, degrees=True)


def _frame(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) orthonormal frames with first axis along a and second towards b."""
    e1 = a / np.linalg.norm(a, axis=-1, keepdims=True)
    e2 = b - np.sum(b * e1, -1, keepdims=True) * e1
    e2 /= np.linalg.norm(e2, axis=-1, keepdims=True).clip(1e-9)
    return np.stack([e1, e2, np.cross(e1, e2)], -1)


def two_bone(root: np.ndarray, target: np.ndarray, pole: np.ndarray, upper: float, lower: float):
    """Middle-joint and end positions of a two-bone limb reaching for `target`.

    root, target, pole: (T, 3) world; the middle joint bends towards `pole` (a direction).
    Unreachable targets are approached as far as the limb stretches.
    """
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True).clip(1e-6)
    reach = np.clip(dist, abs(upper - lower) + 1e-4, upper + lower - 1e-4)
    along = d / dist
    cos_a = (upper ** 2 + reach ** 2 - lower ** 2) / (2 * upper * reach)
    sin_a = np.sqrt(np.clip(1 - cos_a ** 2, 0, 1))
    side = pole - np.sum(pole * along, -1, keepdims=True) * along
    side /= np.linalg.norm(side, axis=-1, keepdims=True).clip(1e-9)
    middle = root + upper * (cos_a * along + sin_a * side)
    end = root + reach * along
    return middle, end


def _limb_world(root, middle, end, pole, rest_upper, rest_lower, rest_pole):
    """World rotations (T,3,3) of the upper and lower bone taking the rest bones onto
    root -> middle -> end, the bend plane turned from `rest_pole` onto `pole`."""
    g_upper = _frame(middle - root, pole) @ _frame(rest_upper[None], rest_pole[None]).transpose(0, 2, 1)
    cur = np.einsum("tij,j->ti", g_upper, rest_lower)
    want = end - middle
    axis = np.cross(cur, want)
    s = np.linalg.norm(axis, axis=-1, keepdims=True)
    angle = np.arctan2(s, np.sum(cur * want, -1, keepdims=True))
    g_lower = Rotation.from_rotvec(axis / s.clip(1e-12) * angle).as_matrix() @ g_upper
    return g_upper, g_lower


def build(clip: Clip) -> Motion:
    """The Motion of a keyframed clip (not yet grounded: see amg.motion.edit.ground)."""
    frames, c = _curves(clip)
    n = len(frames)
    local = np.tile(np.eye(3), (n, 22, 1, 1))
    world = np.tile(np.eye(3), (n, 22, 1, 1))
    pos = np.zeros((n, 22, 3))
    root = Rotation.from_euler("YXZ", np.stack([c["yaw"], c["pitch"], c["roll"]], 1), degrees=True)
    local[:, 0] = root.as_matrix()
    for name in _FK_JOINTS:
        local[:, J[name]] = _euler(c, name, n).as_matrix()
    pelvis = np.stack([c["x"], c["y"], c["z"]], 1)

    def forward(j):
        p = PARENTS[j]
        if p < 0:
            world[:, j], pos[:, j] = local[:, j], pelvis
        else:
            world[:, j] = world[:, p] @ local[:, j]
            pos[:, j] = pos[:, p] + np.einsum("tij,j->ti", world[:, p], REST_JOINTS[j] - REST_JOINTS[p])

    for j in range(22):
        forward(j)

    def set_world(j, g):
        local[:, j] = np.swapaxes(world[:, PARENTS[j]], -1, -2) @ g
        forward(j)

    # Legs: ankle targets and foot orientation -> hip, knee, ankle rotations.
    for side, s in (("left", "lf"), ("right", "rf")):
        hip, knee, ankle = J[f"{side}_hip"], J[f"{side}_knee"], J[f"{side}_ankle"]
        target = np.stack([c[f"{s}.x"], c[f"{s}.y"] + _pivot_height(c[f"{s}.pitch"]), c[f"{s}.z"]], 1)
        foot_rot = Rotation.from_euler("YX", np.stack([c[f"{s}.yaw"], c[f"{s}.pitch"]], 1), degrees=True)
        pole = foot_rot.apply([0.0, 0.0, 1.0])
        up_l = REST_JOINTS[knee] - REST_JOINTS[hip]
        lo_l = REST_JOINTS[ankle] - REST_JOINTS[knee]
        mid, end = two_bone(pos[:, hip], target, pole, np.linalg.norm(up_l), np.linalg.norm(lo_l))
        g_up, g_lo = _limb_world(pos[:, hip], mid, end, pole, up_l, lo_l, np.array([0.0, 0.0, 1.0]))
        set_world(hip, g_up)
        forward(knee)
        set_world(knee, g_lo)
        forward(ankle)
        set_world(ankle, foot_rot.as_matrix())
        # heel up: the toes bend at the ball and stay flat on the floor
        toe = J[f"{side}_foot"]
        flat = Rotation.from_euler("x", -np.clip(c[f"{s}.pitch"], 0, None)[:, None], degrees=True).as_matrix()
        local[:, toe] = flat @ local[:, toe]
        forward(toe)

    # Hands placed by inverse kinematics where the clip says so.
    for side, s, sign in (("left", "lh", 1.0), ("right", "rh", -1.0)):
        if f"{s}.x" not in c:
            continue
        sh, el, wr = J[f"{side}_shoulder"], J[f"{side}_elbow"], J[f"{side}_wrist"]
        target = np.stack([c[f"{s}.x"], c[f"{s}.y"], c[f"{s}.z"]], 1)
        pole = np.stack([c.get(f"{s}.px", np.full(n, sign * 0.3)), c.get(f"{s}.py", np.full(n, -1.0)),
                         c.get(f"{s}.pz", np.full(n, -0.3))], 1)
        up_l = REST_JOINTS[el] - REST_JOINTS[sh]
        lo_l = REST_JOINTS[wr] - REST_JOINTS[el]
        mid, end = two_bone(pos[:, sh], target, pole, np.linalg.norm(up_l), np.linalg.norm(lo_l))
        g_up, g_lo = _limb_world(pos[:, sh], mid, end, pole, up_l, lo_l, np.array([0.0, 0.0, -1.0]))
        set_world(sh, g_up)
        forward(el)
        set_world(el, g_lo)
        local[:, wr] = _euler(c, f"{side}_wrist", n).as_matrix()
        forward(wr)
    rot = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_rotvec().reshape(n, 22, 3)
    return Motion(rot[:, 0], rot[:, 1:].reshape(-1, 63), pelvis, fps=clip.fps, name=clip.name,
                  meta={"source_format": "keyframed"})
