"""Motion: SMPL-X body parameters over time, importers, presets, editing.

motion.py (Motion), skeleton.py (canonical joints), formats/ (files in and out, one
module per format), ik.py (joint positions -> rotations), edit.py (trim, loop, speed, mirror, resample,
place, ground), library.py (presets and `scene_motion`, the renderer's entry point),
search.py (text search), text2motion.py (external text-to-motion plug-ins), preview.py (stick
figures). The preset library is built by the developer tool tools/build_presets.py (keyframing in
tools/authoring.py).
"""

from amg.motion.motion import JOINT_INDEX, SMPLX_JOINT_NAMES, SMPLX_PARENTS, Motion

__all__ = ["JOINT_INDEX", "Motion", "SMPLX_JOINT_NAMES", "SMPLX_PARENTS"]
