"""SMPL-X body rotations -> Anny bone world orientations (rotation retargeting).

Every Anny bone follows one SMPL-X body joint: the bone takes that joint's world rotation
(rest -> posed), expressed in Anny's frame, applied on top of Anny's T-pose. Anny's rest
is an A-pose with bent elbows and splayed legs; the T-pose correction straightens each
limb onto SMPL-X's rest direction (legs down, arms sideways), so a zero pose gives the
same T-pose in both and limb directions agree.

Frames: SMPL-X world is Y up, facing +Z; Anny's is Z up, facing -Y; both have the
person's left on +X. `SMPL_TO_ANNY` maps SMPL-X coordinates to Anny's.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from amg.motion.motion import JOINT_INDEX as J, SMPLX_JOINT_NAMES

SMPL_TO_ANNY = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


#: Anny bone-name prefix -> SMPL-X joint whose rotation drives it ({s} = L or R side).
_SIDED = {
    "pelvis.{s}": "pelvis",
    "upperleg01.{s}": "{side}_hip", "upperleg02.{s}": "{side}_hip",
    "lowerleg01.{s}": "{side}_knee", "lowerleg02.{s}": "{side}_knee",
    "foot.{s}": "{side}_ankle", "toe": "{side}_foot",
    "clavicle.{s}": "spine3", "shoulder01.{s}": "{side}_collar",
    "upperarm01.{s}": "{side}_shoulder", "upperarm02.{s}": "{side}_shoulder",
    "lowerarm01.{s}": "{side}_elbow", "lowerarm02.{s}": "{side}_elbow",
    "wrist.{s}": "{side}_wrist", "finger": "{side}_wrist", "metacarpal": "{side}_wrist",
    "eye.{s}": "head",
}
_CENTRE = {
    "root": "pelvis", "spine05": "pelvis", "spine04": "pelvis", "spine03": "spine1",
    "spine02": "spine2", "spine01": "spine3", "neck01": "neck", "neck02": "neck",
    "neck03": "neck", "head": "head",
}

#: SMPL-X joint -> the Anny bone whose head is that joint (the avatar's joint positions).
#: Chosen where SMPL puts its joints: spine1 at the lower lumbar spine (spine03, not the
#: sacral spine04), the collars at the outer end of the clavicle (shoulder01). Bones between
#: two joints follow the lower one (_CENTRE, _SIDED), so the body moves rigidly with them.
JOINT_BONES = {
    "pelvis": "root", "spine1": "spine03", "spine2": "spine02", "spine3": "spine01",
    "neck": "neck01", "head": "head",
    **{f"{side}_{j}": f"{b}.{s}" for side, s in (("left", "L"), ("right", "R")) for j, b in (
        ("hip", "upperleg01"), ("knee", "lowerleg01"), ("ankle", "foot"), ("collar", "shoulder01"),
        ("shoulder", "upperarm01"), ("elbow", "lowerarm01"), ("wrist", "wrist"))},
}

#: Limb bones straightened for the T-pose: bone group -> (from joint, to joint, SMPL-X direction).
_TPOSE_LIMBS = {
    **{f"{side}_hip": (f"{side}_hip", f"{side}_knee", (0, -1, 0)) for side in ("left", "right")},
    **{f"{side}_knee": (f"{side}_knee", f"{side}_ankle", (0, -1, 0)) for side in ("left", "right")},
    "left_shoulder": ("left_shoulder", "left_elbow", (1, 0, 0)),
    "right_shoulder": ("right_shoulder", "right_elbow", (-1, 0, 0)),
    "left_elbow": ("left_elbow", "left_wrist", (1, 0, 0)),
    "right_elbow": ("right_elbow", "right_wrist", (-1, 0, 0)),
}
#: Groups that inherit another group's correction (the hand stays in line with the forearm).
_TPOSE_INHERIT = {"left_wrist": "left_elbow", "right_wrist": "right_elbow"}


def bone_to_joint(bone_labels: list[str]) -> np.ndarray:
    """(B,) index of the SMPL-X joint driving each Anny bone."""
    out = []
    for label in bone_labels:
        if label in _CENTRE:
            out.append(J[_CENTRE[label]])
            continue
        side = "left" if label.endswith(".L") else "right"
        s = label[-1]
        for pattern, joint in _SIDED.items():
            if label == pattern.format(s=s) or ("{s}" not in pattern and label.startswith(pattern)):
                out.append(J[joint.format(side=side)])
                break
        else:
            raise KeyError(f"Anny bone {label!r} has no SMPL-X joint")
    return np.array(out)


def joint_bone_indices(bone_labels: list[str]) -> np.ndarray:
    """(22,) index of the Anny bone whose head is each SMPL-X joint (toes: left/right foot)."""
    idx = []
    for name in SMPLX_JOINT_NAMES:
        if name.endswith("_foot"):
            idx.append(bone_labels.index(f"toe3-1.{'L' if name.startswith('left') else 'R'}"))
        else:
            idx.append(bone_labels.index(JOINT_BONES[name]))
    return np.array(idx)


def tpose_corrections(rest_heads_anny: np.ndarray, bone_labels: list[str]) -> np.ndarray:
    """(B, 3, 3) world rotations (Anny frame) taking Anny's rest bones to the T-pose.

    rest_heads_anny: (B, 3) rest bone heads of an average body.
    """
    drive = bone_to_joint(bone_labels)
    heads = rest_heads_anny[joint_bone_indices(bone_labels)]  # (22, 3) joints, Anny frame
    group_rot = {}
    for group, (a, b, direction) in _TPOSE_LIMBS.items():
        target = SMPL_TO_ANNY @ np.asarray(direction, dtype=float)
        group_rot[J[group]] = Rotation.align_vectors(target, heads[J[b]] - heads[J[a]])[0].as_matrix()
    for group, source in _TPOSE_INHERIT.items():
        group_rot[J[group]] = group_rot[J[source]]
    out = np.tile(np.eye(3), (len(bone_labels), 1, 1))
    for i, j in enumerate(drive):
        if j in group_rot:
            out[i] = group_rot[j]
    return out


def world_rotations(local_rotmats: np.ndarray) -> np.ndarray:
    """SMPL-X forward kinematics of rotations: (T, 22, 3, 3) local -> (T, 22, 3, 3) world."""
    from amg.motion.motion import SMPLX_PARENTS

    world = np.empty_like(local_rotmats)
    for j, p in enumerate(SMPLX_PARENTS):
        world[:, j] = local_rotmats[:, j] if p < 0 else world[:, p] @ local_rotmats[:, j]
    return world
