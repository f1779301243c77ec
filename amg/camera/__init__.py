"""Cameras and camera paths (OpenGL camera axes, camera-to-world, world Y up)."""

from amg.camera.camera import Camera, focal_from_fov, fov_from_focal, look_at, projection_matrix

__all__ = ["Camera", "look_at", "projection_matrix", "focal_from_fov", "fov_from_focal"]
