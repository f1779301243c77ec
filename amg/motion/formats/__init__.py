"""Motion files in and out: every common format to the canonical Motion (Y up, metres).

One module per format, each with `load` (and `save` where we write it):
- `amg_npz`: our `.npz` (`format`="amg-motion" or `fps` + `global_orient` (T,3) +
  `body_pose` (T,63) + `transl` (T,3) pelvis positions; a leading person axis for several people);
- `amass`: AMASS `.npz` (SMPL-H / SMPL-X `poses`, or `root_orient` + `pose_body`), Z-up,
  converted to Y-up;
- `smpl_params`: SMPL / SMPL-X parameter `.npz` from video mocap (TRACE, ROMP, 4D-Humans,
  GVHMR, WHAM), the up axis detected from the body;
- `aistpp`: AIST++ `.npz` (`smpl_poses` (N,72), `smpl_trans`, `smpl_scaling`, `fps`);
- `joints`: joint positions `.npy`/`.npz` (T,22,3), (T,66) or (P,T,22,3) (HumanML3D, MDM,
  MoMask, InterGen), solved by inverse kinematics;
- `bvh`: BVH, retargeted by joint name.
`_io` reads files safely (see ACCEPTED_FORMATS, shown to users when a file is not
understood); `_smpl` holds the SMPL family's conventions. Files are data: nothing is ever
unpickled. `load_motion_file(path)` recognises the format and reads it.
"""

from __future__ import annotations

import os

import numpy as np

from amg.errors import AmgError
from amg.motion import edit
from amg.motion.formats import aistpp, amass, amg_npz, joints, smpl_params
from amg.motion.formats._io import ACCEPTED_FORMATS, MAX_FILE_BYTES, as_text, check_file, npz_bytes, read_arrays
from amg.motion.formats.amass import save as save_amass
from amg.motion.formats.amg_npz import save as save_npz
from amg.motion.formats.bvh import import_bvh, save_bvh
from amg.motion.formats.joints import DEFAULT_JOINTS_FPS
from amg.motion.motion import Motion

__all__ = ["ACCEPTED_FORMATS", "DEFAULT_JOINTS_FPS", "MAX_FILE_BYTES", "check_file", "import_arrays", "import_bvh",
           "load_motion_file", "npz_bytes", "read_arrays", "save_amass", "save_bvh", "save_npz"]


def import_arrays(data: dict, path, fps: float | None = None, progress=None) -> list[Motion]:
    """Recognise the format from the array names and import it."""
    keys = set(data)
    if "array" in keys and len(keys) == 1:
        return joints.load(data["array"], path, fps, progress=progress)
    ours = as_text(data.get("format")) == "amg-motion" or (
        "fps" in keys and "format" not in keys and np.shape(data.get("body_pose", ()))[-1:] == (63,))
    if ours and {"global_orient", "body_pose", "transl"} <= keys:
        return amg_npz.load(data, path)
    if "smpl_poses" in keys:
        return aistpp.load(data, path)
    if ("poses" in keys and ("trans" in keys or "mocap_framerate" in keys or "mocap_frame_rate" in keys)) \
            or {"root_orient", "pose_body"} <= keys:
        return amass.load(data, path)
    if {"global_orient", "body_pose"} <= keys:
        return smpl_params.load(data, path, fps)
    for k in ("joints", "positions", "joint_positions", "motion"):
        if k in keys:
            return joints.load(data[k], path, fps, k, progress=progress)
    shown = ", ".join(sorted(keys)[:12]) or "none"
    raise AmgError(f"{path}: no motion found (arrays in the file: {shown}); {ACCEPTED_FORMATS}")


def load_motion_file(path: str | os.PathLike, fps: float | None = None, progress=None) -> list[Motion]:
    """Every person's Motion in a motion file of any accepted format.

    fps: for BVH/npz with a frame rate, resample to it; for joint-position files (which
    store none) it is their frame rate (default DEFAULT_JOINTS_FPS).
    progress: optional `progress(done, total)` for the slow part (IK of joint positions).
    """
    path = check_file(path)
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        motions = [import_bvh(path)]
    elif suffix in (".npz", ".npy"):
        data = read_arrays(path)
        try:
            motions = import_arrays(data, path, fps, progress)
        except AmgError as e:  # a check deeper down names the motion: name the user's file
            raise (e if str(path) in str(e) else AmgError(f"{path}: {e}")) from None
        except (ValueError, IndexError, TypeError, KeyError) as e:  # arrays of shapes no importer expects
            shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in sorted(data.items())[:12])
            raise AmgError(f"{path}: its arrays do not fit together as a motion ({shapes}): "
                           f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    else:
        raise AmgError(f"{path}: unknown motion file type {suffix or '(no extension)'!r}; {ACCEPTED_FORMATS}")
    if fps is not None:  # joint files already took `fps` as their own rate: no-op for them
        motions = [m if abs(m.fps - fps) < 1e-9 else edit.resample(m, fps) for m in motions]
    for m in motions:
        m.meta.setdefault("source", str(path))
    return motions
