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


def render_preview(scene: Scene, video_path: Path) -> Preview:
    """Render `scene` to an MP4 at `video_path` and sketch it from above."""
    from amg.render.video import write_mp4

    started = time.perf_counter()
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
