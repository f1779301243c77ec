"""Avatars over the video: how well a capture fits, seen at a glance.

The captured motions are rendered through the captured camera with the project's own
scene renderer (the same path a training clip's condition takes) and blended over the
video's frames at the same times; each person is labelled with their number (1, 2, ...:
person index + 1, as the app lists them).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from amg.errors import AmgError
from amg.scene import MIN_SIZE, SIZE_MULTIPLE

def render_size(width: int, height: int, max_side: int = 512) -> tuple[int, int]:
    """The render size nearest the video's aspect with legal sides (amg.scene.size_problem), at most `max_side`."""
    s = max_side / max(width, height)
    return tuple(max(MIN_SIZE, int(round(v * s / SIZE_MULTIPLE)) * SIZE_MULTIPLE) for v in (width, height))


def capture_scene(result, motion_file: str, camera_file: str, width: int, height: int,
                  avatars: list[dict] | None = None, background: str = "#000000"):
    """A Scene of the captured people (avatar specs optional) seen by the captured camera."""
    from amg.scene import Scene

    avatars = avatars or [{} for _ in range(result.num_people)]
    return Scene.model_validate({
        "name": "captured from video",
        "people": [{"id": f"person{p}", "avatar": avatars[p],
                    "motion": {"source": motion_file, "person": p, "loop": False}}
                   for p in range(result.num_people)],
        "camera": {"file": camera_file},
        "render": {"width": width, "height": height, "frames": len(result.times), "fps": result.fps,
                   "background": background, "floor": False},
    })


def overlay_frames(result, video: str | os.PathLike, max_side: int = 512, alpha: float = 0.65,
                   avatars: list[dict] | None = None, labels: bool = True,
                   progress=None) -> tuple[np.ndarray, np.ndarray]:
    """(T, H, W, 3) uint8 frames: the avatars blended over the video; and the avatar-only render."""
    import cv2

    from amg.render.scene_render import render_scene
    from amg.video import read_video

    w, h = render_size(result.width, result.height, max_side)
    with tempfile.TemporaryDirectory(prefix="amg-overlay-") as tmp:
        motion, camera = Path(tmp) / "motion.npz", Path(tmp) / "camera.json"
        result.save(motion, camera=camera)
        scene = capture_scene(result, str(motion), str(camera), w, h, avatars)
        rendered = render_scene(scene, progress=progress)
    frames, _ = read_video(video, times=result.times, max_side=max(w, h) * 2)
    frames = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])
    # a person is drawn only where they were seen or filled in (not where their pose is held)
    shown = rendered.masks & ~result.lost.T[:, :, None, None]    # (T, P, H, W)
    mask = shown.any(1)[..., None]                               # (T, H, W, 1)
    out = np.where(mask, (1 - alpha) * frames + alpha * rendered.rgb, frames).astype(np.uint8)
    if labels:
        sx, sy = w / result.width, h / result.height
        scale = 0.04 * h / 12
        for p in range(result.num_people):
            for i in range(len(out)):
                kp = result.keypoints[p, i]
                if not np.isfinite(kp[0, 0]):
                    continue
                x, y = int(kp[0, 0] * sx), int(max(kp[0, 1] * sy - 0.06 * h, 12))
                # white on a dark outline: readable over any footage
                for colour, width in (((0, 0, 0), 5), ((255, 255, 255), 2)):
                    cv2.putText(out[i], str(p + 1), (x - 6, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, width,
                                cv2.LINE_AA)
    return out, rendered.rgb


def render_overlay(result, video: str | os.PathLike, out: str | os.PathLike, max_side: int = 512,
                   avatars: list[dict] | None = None, progress=None) -> Path:
    """Write the overlay video (avatars over the footage, people numbered) as MP4."""
    from amg.video import write_mp4

    if not result.num_people:
        raise AmgError("nothing to overlay: the capture holds no people")
    frames, _ = overlay_frames(result, video, max_side=max_side, avatars=avatars, progress=progress)
    return write_mp4(frames, out, result.fps)
