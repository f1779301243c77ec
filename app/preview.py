"""The live preview: the scene's condition video (engine render) and its top-down sketch."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from amg.errors import AmgError
from amg.scene import Scene
from app import engine
from app.sketch import draw_top_down

#: Most pixels x frames one preview renders: its frame buffers (colour, depth, ids and a mask per
#: person, ~20 bytes a pixel-frame with 8 people) stay near 300 MB whatever the scene asks for.
#: A larger scene is previewed at a smaller size (its aspect and every frame kept); the full size
#: is what `amg render` and Generate use.
PREVIEW_PIXEL_FRAMES = 256 * 256 * 240

#: Sketch colours per person (the avatar's own colours would need the avatar built first).
PERSON_COLOURS = ["#2f6fd0", "#d04a3a", "#2f9a5a", "#c79a1e", "#8a4fc0", "#1a9aa0", "#b0507a", "#707070"]


def render_scene(scene: Scene):
    """amg.render.render_scene(scene) -> RenderResult (safe from any thread: the engine owns its GL thread)."""
    if not engine.has("render"):
        raise AmgError(engine.missing("render"))
    return engine.get("render")(scene)


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
    return (max(16, int(width * scale) // 8 * 8), max(16, int(height * scale) // 8 * 8))


def render_preview(scene: Scene, video_path: Path) -> Preview:
    """Render `scene` to an MP4 at `video_path` (within the preview budget) and sketch it from above."""
    from amg.render.video import write_mp4

    started = time.perf_counter()
    r = scene.render
    width, height = preview_size(r.width, r.height, r.frames)
    if (width, height) != (r.width, r.height):
        base = scene._base_dir  # (relative motion and camera files resolve as before)
        scene = scene.model_copy(deep=True, update={"render": r.model_copy(update={"width": width, "height": height})})
        scene._base_dir = base
    result = render_scene(scene)
    write_mp4(result.rgb, video_path, result.fps)
    sketch = sketch_of(scene, result.joints, result.cameras)
    return Preview(video_path, sketch, time.perf_counter() - started, result.rgb[0])


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
