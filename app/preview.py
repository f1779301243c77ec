"""The live preview: the scene's condition video (engine render) and its top-down sketch."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from amg.errors import AmgError
from amg.scene import MIN_SIZE, SIZE_MULTIPLE, Scene
from app import engine
from app.sketch import draw_top_down

#: A preview's budget, whatever the scene asks for (the full scene is what `amg render` and
#: Generate make): it bounds the time a preview takes (posing 8 people costs ~0.1 s a frame).
#: Frames: a longer shot is previewed over its whole length at a lower frame rate. Pixels x
#: frames: a larger one is previewed smaller (aspect kept, multiples of 8). Memory is bounded
#: by design instead: frames are rendered a chunk at a time and streamed to the encoder
#: (amg.render.render_chunks), so nothing grows with the shot's length.
PREVIEW_MAX_FRAMES = 240
PREVIEW_PIXEL_FRAMES = 256 * 256 * 240

#: Sketch colours per person (the avatar's own colours would need the avatar built first).
PERSON_COLOURS = ["#2f6fd0", "#d04a3a", "#2f9a5a", "#c79a1e", "#8a4fc0", "#1a9aa0", "#b0507a", "#707070"]


def scene_joints(scene: Scene) -> np.ndarray:
    """amg.render.scene_joints(scene): (P, T, 22, 3) the people's joints, nothing rendered."""
    if not engine.has("render"):
        raise AmgError(engine.missing("render"))
    from amg.render import scene_joints as joints_of

    return joints_of(scene)


@dataclass
class Preview:
    video: Path
    sketch: Image.Image
    seconds: float
    first_frame: np.ndarray  # (H, W, 3) uint8


def preview_size(width: int, height: int, frames: int) -> tuple[int, int]:
    """The size a preview of `frames` frames renders at: the scene's, or smaller (multiples of 8,
    same aspect) so that width x height x frames <= PREVIEW_PIXEL_FRAMES."""
    scale = min(1.0, (PREVIEW_PIXEL_FRAMES / (width * height * frames)) ** 0.5)
    return tuple(max(MIN_SIZE, int(v * scale) // SIZE_MULTIPLE * SIZE_MULTIPLE) for v in (width, height))


def preview_scene(scene: Scene) -> Scene:
    """`scene`, or a copy whose render settings fit the preview budget (same duration)."""
    r = scene.render
    frames = min(r.frames, PREVIEW_MAX_FRAMES)
    width, height = preview_size(r.width, r.height, frames)
    if (frames, width, height) == (r.frames, r.width, r.height):
        return scene
    # the same seconds in fewer frames: the n-th preview frame shows time n / fps
    fps = max(1.0, r.fps * (frames - 1) / max(r.frames - 1, 1)) if frames < r.frames else r.fps
    settings = r.model_copy(update={"width": width, "height": height, "frames": frames, "fps": fps})
    base = scene._base_dir  # (relative motion and camera files resolve as before)
    scene = scene.model_copy(deep=True, update={"render": settings})
    scene._base_dir = base
    return scene


def render_preview(scene: Scene, video_path: Path) -> Preview:
    """Render `scene` to an MP4 at `video_path` (within the preview budget) and sketch it from above.
    Frames go to the encoder a chunk at a time: only the joints and cameras are kept for the sketch."""
    from amg.video import write_mp4

    started = time.perf_counter()
    scene = preview_scene(scene)
    if not engine.has("render"):
        raise AmgError(engine.missing("render"))
    from amg.render import render_chunks

    joints, cameras, first = [], [], []

    def frames():
        for part in render_chunks(scene):
            joints.append(part.joints)
            cameras.extend(part.cameras)
            if not first:
                first.append(part.rgb[0].copy())
            yield part.rgb

    write_mp4(frames(), video_path, scene.render.fps)
    sketch = sketch_of(scene, np.concatenate(joints, axis=1), cameras)
    return Preview(video_path, sketch, time.perf_counter() - started, first[0])


def sketch_of(scene: Scene, joints: np.ndarray, cameras) -> Image.Image:
    """joints: (P, T, 22, 3) world joints; cameras: one amg Camera per frame."""
    joints = np.asarray(joints)
    tracks = joints[:, :, 0, :][..., [0, 2]]  # pelvis on the floor, (P, T, 2)
    # facing at frame 0: perpendicular to the hip and shoulder lines (left - right), +Z at rest
    across = (joints[:, 0, 1] - joints[:, 0, 2]) + (joints[:, 0, 16] - joints[:, 0, 17])
    headings = np.degrees(np.arctan2(-across[:, 2], across[:, 0]))
    c2w = np.stack([c.c2w for c in cameras])
    return draw_top_down(tracks, [p.id for p in scene.people],
                         [PERSON_COLOURS[i % len(PERSON_COLOURS)] for i in range(len(scene.people))],
                         c2w[:, :3, 3], -c2w[:, :3, 2], headings=headings)
