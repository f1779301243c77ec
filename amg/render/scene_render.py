"""A Scene becomes its avatar condition video: every person posed, placed, and seen by the camera."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from amg.camera.camera import Camera
from amg.camera.scene_camera import scene_cameras
from amg.colors import hex_to_rgb
from amg.errors import AmgError
from amg.render.rasterizer import rasterize
from amg.video import write_mp4
from amg.scene import Scene

_AVATAR_CACHE: "OrderedDict[tuple, list]" = OrderedDict()
_AVATAR_CACHE_SIZE = 8
_cache_lock = threading.Lock()


@dataclass
class RenderResult:
    """rgb: (T, H, W, 3) uint8 condition frames; masks: (T, P, H, W) bool, person p's visible
    pixels; depth: (T, H, W) float32 metres (inf = background); cameras: one per frame;
    joints: (P, T, 22, 3) world joints as the avatars perform them; fps of the frames;
    face_points: (P, T, 5, 3) world nose, right eye, left eye, right ear, left ear (head vertices)."""

    rgb: np.ndarray
    masks: np.ndarray
    depth: np.ndarray
    cameras: list[Camera]
    joints: np.ndarray
    fps: float
    face_points: np.ndarray | None = None


def scene_avatars(scene: Scene) -> list:
    """The scene's avatars (cached by their specs: a camera change re-uses them)."""
    from amg.avatar.avatar import build_avatars

    from amg.avatar.gaussian_avatar import scene_avatar

    key = tuple(p.avatar.model_dump_json() + str(p.avatar.gaussians and scene.resolve_path(p.avatar.gaussians))
                for p in scene.people)
    with _cache_lock:
        if key in _AVATAR_CACHE:
            _AVATAR_CACHE.move_to_end(key)
            return _AVATAR_CACHE[key]
    avatars = build_avatars([p.avatar for p in scene.people])
    avatars = [scene_avatar(p.avatar, a, scene.resolve_path) for p, a in zip(scene.people, avatars)]
    with _cache_lock:
        _AVATAR_CACHE[key] = avatars
        while len(_AVATAR_CACHE) > _AVATAR_CACHE_SIZE:
            _AVATAR_CACHE.popitem(last=False)
    return avatars


#: Frames rendered at a time by `render_chunks`: a streamed render holds the posed meshes and
#: frame buffers of this many frames, whatever the shot's length.
CHUNK_FRAMES = 16


def render_scene(scene: Scene, frames: int | None = None, width: int | None = None, height: int | None = None,
                 fps: float | None = None, progress: Callable[[str], None] | None = None) -> RenderResult:
    """Render the condition video of `scene` (its render settings, optionally overridden)."""
    return next(render_chunks(scene, frames, width, height, fps, progress, chunk_frames=None))


def render_chunks(
    scene: Scene,
    frames: int | None = None,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    progress: Callable[[str], None] | None = None,
    chunk_frames: int | None = CHUNK_FRAMES,
) -> Iterator[RenderResult]:
    """The condition video of `scene` as RenderResults of `chunk_frames` consecutive frames each
    (None: one of the whole shot), for streaming to a video encoder: its memory depends on the
    chunk, not on the shot's length. Joined, the chunks are exactly `render_scene`'s result."""
    # the scene's own rules (sizes in multiples of 8, 1..1000 frames, 1..120 fps): what is asked is what is written
    settings = scene.render.with_overrides(frames=frames, width=width, height=height, fps=fps)
    frames, width, height, fps = settings.frames, settings.width, settings.height, settings.fps
    from amg.motion.library import scene_motion

    say = progress or (lambda msg: None)
    say("building avatars")
    avatars = scene_avatars(scene)
    motions = [scene_motion(person, scene, frames, fps) for person in scene.people]
    step = frames if chunk_frames is None else max(1, min(int(chunk_frames), frames))
    whole = None
    if step == frames:
        say("posing people")
        whole = _pose_people(avatars, motions, slice(0, frames))
        joints = whole.joints
    else:  # the cameras frame the people over the whole shot: their joints first (no meshes)
        say("posing skeletons")
        joints = np.stack([avatar.joints(motion) for avatar, motion in zip(avatars, motions)])  # (P, T, 22, 3)
    cameras = scene_cameras(scene.camera, joints, width, height, fps=fps, resolve_path=scene.resolve_path)
    for start in range(0, frames, step):
        part = slice(start, min(start + step, frames))
        posed = whole or _pose_people(avatars, motions, part)
        if whole is None:
            say(f"rendering frames {part.start + 1}-{part.stop} of {frames}")
        else:
            say("rasterising")
        yield _rasterize_people(posed, cameras[part], settings, len(scene.people), float(fps), say)


def scene_joints(scene: Scene) -> np.ndarray:
    """(P, T, 22, 3) world joints of every person as the avatars perform them over the scene's
    frames: what cameras and sketches need, with no mesh posed and nothing rasterised."""
    from amg.motion.library import scene_motion

    r = scene.render
    return np.stack([avatar.joints(scene_motion(person, scene, r.frames, r.fps))
                     for person, avatar in zip(scene.people, scene_avatars(scene))])


@dataclass
class _Posed:
    """The people over some frames: meshes (vertices (t, V, 3), faces, colours) with their
    person ids (1-based), gaussian people, joints (P, t, 22, 3), face points (P, t, 5, 3)."""

    meshes: list
    ids: list[int]
    splats: list
    joints: np.ndarray
    face: np.ndarray


def _pose_people(avatars: list, motions: list, frames: slice) -> _Posed:
    meshes, ids, joints, face, splats = [], [], [], [], []
    for i, (avatar, motion) in enumerate(zip(avatars, motions)):
        posed = avatar.pose(motion, frames)
        for verts, faces, colors in posed.meshes:
            meshes.append((verts, faces, colors))
            ids.append(i + 1)
        if hasattr(posed, "opacities"):  # a gaussian avatar (amg.render.splat_scene)
            splats.append((posed, i + 1))
        joints.append(posed.joints)
        face.append(posed.body_vertices[:, _face_vertices(avatar)])  # the body mesh's head vertices
    return _Posed(meshes, ids, splats, np.stack(joints), np.stack(face))


def _rasterize_people(posed: _Posed, cameras: list[Camera], settings, people: int, fps: float,
                      say: Callable[[str], None]) -> RenderResult:
    c2w, fov = np.stack([c.c2w for c in cameras]), np.array([c.fov_y_deg for c in cameras])
    out = rasterize(
        [m[0] for m in posed.meshes], [m[1] for m in posed.meshes], [m[2] for m in posed.meshes], c2w, fov,
        settings.width, settings.height, background=hex_to_rgb(settings.background), floor=settings.floor,
        mesh_ids=posed.ids,
    )
    if posed.splats:
        from amg.render.splat_scene import composite, render_gaussian_people

        say("rasterising gaussians")
        layer = render_gaussian_people([p for p, _ in posed.splats], [i for _, i in posed.splats], c2w, fov,
                                       settings.width, settings.height)
        out = composite(out, layer)
    masks = out.ids[:, None] == np.arange(1, people + 1)[None, :, None, None]
    return RenderResult(out.rgb, masks, out.depth, cameras, posed.joints, fps, posed.face)


def _face_vertices(avatar) -> np.ndarray:
    """(5,) body-mesh vertex indices of the face points, found once per avatar."""
    if "face_vertices" not in avatar.meta:
        from amg.motion.motion import Motion

        rest = avatar.pose(Motion.rest(1))
        avatar.meta["face_vertices"] = face_vertex_indices(rest.body_vertices[0], rest.joints[0])
    return avatar.meta["face_vertices"]


def face_vertex_indices(rest_vertices: np.ndarray,  # (V, 3) body at rest: Y up, facing +Z, left at +X
                        rest_joints: np.ndarray,  # (22, 3) SMPL joints at rest
                        ) -> np.ndarray:
    """(5,) vertex indices of nose tip, right eye, left eye, right ear, left ear on a body mesh.

    Found geometrically on the rest mesh (any body model: Anny, SMPL-X), scaled by the head's
    size so children's heads work too. Following vertices, not a fixed offset from the head
    joint, makes the face points turn and nod with the head.
    """
    v, neck, head = np.asarray(rest_vertices), rest_joints[12], rest_joints[15]
    size = v[:, 1].max() - neck[1]  # neck to crown, ~0.25 m for an adult
    near_head = (v[:, 1] > neck[1]) & (np.abs(v[:, 0] - head[0]) < 0.6 * size)
    centre = np.abs(v[:, 0] - head[0]) < 0.04 * size
    band = near_head & centre & (np.abs(v[:, 1] - head[1]) < 0.3 * size)
    if not band.any():
        raise AmgError("avatar: cannot find the face on the body mesh (no vertices in front of the head)")
    nose = int(np.flatnonzero(band)[np.argmax(v[band, 2])])
    out = [nose]
    for side in (-1.0, 1.0):  # right eye (-X), left eye (+X)
        target = np.array([head[0] + side * 0.13 * size, v[nose, 1] + 0.14 * size])
        cand = near_head & (np.linalg.norm(v[:, :2] - target, axis=1) < 0.06 * size)
        cand = cand if cand.any() else near_head
        out.append(int(np.flatnonzero(cand)[np.argmax(v[cand, 2])]))  # the front surface there
    for side in (-1.0, 1.0):  # right ear, left ear: the widest point at eye level, behind the face
        cand = near_head & (np.abs(v[:, 1] - (v[nose, 1] + 0.08 * size)) < 0.08 * size) \
            & (v[:, 2] < v[nose, 2] - 0.3 * size)
        cand = cand if cand.any() else near_head
        out.append(int(np.flatnonzero(cand)[np.argmax(side * v[cand, 0])]))
    return np.array(out)


def render_scene_to_mp4(scene: Scene, path: str | Path, **kwargs) -> tuple[Path, RenderResult]:
    """Render and write an H.264 MP4; returns the path and the frames."""
    result = render_scene(scene, **kwargs)
    return write_mp4(result.rgb, path, result.fps), result
