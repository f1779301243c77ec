"""The canonical body skeleton motions are solved and measured on.

REST_JOINTS are the 22 SMPL-X body joints of the embedded Anny body (average phenotype)
in its T-pose, relative to the pelvis, Y up, facing +Z, metres. They are the skeleton
Anny is retargeted with (amg.body.retarget), so joint positions computed here are those
an average avatar performs (tests/test_body.py checks they agree).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from amg.motion.motion import SMPLX_PARENTS, Motion

REST_JOINTS = np.array([
    [0.0, 0.0, 0.0], [0.1019, -0.0115, -0.0029], [-0.1019, -0.0115, -0.0029],
    [0.0, 0.1357, -0.0207], [0.1019, -0.4032, -0.0029], [-0.1019, -0.4032, -0.0029],
    [0.0, 0.2107, -0.0185], [0.1019, -0.8055, -0.0029], [-0.1019, -0.8055, -0.0029],
    [0.0, 0.3434, -0.0427], [0.1156, -0.8526, 0.1329], [-0.1156, -0.8526, 0.1329],
    [0.0, 0.5093, -0.0033], [0.1015, 0.4602, 0.0166], [-0.1015, 0.4602, 0.0166],
    [0.0, 0.6063, 0.0311], [0.1616, 0.4171, 0.0063], [-0.1616, 0.4171, 0.0063],
    [0.4141, 0.4171, 0.0063], [-0.4141, 0.4171, 0.0063], [0.6412, 0.4171, 0.0063],
    [-0.6412, 0.4171, 0.0063],
])
PARENTS = np.array(SMPLX_PARENTS)
#: Pelvis height above the floor when standing in the rest pose (soles on y = 0).
PELVIS_HEIGHT = 0.876


def forward_kinematics(rotations: np.ndarray, pelvis: np.ndarray, rest: np.ndarray = REST_JOINTS) -> np.ndarray:
    """World joint positions.

    rotations: (T, 22, 3) axis-angle (pelvis global, others local to their parent).
    pelvis:    (T, 3) world position of the pelvis joint.
    rest:      (22, 3) rest joint positions relative to the pelvis.
    returns:   (T, 22, 3).
    """
    t = rotations.shape[0]
    local = Rotation.from_rotvec(rotations.reshape(-1, 3)).as_matrix().reshape(t, 22, 3, 3)
    world_rot = np.empty_like(local)
    joints = np.empty((t, 22, 3))
    offsets = rest - rest[np.maximum(PARENTS, 0)]
    for j, p in enumerate(PARENTS):
        if p < 0:
            world_rot[:, j], joints[:, j] = local[:, j], pelvis
        else:
            world_rot[:, j] = world_rot[:, p] @ local[:, j]
            joints[:, j] = joints[:, p] + world_rot[:, p] @ offsets[j]
    return joints


def motion_joints(motion: Motion) -> np.ndarray:
    """(T, 22, 3) world joints of `motion` on the canonical skeleton."""
    return forward_kinematics(motion.local_rotations(), motion.transl)
