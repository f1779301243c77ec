"""AMASS `.npz` (Z up): SMPL-H `poses` (N,156), SMPL-X `poses` (N,165) or (N,55,3), or
`root_orient` + `pose_body`; `trans`, `betas`, `gender`, `mocap_framerate` or
`mocap_frame_rate`. Read into our Y-up world, and written back the same way."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from amg.errors import AmgError
from amg.files import atomic_write_bytes
from amg.motion.formats._io import as_finite, as_number, as_text, gender_of, npz_bytes
from amg.motion.formats._smpl import SMPL_PELVIS_REST, SMPLX_PELVIS_REST, Z_UP_TO_Y_UP, world_motion
from amg.motion.motion import Motion


def load(data: dict, path: Path) -> list[Motion]:
    if "poses" in data:
        poses = as_finite(data["poses"], "poses", path)
        if poses.ndim == 3 and poses.shape[-1] == 3:
            poses = poses.reshape(len(poses), -1)
        if poses.ndim != 2 or poses.shape[1] not in (66, 72, 156, 165):
            raise AmgError(f"{path}: 'poses' has shape {data['poses'].shape}; AMASS stores (N,156) SMPL-H, "
                           f"(N,165) or (N,55,3) SMPL-X (or (N,72) SMPL)")
        orient, body = poses[:, :3], poses[:, 3:66]
        model = {165: "smplx", 156: "smplh", 72: "smpl", 66: "smplx"}[poses.shape[1]]
    else:
        orient = as_finite(data["root_orient"], "root_orient", path)
        body = as_finite(data["pose_body"], "pose_body", path)
        model = "smplx"
        if body.shape[-1] != 63 or orient.shape[-1] != 3 or len(body) != len(orient):
            raise AmgError(f"{path}: root_orient must be (N,3) and pose_body (N,63), got "
                           f"{orient.shape} and {body.shape}")
    model = as_text(data.get("surface_model_type"), model).lower() or model
    if "trans" not in data:
        raise AmgError(f"{path}: AMASS file has no 'trans' (root translation)")
    trans = as_finite(data["trans"], "trans", path)
    if trans.shape != (len(orient), 3):
        raise AmgError(f"{path}: 'trans' has shape {trans.shape}, expected ({len(orient)}, 3)")
    rate = data.get("mocap_framerate", data.get("mocap_frame_rate"))
    if rate is None:
        raise AmgError(f"{path}: AMASS file has no 'mocap_framerate' (frames per second)")
    fps = as_number(rate, "'mocap_framerate'", path)
    rest = SMPLX_PELVIS_REST if model == "smplx" else SMPL_PELVIS_REST
    betas = as_finite(data["betas"], "betas", path).reshape(-1) if "betas" in data else None
    return [world_motion(orient, body, trans + rest, Z_UP_TO_Y_UP, fps, path.stem, betas, gender_of(data),
                         {"source_format": f"AMASS ({model})"})]


def save(motion: Motion, path: str | os.PathLike) -> Path:
    """AMASS-style SMPL-X `.npz` (Z up, `poses` (N,165), `trans`, `mocap_framerate`)."""
    inv = Z_UP_TO_Y_UP.inv()
    orient = (inv * Rotation.from_rotvec(motion.global_orient)).as_rotvec()
    poses = np.zeros((motion.num_frames, 165))
    poses[:, :3], poses[:, 3:66] = orient, motion.body_pose
    trans = inv.apply(motion.transl) - SMPLX_PELVIS_REST
    betas = np.zeros(10) if motion.betas is None else np.asarray(motion.betas, dtype=np.float64)
    arrays = {"poses": poses, "trans": trans, "betas": betas, "gender": np.array(motion.gender),
              "mocap_framerate": np.array(float(motion.fps)), "surface_model_type": np.array("smplx")}
    path = Path(path)
    atomic_write_bytes(path, npz_bytes(arrays))
    return path
