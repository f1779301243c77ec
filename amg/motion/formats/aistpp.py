"""AIST++ `.npz`: `smpl_poses` (N,72), `smpl_trans`, `smpl_scaling`, `fps`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from amg.errors import AmgError
from amg.motion.formats._io import as_finite, as_number
from amg.motion.formats._smpl import SMPL_PELVIS_REST, up_fix, world_motion
from amg.motion.motion import Motion


def load(data: dict, path: Path) -> list[Motion]:
    poses = as_finite(data["smpl_poses"], "smpl_poses", path)
    if poses.ndim != 2 or poses.shape[1] != 72:
        raise AmgError(f"{path}: 'smpl_poses' has shape {poses.shape}, AIST++ stores (N, 72)")
    trans = as_finite(data.get("smpl_trans", np.zeros((len(poses), 3))), "smpl_trans", path)
    scale = as_number(data["smpl_scaling"], "'smpl_scaling'", path) if "smpl_scaling" in data else 1.0
    fps = as_number(data.get("fps", 60), "'fps'", path)
    return [world_motion(poses[:, :3], poses[:, 3:66], trans / scale + SMPL_PELVIS_REST, up_fix(poses[:, :3]),
                         fps, path.stem, None, "neutral", {"source_format": "AIST++"})]
