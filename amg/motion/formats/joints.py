"""Joint positions `.npy`/`.npz`: (T,22,3), (T,66) or (P,T,22,3) from HumanML3D, MDM, MoMask,
InterGen (Y up, metres, HumanML3D joint order), solved into rotations by inverse kinematics."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from amg.errors import AmgError
from amg.motion.formats._io import ACCEPTED_FORMATS, as_finite
from amg.motion.motion import Motion

#: Frame rate assumed for joint-position files, which store none (HumanML3D's 20 fps).
DEFAULT_JOINTS_FPS = 20.0


def load(positions: np.ndarray, path: Path, fps: float | None, key: str = "array",
         progress=None) -> list[Motion]:
    from amg.motion.ik import people_to_motions

    arr = np.asarray(positions)
    if arr.ndim == 2 and arr.shape[1] == 263:
        raise AmgError(f"{path}: this is a HumanML3D feature-vector file (263 values per frame), not joint "
                       f"positions; convert it with HumanML3D's recover_from_ric(data, 22) to (T, 22, 3) "
                       f"joints first; {ACCEPTED_FORMATS}")
    arr = as_finite(arr, key, path)
    if arr.ndim == 2 and arr.shape[1] == 66:
        arr = arr.reshape(-1, 22, 3)
    if arr.ndim == 3 and arr.shape[1:] == (22, 3):
        arr = arr[None]
    if not (arr.ndim == 4 and arr.shape[2:] == (22, 3)):
        raise AmgError(f"{path}: array of shape {np.shape(positions)} is not a motion; joint positions must be "
                       f"(T, 22, 3), (T, 66) or (people, T, 22, 3); {ACCEPTED_FORMATS}")
    rate = fps or DEFAULT_JOINTS_FPS
    out = people_to_motions(arr, rate, name=path.stem, progress=progress)
    for p, m in enumerate(out):
        m.meta.update(person=p, fps_assumed=fps is None)
    return out
