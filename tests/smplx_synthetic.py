"""A synthetic SMPL-X model file of the real shapes (the real one cannot ship).

Vertices are clustered around the canonical skeleton's joints and skinned rigidly to
them, so a posed synthetic body follows the motion like the real one would.
"""

from __future__ import annotations

import numpy as np

from amg.motion.skeleton import REST_JOINTS

NUM_VERTS, NUM_FACES, NUM_JOINTS = 10475, 20908, 55


def smplx_parents() -> np.ndarray:
    from amg.motion.motion import SMPLX_PARENTS

    parents = list(SMPLX_PARENTS) + [15, 15, 15]  # jaw, eyes
    for wrist in (20, 21):  # 5 fingers x 3 joints per hand
        for _ in range(5):
            start = len(parents)
            parents += [wrist, start, start + 1]
    return np.array(parents)


def write_synthetic_smplx(path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    parents = smplx_parents()
    joints = np.zeros((NUM_JOINTS, 3))
    joints[:22] = REST_JOINTS
    for j in range(22, NUM_JOINTS):
        joints[j] = joints[parents[j]] + rng.normal(0, 0.02, 3)
    owner = np.arange(NUM_VERTS) % 22  # body joints own the vertices
    verts = joints[owner] + rng.normal(0, 0.03, (NUM_VERTS, 3))
    weights = np.zeros((NUM_VERTS, NUM_JOINTS))
    weights[np.arange(NUM_VERTS), owner] = 1.0
    regressor = np.zeros((NUM_JOINTS, NUM_VERTS))
    for j in range(NUM_JOINTS):
        mine = owner == (j if j < 22 else parents[j] if parents[j] < 22 else 20)
        regressor[j, mine] = 1.0 / mine.sum()
    regressor[:22] = 0
    for j in range(22):  # body joints regress exactly onto the skeleton (vertex noise averages out)
        mine = np.flatnonzero(owner == j)
        regressor[j, mine] = 1.0 / len(mine)
    verts += (joints[:22] - regressor[:22] @ verts)[owner]
    faces = np.stack([rng.choice(np.flatnonzero(owner == j), 3, replace=False)
                      for j in rng.integers(0, 22, NUM_FACES)])
    kintree = np.stack([parents, np.arange(NUM_JOINTS)])
    kintree[0, 0] = -1
    np.savez(
        path, v_template=verts, f=faces.astype(np.int64), J_regressor=regressor, weights=weights,
        kintree_table=kintree.astype(np.int64), shapedirs=np.zeros((NUM_VERTS, 3, 400)),
        posedirs=np.zeros((NUM_VERTS, 3, 486)), lmk_faces_idx=np.zeros(51, np.int64),
        lmk_bary_coords=np.full((51, 3), 1 / 3), dynamic_lmk_faces_idx=np.zeros((79, 17), np.int64),
        dynamic_lmk_bary_coords=np.full((79, 17, 3), 1 / 3), hands_componentsl=np.eye(45),
        hands_componentsr=np.eye(45), hands_meanl=np.zeros(45), hands_meanr=np.zeros(45),
    )
