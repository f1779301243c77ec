"""The cameras a Scene is rendered from: its CameraRef resolved against its people.

A CameraRef is either a preset with parameters (see amg.camera.presets) built around the
people, or a camera file (any format amg.camera.formats reads) with these params:
  retime (bool, false): stretch the file's path over the render's frames;
  fit (bool, false):    re-centre / re-scale it onto the people (see fit_to_subjects);
  azimuth (deg):        with fit, where its first camera ends up around the people
                        (default: 0 = in front; AMG paths keep their own);
  fps, fov:             frame rate / vertical FOV for files that lack them;
  format (str, auto):   force a format instead of detecting it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from amg.camera.camera import Camera
from amg.camera.formats import load_camera_path
from amg.camera.path import CameraPath
from amg.camera.presets import make_preset, move_times, resolve_params
from amg.camera.subjects import Subjects, fit_to_subjects, frame_subjects_distance
from amg.errors import AmgError

__all__ = ["scene_cameras", "scene_camera_path", "cameras_for_scene", "frame_subjects_distance"]

FILE_PARAMS = ("retime", "fit", "azimuth", "fps", "fov", "format")


def scene_camera_path(camera_ref, subjects: Subjects, num_frames: int, fps: float = 8.0,
                      resolve_path: Callable[[str], Path] | None = None) -> tuple[CameraPath, bool]:
    """The CameraPath of a CameraRef, and whether to retime it onto the frames."""
    params = dict(camera_ref.params or {})
    if camera_ref.file:
        unknown = sorted(set(params) - set(FILE_PARAMS))
        if unknown:
            raise AmgError(f"camera file {camera_ref.file!r}: unknown parameter(s) {', '.join(unknown)}; "
                           f"known: {', '.join(FILE_PARAMS)}")
        file = resolve_path(camera_ref.file) if resolve_path else Path(camera_ref.file)
        path = load_camera_path(file, format=str(params.get("format", "auto")),
                                fps=float(params.get("fps", fps)), fov=float(params.get("fov", 40.0)))
        if _flag(params.get("fit", False), "fit", camera_ref.file):
            azimuth = float(params["azimuth"]) if "azimuth" in params else "auto"
            path = fit_to_subjects(path, subjects, azimuth=azimuth)
        return path, _flag(params.get("retime", False), "retime", camera_ref.file)
    duration = max(num_frames - 1, 1) / fps
    return make_preset(camera_ref.preset, params, subjects, duration), False


def scene_cameras(camera_ref, joints: np.ndarray, width: int, height: int, fps: float = 8.0,
                  resolve_path: Callable[[str], Path] | None = None) -> list[Camera]:
    """One Camera per frame for a scene.

    camera_ref:   amg.scene.CameraRef.
    joints:       (P, T, J, 3) world joint positions of every person over the rendered
                  frames; presets frame them (their centroid and height) wherever they are.
    fps:          the render's frame rate (timing of files, shake).
    resolve_path: turns the CameraRef's file into a path (Scene.resolve_path).
    """
    joints = np.asarray(joints)
    num_frames = joints.shape[1]
    subjects = Subjects.from_joints(joints, aspect=width / height)
    path, retime = scene_camera_path(camera_ref, subjects, num_frames, fps, resolve_path)
    if camera_ref.file:
        return path.evaluate(num_frames, fps, width, height, retime=retime)
    p = resolve_params(camera_ref.preset, camera_ref.params)
    c2w, fov = path.poses_at(move_times(path, num_frames, p["start"], p["end"]))
    return [Camera(m, float(f), width, height) for m, f in zip(c2w, fov)]


def cameras_for_scene(scene, joints: np.ndarray) -> list[Camera]:
    """scene_cameras with everything taken from an amg.scene.Scene."""
    r = scene.render
    return scene_cameras(scene.camera, joints, r.width, r.height, fps=r.fps, resolve_path=scene.resolve_path)


def _flag(value, name: str, file: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise AmgError(f"camera file {file!r}: parameter {name} must be true or false, got {value!r}")
