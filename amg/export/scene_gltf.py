"""A Scene as an animated glTF: the people the renderer shows, skinned, seen by the scene camera."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from amg.errors import AmgError
from amg.export.gltf import GltfMesh, GltfPerson, build_gltf
from amg.files import atomic_write_bytes
from amg.scene import Scene

#: Formats `export_scene` writes (FBX through Blender's exporter: see amg.export.fbx).
FORMATS = ("glb", "gltf", "fbx")


@dataclass
class ExportInfo:
    """What was written: path, frames, fps, people, bytes, seconds taken."""

    path: Path
    frames: int
    fps: float
    people: int
    size: int
    seconds: float


def _people(scene: Scene, frames: int, fps: float) -> list[GltfPerson]:
    from amg.motion.library import scene_motion
    from amg.render import scene_avatars

    out = []
    for person, avatar in zip(scene.people, scene_avatars(_as_meshes(scene))):
        skinned = avatar.skin(scene_motion(person, scene, frames, fps))
        sk, app = skinned.skeleton, avatar.appearance
        names = {tuple(np.round(np.asarray(getattr(app, r), np.float64), 6).tolist()): r
                 for r in ("skin", "hair", "shoes", "bottom", "top")}  # later ones win a shared colour
        meshes = [GltfMesh(p.name, p.vertices, p.faces, p.colors, p.weights, p.bones, double_sided=p.name != "body")
                  for p in skinned.parts]
        out.append(GltfPerson(person.id, sk.names, sk.parents, sk.bind, sk.poses, meshes, sk.joint_bones, names))
    return out


def _as_meshes(scene: Scene) -> Scene:
    """glTF 2.0 has no gaussian splats: a splat person is exported as the mesh avatar of the same
    words and body (its skeleton and motion are the splat's)."""
    people = [p.model_copy(update={"avatar": p.avatar.model_copy(update={"style": "mesh", "gaussians": None})})
              for p in scene.people]
    return scene.model_copy(update={"people": people})


def export_scene(
    scene: Scene,
    path: str | Path,
    frames: int | None = None,
    fps: float | None = None,
    floor: bool = True,
    progress: Callable[[str], None] | None = None,
    camera_gizmo: float = 0.0,
) -> ExportInfo:
    """Write `scene` as an animated glTF 2.0 file (.glb binary, or .gltf with the data embedded),
    or as .fbx converted by Blender when it is installed (amg.export.fbx).

    Every person is a skinned mesh on its body's skeleton (a gaussian-splat person: the mesh avatar of
    the same words) with one rotation channel per bone
    (and the root's translation), materials per garment colour; the floor is a quad on
    y = 0 under the people; the scene camera is a camera node with its animated pose and
    field of view. One animation sample per frame at the scene's fps (or the overrides).
    `camera_gizmo` > 0 also draws the camera's path and its frustum (that deep, metres) as lines, for
    viewers that show no glTF camera (the app's whole-scene view).
    """
    from amg.camera.scene_camera import scene_cameras

    start = time.time()
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise AmgError(f"output {str(path)!r}: the scene exports as .glb or .gltf (glTF 2.0) or .fbx, "
                       f"got {path.suffix or 'no extension'!r}")
    settings = scene.render
    frames = settings.frames if frames is None else frames
    fps = settings.fps if fps is None else fps
    if not 1 <= frames <= 1000:
        raise AmgError(f"export frames must be between 1 and 1000, got {frames}")
    if not 0 < fps <= 120:
        raise AmgError(f"export fps must be above 0 and at most 120, got {fps}")
    if fmt == "fbx":
        from amg.export.fbx import require_blender

        require_blender()  # before any work
    say = progress or (lambda msg: None)
    say("posing people")
    people = _people(scene, frames, fps)
    joints = np.stack([p.poses[:, p.joint_bones][..., :3, 3] for p in people])  # (P, T, 22, 3)
    cameras = scene_cameras(scene.camera, joints, settings.width, settings.height, fps=fps,
                            resolve_path=scene.resolve_path)
    centre = joints[..., [0, 2]].reshape(-1, 2)
    lo, hi = centre.min(0), centre.max(0)
    floor_quad = (*((lo + hi) / 2).tolist(), float(max(5.0, 0.5 * (hi - lo).max() + 3.0))) if floor else None
    say("writing glTF")
    doc = build_gltf(people, np.stack([c.c2w for c in cameras]), np.array([c.fov_y_deg for c in cameras]),
                     settings.width, settings.height, fps, floor=floor_quad,
                     extras={"amg_scene": scene.name, "fps": fps, "frames": frames,
                             "people": [p.id for p in scene.people]}, camera_gizmo=camera_gizmo)
    if fmt == "gltf":
        doc.convert_buffers(__import__("pygltflib").BufferFormat.DATAURI)
        atomic_write_bytes(path, doc.gltf_to_json().encode())
    elif fmt == "glb":
        atomic_write_bytes(path, b"".join(doc.save_to_bytes()))
    else:
        from amg.export.fbx import glb_to_fbx

        say("converting to FBX with Blender")
        with tempfile.TemporaryDirectory() as tmp:
            glb = Path(tmp) / "scene.glb"
            glb.write_bytes(b"".join(doc.save_to_bytes()))
            glb_to_fbx(glb, path, fps, frames)
    return ExportInfo(path, frames, float(fps), len(people), path.stat().st_size, time.time() - start)
