"""Garment geometry that paint alone cannot give: the skirt of a skirt or dress.

The skirt is a flared tube rebuilt every frame from the body's joints: it hangs from the
waist and its hem follows both legs, so it swings with the stride and never lets a
thigh poke through.
"""

from __future__ import annotations

import numpy as np

from amg.motion.motion import JOINT_INDEX as _J



def skirt_faces(rings: int, segments: int) -> np.ndarray:
    """(2 * (rings - 1) * segments, 3) triangles joining consecutive rings of a tube."""
    faces = []
    for r in range(rings - 1):
        for s in range(segments):
            a, b = r * segments + s, r * segments + (s + 1) % segments
            faces += [(a, b, a + segments), (b, b + segments, a + segments)]
    return np.array(faces, dtype=np.int32)


def skirt_vertices(
    joints: np.ndarray,        # (T, 22, 3) world joints, Y up
    hem: float,                # 0 = hips, 1 = knees, 2 = ankles
    waist_radius: tuple,       # (half width, half depth) at the waist, metres
    flare: float = 0.35,       # extra radius at the hem per metre of skirt length
    rings: int = 10,
    segments: int = 40,
) -> np.ndarray:
    """(T, rings * segments, 3) skirt surface for every frame."""
    j = joints.astype(np.float64)
    pelvis, spine = j[:, _J["pelvis"]], j[:, _J["spine1"]]
    waist = pelvis + 0.6 * (spine - pelvis)

    def along_leg(side: str, u: float) -> np.ndarray:
        """Point at u along the leg (0 hip, 1 knee, 2 ankle)."""
        hip, knee, ankle = (j[:, _J[f"{side}_{n}"]] for n in ("hip", "knee", "ankle"))
        return hip + min(u, 1.0) * (knee - hip) + max(u - 1.0, 0.0) * (ankle - knee)

    up = np.array([0.0, 1.0, 0.0])
    out = np.empty((len(j), rings, segments, 3))
    theta = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    for r, s in enumerate(np.linspace(0.0, 1.0, rings)):
        left, right = along_leg("left", s * hem), along_leg("right", s * hem)
        centre = (1 - s) * waist + s * 0.5 * (left + right)
        side = left - right
        side_len = np.linalg.norm(side, axis=1, keepdims=True)
        lateral = side / np.maximum(side_len, 1e-6)
        forward = np.cross(lateral, up)
        forward /= np.maximum(np.linalg.norm(forward, axis=1, keepdims=True), 1e-6)
        length = s * hem * 0.42
        rx = np.maximum(waist_radius[0] * (1 + 0.25 * np.sqrt(s)), 0.5 * side_len[:, 0] + 0.09) + flare * length
        rz = waist_radius[1] * (1 + 0.35 * np.sqrt(s)) + flare * length
        out[:, r] = (centre[:, None] + rx[:, None, None] * np.cos(theta)[None, :, None] * lateral[:, None]
                     + rz * np.sin(theta)[None, :, None] * forward[:, None])
    return out.reshape(len(j), rings * segments, 3).astype(np.float32)



def skirt_skin_weights(
    pelvis: int, left_thigh: int, right_thigh: int,  # bone indices of the skeleton the skirt is skinned to
    rings: int = 10, segments: int = 40,
) -> tuple[np.ndarray, np.ndarray]:
    """Skin weights for the skirt of `skirt_vertices` (same ring/segment layout), as a rigger would
    paint them: the waist follows the pelvis, the hem the thighs, each side its own leg and the
    front and back both legs evenly. Smooth in both directions, so a stride never tears it.

    Returns weights (rings * segments, 3) summing to 1 and bones (rings * segments, 3).
    """
    s = np.repeat(np.linspace(0.0, 1.0, rings), segments)  # 0 at the waist .. 1 at the hem
    side = np.tile(np.cos(np.linspace(0, 2 * np.pi, segments, endpoint=False)), rings)  # +1 left leg .. -1 right
    weights = np.stack([1.0 - s, s * (1.0 + side) / 2, s * (1.0 - side) / 2], axis=1)
    bones = np.tile([pelvis, left_thigh, right_thigh], (len(s), 1))
    return weights.astype(np.float32), bones.astype(np.int64)


def jacket_regions(
    regions: np.ndarray,   # (V,) region per body vertex (amg.avatar.avatar.REGIONS indices)
    vertices: np.ndarray,  # (V, 3) the body standing in its rest pose, world (Y up, facing +Z)
    joints: np.ndarray,    # (22, 3) its SMPL-X body joints
    hem: float,            # how far down the jacket reaches: 0 = hips .. 1 = knees
    top: int = 0, bottom: int = 1, jacket: int = 5,
) -> np.ndarray:
    """(V,) regions with a jacket worn open over the top: the top's sleeves and torso become the
    jacket, it hangs down over the hips to `hem`, and the shirt shows in a V at the open front
    from the collar down to the chest (what tells a jacket from a sweater of the same colour)."""
    y, x, z = vertices[:, 1], vertices[:, 0], vertices[:, 2]
    hips = 0.5 * (joints[_J["left_hip"]] + joints[_J["right_hip"]])
    knees = 0.5 * (joints[_J["left_knee"]] + joints[_J["right_knee"]])
    out = regions.copy()
    out[regions == top] = jacket
    out[(regions == bottom) & (y >= hips[1] - hem * (hips[1] - knees[1]))] = jacket
    neck, chest = joints[_J["neck"]], joints[_J["spine2"]]
    rise = (y - chest[1]) / max(neck[1] - chest[1], 1e-6)  # 0 at the V's point .. 1 at the collar
    v_neck = (regions == top) & (z > chest[2]) & (rise >= 0) & (np.abs(x - chest[0]) < 0.085 * rise)
    out[v_neck] = top
    return out
