"""The cameras a Scene is rendered from: its CameraRef resolved against its people."""

from __future__ import annotations

import numpy as np

from amg.camera.camera import Camera, look_at
from amg.errors import AmgError


def frame_subjects_distance(extent: float, fov_y_deg: float, margin: float = 1.25) -> float:
    """Distance at which a subject of vertical `extent` metres fills the view with a margin."""
    return margin * 0.5 * extent / np.tan(np.radians(fov_y_deg) / 2)


def static_camera(centroid: np.ndarray, extent: float, width: int, height: int, params: dict) -> Camera:
    """A fixed camera in front of the subjects (+Z side), slightly above their centre.

    params: fov (deg, 40), azimuth (deg about Y, 0 = in front), elevation (deg, 5),
    distance (m; default frames the subjects), target_height (m above the floor).
    """
    fov = float(params.get("fov", 40.0))
    az = np.radians(float(params.get("azimuth", 0.0)))
    el = np.radians(float(params.get("elevation", 5.0)))
    dist = float(params.get("distance", frame_subjects_distance(extent, fov)))
    target = np.array([centroid[0], float(params.get("target_height", centroid[1])), centroid[2]])
    eye = target + dist * np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
    return Camera(look_at(eye, target), fov, width, height)


def scene_cameras(camera_ref, joints: np.ndarray, width: int, height: int) -> list[Camera]:
    """One Camera per frame for a scene.

    camera_ref: amg.scene.CameraRef.
    joints: (P, T, J, 3) world joint positions of every person over the rendered frames;
            presets frame them (their centroid and height) wherever they are placed.
    """
    num_frames = joints.shape[1]
    pts = joints.reshape(-1, 3)
    lo, hi = pts.min(0), pts.max(0)
    centroid = 0.5 * (lo + hi)
    extent = max(hi[1] - min(lo[1], 0.0), 0.5 * np.linalg.norm((hi - lo)[[0, 2]]), 1.0)
    if camera_ref.file:
        raise AmgError(f"camera file {camera_ref.file!r}: camera files are not supported yet")
    if camera_ref.preset != "static":
        raise AmgError(f"camera preset {camera_ref.preset!r} is unknown; available: static")
    cam = static_camera(centroid, extent, width, height, camera_ref.params)
    return [cam] * num_frames
