"""Motion capture from video, offline: BlazePose -> tracked people -> SMPL-X motion + camera.

    from amg.capture import motion_from_video, CaptureConfig, render_overlay
    result = motion_from_video("clip.mp4", CaptureConfig(people=1))
    result.save("motion.npz", camera="camera.json")
"""

from amg.capture.pipeline import CaptureConfig, CaptureResult, motion_from_video, plant_feet

__all__ = ["CaptureConfig", "CaptureResult", "motion_from_video", "plant_feet"]
