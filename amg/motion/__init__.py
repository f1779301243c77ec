"""Motion: SMPL-X body parameters over time, importers, presets, editing."""

from amg.motion.motion import SMPLX_JOINT_NAMES, SMPLX_PARENTS, Motion

__all__ = ["Motion", "SMPLX_JOINT_NAMES", "SMPLX_PARENTS"]
