"""SMPL / SMPL-X parameter `.npz` from video mocap (TRACE, ROMP, 4D-Humans, GVHMR, WHAM):
`global_orient`, `body_pose` (23 or 21 joints), `transl`, as axis-angle or rotation
matrices, with or without a person axis; the up axis is detected from the body."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from amg.errors import AmgError
from amg.motion.formats._io import as_finite, as_number, gender_of
from amg.motion.formats._smpl import SMPL_PELVIS_REST, SMPLX_PELVIS_REST, to_rotvec, up_fix, world_motion
from amg.motion.motion import Motion


def load(data: dict, path: Path, fps: float | None) -> list[Motion]:
    body = as_finite(data["body_pose"], "body_pose", path)
    # 23 SMPL joints or 21 SMPL-X ones, axis-angle or matrices; the first 21 are the same.
    joints = next((n for n in (21, 23) if body.shape[-1] == 3 * n or body.shape[-2:] == (n, 3)
                   or body.shape[-3:] == (n, 3, 3)), None)
    if joints is None:
        raise AmgError(f"{path}: 'body_pose' has shape {body.shape}; expected 21 (SMPL-X) or 23 (SMPL) "
                       f"joints as (T,63)/(T,69), (T,J,3) axis-angle or (T,J,3,3) matrices")
    body = to_rotvec(body, joints, "body_pose", path)[..., :21, :]  # (..., T, 21, 3)
    orient = to_rotvec(as_finite(data["global_orient"], "global_orient", path), 1, "global_orient", path)
    orient = orient.reshape(*body.shape[:-2], 3)
    if body.ndim == 3:
        body, orient = body[None], orient[None]
    if body.ndim != 4 or orient.shape != body.shape[:2] + (3,):
        raise AmgError(f"{path}: global_orient {data['global_orient'].shape} does not match "
                       f"body_pose {data['body_pose'].shape}")
    key = next((k for k in ("transl", "trans", "smpl_trans") if k in data), None)
    transl = as_finite(data[key], key, path).reshape(*orient.shape) if key else np.zeros_like(orient)
    rest = SMPL_PELVIS_REST if joints == 23 else SMPLX_PELVIS_REST
    rate = fps or (data.get("fps") if "fps" in data else data.get("mocap_framerate"))
    rate = as_number(rate, "'fps'", path) if rate is not None else 30.0
    fix = up_fix(orient)
    betas = as_finite(data["betas"], "betas", path) if "betas" in data else None
    out = []
    for p in range(orient.shape[0]):
        b = None if betas is None else (betas[p] if betas.ndim == 2 and len(betas) == orient.shape[0]
                                        else betas.reshape(-1, betas.shape[-1])[0])
        out.append(world_motion(orient[p], body[p], transl[p] + rest, fix, rate, path.stem, b, gender_of(data),
                                {"source_format": "SMPL parameters" if joints == 23 else "SMPL-X parameters",
                                 "person": p, "fps_assumed": "fps" not in data and fps is None}))
    return out
