"""Rendering: the mesh rasteriser, a Scene's condition video, and video files."""

from amg.render.scene_render import RenderResult, render_scene, render_scene_to_mp4, scene_avatars
from amg.render.video import read_video, write_mp4

__all__ = ["RenderResult", "render_scene", "render_scene_to_mp4", "scene_avatars", "read_video", "write_mp4"]
