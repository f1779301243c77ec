"""Cameras and camera paths (OpenGL camera axes, camera-to-world, world Y up)."""

from amg.camera.camera import Camera, focal_from_fov, fov_from_focal, look_at, projection_matrix
from amg.camera.formats import FORMATS, dump_camera_path, load_camera_path, save_camera_path
from amg.camera.path import Anchor, CameraPath, Keyframe, PoseSamples, Shake
from amg.camera.presets import PRESETS, make_preset, preset_params
from amg.camera.subjects import Subjects, fit_to_subjects

__all__ = [
    "Camera", "look_at", "projection_matrix", "focal_from_fov", "fov_from_focal",
    "CameraPath", "Keyframe", "PoseSamples", "Shake", "Anchor",
    "PRESETS", "make_preset", "preset_params", "Subjects", "fit_to_subjects",
    "FORMATS", "load_camera_path", "dump_camera_path", "save_camera_path",
]
