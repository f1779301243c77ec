"""Rendering: the mesh rasteriser, a Scene's condition video (video files: amg.video)."""

from amg.render.outputs import WrittenPasses, write_passes
from amg.render.scene_render import (RenderResult, render_chunks, render_scene, render_scene_to_mp4, scene_avatars,
                                     scene_joints)

__all__ = ["RenderResult", "render_chunks", "render_scene", "render_scene_to_mp4", "scene_avatars", "scene_joints",
           "write_passes", "WrittenPasses"]
