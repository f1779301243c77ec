"""Leaving the app: the scene as animated glTF (Blender, game engines) and ComfyUI nodes (comfyui/)."""

from amg.export.scene_gltf import ExportInfo, export_scene

__all__ = ["ExportInfo", "export_scene"]
