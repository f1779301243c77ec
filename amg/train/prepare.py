"""Preprocessing: a video of people and their motion -> a training clip.

The paper fits SMPL bodies to its training videos with TRACE and renders avatars from
them. AMG Studio ships no pose estimator (none whose weights may ship); it reads what
estimators write (TRACE, ROMP, 4D-Humans, GVHMR, WHAM: amg.motion.formats) and can run
one as an external command. A clip is then:

1. the footage from `start`, sampled at the dataset's fps (only those frames are decoded
   and kept), centre-cropped to its aspect and resized to its size (frames the video lacks
   are an error, not padding);
2. the condition: a Scene with one person per motion, rendered at the same size, frame
   count and fps from the given camera (a preset or a camera file: use the camera your
   estimator reports, so the avatars overlay the people);
3. the caption.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from amg.errors import AmgError
from amg.train.dataset import Clip, TrainingData


@dataclass
class PrepareConfig:
    start: float = 0.0            # seconds into the video where the clip begins
    camera: str = "static"        # a camera preset name, or a camera file (amg camera import formats)
    person_prompts: tuple[str, ...] = ()  # avatar prompt per person (default: neutral avatars)
    background: str = "#000000"


def crop_resize(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, H, W, 3) frames centre-cropped to width:height and resized to it."""
    import cv2

    t, h, w = frames.shape[:3]
    scale = max(width / w, height / h)
    cw, ch = round(width / scale), round(height / scale)
    top, left = (h - ch) // 2, (w - cw) // 2
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f[top:top + ch, left:left + cw], (width, height), interpolation=interp)
                     for f in frames])


def estimate_motion(video: str | os.PathLike, command: str, timeout: float = 3600.0) -> Path:
    """Run an external pose estimator: `command` (no shell) with {video} and {out}; it must
    write a motion file (.npz/.npy/.bvh) to {out}. Returns a copy the caller owns."""
    from amg.external import run_command

    with tempfile.TemporaryDirectory(prefix="amg-pose-") as tmp:
        out = Path(tmp) / "motion.npz"
        run_command(command, "pose estimator", timeout, video=Path(video).resolve(), out=out)
        written = [p for p in (out, out.with_suffix(".npy"), out.with_suffix(".bvh")) if p.exists()]
        if not written:
            raise AmgError(f"pose estimator command wrote no motion file at {out}")
        keep = Path(tempfile.mkdtemp(prefix="amg-motion-")) / written[0].name
        shutil.move(written[0], keep)
        return keep


def prepare_clip(data: TrainingData, video: str | os.PathLike, motion: str | os.PathLike, caption: str,
                 config: PrepareConfig | None = None, clip_id: str | None = None,
                 progress: Callable[[str], None] | None = None) -> Clip:
    """Add one clip to `data` from `video`, the motion of the people in it (a motion file, or
    a preset name for synthetic pairs), and `caption`."""
    from amg.motion.library import load_source
    from amg.render.scene_render import render_scene
    from amg.render.video import read_video, write_mp4

    config = config or PrepareConfig()
    video = Path(video)
    caption = " ".join((caption or "").split())
    if not caption:
        raise AmgError(f"{video.name}: a training clip needs a caption (what the video shows)")
    clip = Clip(id=clip_id or data.new_id(video.stem), caption=caption, source=str(video), motion=str(motion))
    folder = clip.folder(data.root)
    if folder.exists():
        raise AmgError(f"{folder}: a clip folder of that name exists already; choose another clip id")
    people = len(load_source(str(Path(motion).resolve()) if Path(motion).is_file() else str(motion)))
    say = progress or (lambda msg: None)
    say(f"reading {video.name}")
    frames, _ = read_video(video, times=config.start + np.arange(data.frames) / data.fps)
    clip_frames = crop_resize(frames, data.width, data.height)
    # Written in a hidden folder, renamed into clips/ when complete: a failure leaves no half clip.
    work = Path(tempfile.mkdtemp(dir=data.root, prefix=".partial-"))
    try:
        source, camera = str(motion), config.camera
        # the clip keeps its own copies of the motion and camera files: it stays whole when moved
        if Path(motion).is_file():
            source = f"motion{Path(motion).suffix.lower()}"
            shutil.copyfile(motion, work / source)
        if Path(camera).is_file():
            camera = f"camera{Path(camera).suffix.lower()}"
            shutil.copyfile(config.camera, work / camera)
        scene = _clip_scene(data, clip, source, camera, people, config, work)
        say(f"rendering the avatars of {Path(str(motion)).name}")
        condition = render_scene(scene).rgb
        say("writing the clip")
        write_mp4(clip_frames, work / "video.mp4", data.fps)
        write_mp4(condition, work / "condition.mp4", data.fps)
        scene.save(work / "scene.json")
        folder.parent.mkdir(parents=True, exist_ok=True)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    data.add(clip)
    return clip


def _clip_scene(data: TrainingData, clip: Clip, source: str, camera: str, people: int, config: PrepareConfig,
                folder: Path):
    """The scene of a clip: `people` people performing `source`, seen by `camera` (a preset, or a
    file in `folder`), at the clip's size."""
    from amg.scene import Scene

    prompts = list(config.person_prompts) + [""] * people
    camera = {"file": camera} if (folder / camera).is_file() else {"preset": camera}
    scene = Scene.model_validate({
        "name": f"training clip {clip.id}",
        "people": [{"id": f"person{p + 1}", "avatar": {"prompt": prompts[p]},
                    "motion": {"source": source, "person": p, "loop": False}} for p in range(people)],
        "camera": camera, "prompt": clip.caption,
        "render": {"width": data.width, "height": data.height, "frames": data.frames, "fps": data.fps,
                   "background": config.background, "floor": False},
    })
    scene._base_dir = folder
    return scene
