"""Motion: SMPL-X body parameters over time, importers, presets, editing.

motion.py (Motion), skeleton.py (canonical joints), formats.py and bvh.py (files in and
out), ik.py (joint positions -> rotations), edit.py (trim, loop, speed, mirror, resample,
place, ground), library.py (presets and `scene_motion`, the renderer's entry point),
search.py (text search), text2motion.py (external text-to-motion plug-ins),
authoring.py (keyframing; the preset library is built by tools/build_presets.py), preview.py (stick figures).
"""

from amg.motion.motion import SMPLX_JOINT_NAMES, SMPLX_PARENTS, Motion

__all__ = ["Motion", "SMPLX_JOINT_NAMES", "SMPLX_PARENTS"]
