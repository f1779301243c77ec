"""Preprocessing: a video of people (and optionally their motion) -> a training clip.

The paper fits SMPL bodies to its training videos with TRACE, captions them with LLaVA and
renders avatars from them. With no motion given, AMG captures every person of the clip
itself (amg.capture: BlazePose, offline), with the camera, and gives each avatar the
person's own colours; captions come from the user or an external captioning command. It
also reads what other estimators write (TRACE, ROMP, 4D-Humans, GVHMR, WHAM:
amg.motion.formats) and can run one as an external command. A clip is then:

1. the footage from `start`, sampled at the dataset's fps (only those frames are decoded
   and kept), centre-cropped to its aspect and resized to its size (frames the video lacks
   are an error, not padding);
2. the condition: a Scene with one person per motion, rendered at the same size, frame
   count and fps from the given camera (a preset or a camera file: use the camera your
   estimator reports, so the avatars overlay the people; a capture's own camera otherwise);
3. the caption.

A folder of videos is cut into consecutive clips (`prepare_folder`); a clip where a person
is lost (not seen, not fillable) is dropped, as in the paper, and the reason logged.
Re-running skips clips already added or dropped, so an interrupted run resumes. Its clips
can be made by a pool of worker processes (`workers`): each writes its clip's folder, and
the calling process alone records them in the index and the log, in order.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from amg.errors import AmgError
from amg.train.dataset import _ID, Clip, TrainingData

#: files a folder of videos is searched for
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")
#: the log of a folder preparation, in the dataset folder (one JSON object a line)
LOG_NAME = "prepare_log.jsonl"


@dataclass
class PrepareConfig:
    start: float = 0.0            # seconds into the video where the clip begins
    camera: str = "static"        # a camera preset name, or a camera file (amg camera import formats)
    person_prompts: tuple[str, ...] = ()  # avatar prompt per person (default: neutral avatars)
    background: str = "#000000"
    max_people: int = 4           # captured from the video (no motion given): follow up to this many people
    focal_mm: float | None = None  # captured: the camera's 35 mm-equivalent focal length (None: assumed)
    captioner: str | None = None  # external captioning command with {video} {frame} {out} (see caption_with_command)


def check_start(start: float, where: str) -> float:
    try:
        start = float(start)
    except (TypeError, ValueError):
        raise AmgError(f"{where}: start must be a number of seconds, got {start!r}") from None
    if not (math.isfinite(start) and start >= 0):
        raise AmgError(f"{where}: start must be a finite time in seconds >= 0, got {start}")
    return start


def caption_with_command(command: str, video: str | os.PathLike, frame: np.ndarray, timeout: float = 600.0) -> str:
    """A caption from an external captioner (e.g. a LLaVA script): `command` (no shell) with
    {video} (the source video), {frame} (a PNG of the key frame, or of one person) and {out}
    (a text file it writes the caption to)."""
    from PIL import Image

    from amg.external import run_command
    from amg.files import read_text

    with tempfile.TemporaryDirectory(prefix="amg-caption-") as tmp:
        png, out = Path(tmp) / "frame.png", Path(tmp) / "caption.txt"
        Image.fromarray(frame).save(png)
        run_command(command, "captioning", timeout, video=Path(video).resolve(), frame=png, out=out)
        if not out.is_file():
            raise AmgError(f"captioning command wrote no caption at {out}")
        text = " ".join(read_text(out, "caption").split())
    if not text:
        raise AmgError("captioning command wrote an empty caption")
    return text[:1000]


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


def prepare_clip(data: TrainingData, video: str | os.PathLike, motion: str | os.PathLike | None, caption: str,
                 config: PrepareConfig | None = None, clip_id: str | None = None,
                 progress: Callable[[str], None] | None = None) -> Clip:
    """Add one clip to `data` from `video`, the motion of the people in it (a motion file, a
    preset name for synthetic pairs, or None: captured from the video itself), and `caption`
    (may be empty when `config.captioner` is set)."""
    clip = make_clip(data, video, motion, caption, config, clip_id, progress)
    data.add(clip)
    return clip


def make_clip(data: TrainingData, video: str | os.PathLike, motion: str | os.PathLike | None, caption: str,
              config: PrepareConfig | None = None, clip_id: str | None = None,
              progress: Callable[[str], None] | None = None) -> Clip:
    """Write a clip's folder (as prepare_clip) without adding it to the index: what a worker
    process of a folder preparation does (the parent alone writes the index)."""
    from amg.motion.library import load_source
    from amg.render.scene_render import render_scene
    from amg.video import read_video, write_mp4

    config = config or PrepareConfig()
    video = Path(video)
    start = check_start(config.start, video.name)
    caption = " ".join((caption or "").split())
    if not caption and not config.captioner:
        raise AmgError(f"{video.name}: a training clip needs a caption (what the video shows), or a captioning command")
    if clip_id is not None and not _ID.match(clip_id):
        raise AmgError(f"clip id {clip_id!r}: must be 1-64 letters, digits, - or _ (it names a folder in the dataset)")
    clip_id = clip_id or data.new_id(video.stem)
    folder = Clip(id=clip_id, caption="").folder(data.root)
    if folder.exists() or any(c.id == clip_id for c in data.clips):
        raise AmgError(f"{folder}: a clip folder of that name exists already; choose another clip id")
    say = progress or (lambda msg: None)
    capture = None
    if motion is None:
        capture = _capture_clip(data, video, start, config, say)
        times = capture.times
        people = capture.num_people
    else:
        people = len(load_source(str(Path(motion).resolve()) if Path(motion).is_file() else str(motion)))
        times = start + np.arange(data.frames) / data.fps
    say(f"reading {video.name}")
    frames, _ = read_video(video, times=times, max_side=max(640, 2 * max(data.width, data.height)))
    clip_frames = crop_resize(frames, data.width, data.height)
    prompts = list(config.person_prompts)
    avatars = None
    if capture is not None:
        avatars, prompts, caption = _captured_avatars(capture, frames, video, caption, config, say)
    clip = Clip(id=clip_id, caption=caption, source=str(video),
                motion=str(motion) if motion is not None else "captured from the video")
    # Written in a hidden folder, renamed into clips/ when complete: a failure leaves no half clip.
    work = Path(tempfile.mkdtemp(dir=data.root, prefix=".partial-"))
    try:
        source, camera = (str(motion) if motion is not None else ""), config.camera
        # the clip keeps its own copies of the motion and camera files: it stays whole when moved
        if capture is not None:
            source, camera = "motion.npz", "camera.json"
            capture.save(work / source)
            _save_crop_camera(capture, data, work / camera)
        else:
            if Path(motion).is_file():
                source = f"motion{Path(motion).suffix.lower()}"
                shutil.copyfile(motion, work / source)
            if Path(camera).is_file():
                camera = f"camera{Path(camera).suffix.lower()}"
                shutil.copyfile(config.camera, work / camera)
        scene = _clip_scene(data, clip, source, camera, people, replace(config, person_prompts=tuple(prompts)), work,
                            avatars=avatars)
        say(f"rendering the avatars of {Path(str(motion)).name if motion is not None else 'the captured people'}")
        condition = render_scene(scene).rgb
        say("writing the clip")
        write_mp4(clip_frames, work / "video.mp4", data.fps)
        write_mp4(condition, work / "condition.mp4", data.fps)
        if capture is not None:
            # the avatars over the footage, for judging the fit before training
            lit = condition.max(-1, keepdims=True) > 8
            overlay = np.where(lit, 0.35 * clip_frames + 0.65 * condition, clip_frames).astype(np.uint8)
            write_mp4(overlay, work / "overlay.mp4", data.fps)
        scene.save(work / "scene.json")
        folder.parent.mkdir(parents=True, exist_ok=True)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return clip


def _capture_clip(data: TrainingData, video: Path, start: float, config: PrepareConfig, say):
    """Every person of the clip's stretch of `video`, captured at the dataset's fps; a person
    lost in it (neither seen nor fillable) drops the clip, as in the paper."""
    from amg.capture import CaptureConfig, motion_from_video

    say(f"capturing the people of {video.name}")
    end = start + data.frames / data.fps
    capture = motion_from_video(video, CaptureConfig(people=config.max_people, start=start, end=end, fps=data.fps,
                                                     focal_mm=config.focal_mm),
                                progress=lambda msg, frac: None)
    if len(capture.times) < data.frames:
        have = len(capture.times) / data.fps
        raise AmgError(f"{video}: only {have:.2f} s of video from {start:g} s; a clip needs "
                       f"{data.frames / data.fps:.2f} s (ask for an earlier start)")
    for p in range(capture.num_people):
        if capture.lost[p].any():
            raise AmgError(f"{video}: person {p + 1} is lost for {int(capture.lost[p].sum())} of {data.frames} frames "
                           "(out of view or hidden too long); such clips are dropped")
    return capture


def _captured_avatars(capture, frames: np.ndarray, video: Path, caption: str, config: PrepareConfig, say):
    """Avatar specs with each person's colours (and prompt from the captioner, if any), and
    the caption (the user's, else the captioner's on the middle frame)."""
    from amg.capture.appearance import person_colours

    sx = frames.shape[2] / capture.width
    kp = capture.keypoints.copy()
    kp[..., :2] *= sx
    prompts = list(config.person_prompts)
    if config.captioner:
        mid = len(frames) // 2
        if not caption:
            say("captioning the clip")
            caption = caption_with_command(config.captioner, video, frames[mid])
        for p in range(len(prompts), capture.num_people):
            crop = _person_crop(frames, kp[p])
            say(f"describing person {p + 1}")
            prompts.append(caption_with_command(config.captioner, video, crop) if crop is not None else "")
    avatars = []
    for p in range(capture.num_people):
        avatars.append({"prompt": prompts[p] if p < len(prompts) else "", "colors": person_colours(frames, kp[p])})
    return avatars, prompts, caption


def _person_crop(frames: np.ndarray, kp: np.ndarray) -> np.ndarray | None:
    """The key frame of one person (where they are most visible), cropped to them with a margin."""
    seen = np.flatnonzero(np.isfinite(kp[:, 0, 0]))
    if not len(seen):
        return None
    i = seen[np.argmax(np.nan_to_num(kp[seen][:, :, 2]).mean(1))]
    h, w = frames.shape[1:3]
    lo, hi = kp[i, :, :2].min(0), kp[i, :, :2].max(0)
    pad = 0.15 * (hi - lo).max()
    x0, y0 = np.clip(lo - pad, 0, [w - 1, h - 1]).astype(int)
    x1, y1 = np.clip(hi + pad, 0, [w - 1, h - 1]).astype(int)
    return np.ascontiguousarray(frames[i, y0:y1 + 1, x0:x1 + 1]) if x1 > x0 and y1 > y0 else None


def _save_crop_camera(capture, data: TrainingData, path: Path) -> None:
    """The captured camera, narrowed to the centre crop the clip's footage is cut to."""
    from amg.camera.camera import fov_from_focal
    from amg.camera.formats import save_camera_path

    scale = max(data.width / capture.width, data.height / capture.height)
    crop_h = data.height / scale
    camera = capture.camera
    fov = fov_from_focal(capture.focal_px, crop_h)
    keys = [replace(k, fov_y_deg=fov) for k in camera.keyframes]
    save_camera_path(replace(camera, keyframes=keys, aspect=data.width / data.height), path)


def prepare_folder(data: TrainingData, folder: str | os.PathLike, caption: str, config: PrepareConfig | None = None,
                   progress: Callable[[str], None] | None = None, workers: int = 1) -> tuple[list[Clip], list[dict]]:
    """Cut every video of `folder` into consecutive clips of the dataset's length and add
    them. A clip that cannot be made (a person lost, nobody in it, unreadable) is dropped
    with its reason in DATASET/prepare_log.jsonl; clips already added or dropped are
    skipped, so running it again resumes. `workers` > 1 makes the clips in a pool of that
    many processes (each clip's capture and rendering is independent); this process alone
    writes the index and the log, in the clips' order. Returns (added clips, dropped log entries)."""
    from amg.video import probe_video

    config = config or PrepareConfig()
    if not isinstance(workers, int) or workers < 1:
        raise AmgError(f"workers must be a whole number of processes, 1 or more, got {workers!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise AmgError(f"{folder}: not a folder of videos")
    videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    if not videos:
        raise AmgError(f"{folder}: holds no videos ({', '.join(VIDEO_SUFFIXES)})")
    say = progress or (lambda msg: None)
    log_path = data.root / LOG_NAME
    done = {}
    if log_path.is_file():
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
                done[entry["clip"]] = entry
            except (ValueError, KeyError, TypeError):
                continue  # a line cut by an interruption
    done.update({c.id: {"clip": c.id, "status": "added"} for c in data.clips})
    length = data.frames / data.fps
    added, dropped = [], []

    def log(entry: dict) -> None:
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    todo = []  # (clip id, video, start) still to make, in order
    for video in videos:
        base = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in video.stem)[:56] or "clip"
        try:
            duration = probe_video(video).duration
        except AmgError as e:
            entry = {"clip": f"{base}_000", "video": str(video), "start": 0.0, "status": "dropped", "reason": str(e)}
            if entry["clip"] not in done:
                log(entry)
                dropped.append(entry)
            continue
        k = 0
        while (start := config.start + k * length) + length <= duration + 1e-6:
            clip_id = f"{base}_{k:03d}"
            k += 1
            if clip_id in done:
                continue
            orphan = Clip(id=clip_id, caption="").folder(data.root)
            if orphan.exists():  # written by a run stopped before it reached the index: made again
                shutil.rmtree(orphan)
            todo.append((clip_id, video, start))

    def finish(clip_id: str, video: Path, start: float, clip: Clip | None, error: str | None) -> None:
        if clip is None:
            entry = {"clip": clip_id, "video": str(video), "start": start, "status": "dropped", "reason": error}
            log(entry)
            dropped.append(entry)
            say(f"{clip_id}: dropped ({error})")
            return
        data.add(clip)
        log({"clip": clip_id, "video": str(video), "start": start, "status": "added"})
        added.append(clip)

    if workers == 1 or len(todo) <= 1:
        for clip_id, video, start in todo:
            say(f"{clip_id}: {video.name} from {start:.2f} s")
            clip, error = _make_one(data, video, caption, replace(config, start=start), clip_id,
                                    lambda msg, c=clip_id: say(f"{c}: {msg}"))
            finish(clip_id, video, start, clip, error)
        return added, dropped

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    say(f"{len(todo)} clip(s) to make in {min(workers, len(todo))} worker processes")
    # spawn, not fork: the parent may hold threads, an EGL context or torch's thread pool
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_make_one, data, video, caption, replace(config, start=start), clip_id)
                   for clip_id, video, start in todo]
        for (clip_id, video, start), future in zip(todo, futures):  # recorded in the clips' order
            clip, error = future.result()
            say(f"{clip_id}: {'made' if clip else 'dropped'} ({video.name} from {start:.2f} s)")
            finish(clip_id, video, start, clip, error)
    return added, dropped


def _make_one(data: TrainingData, video: Path, caption: str, config: PrepareConfig, clip_id: str,
              progress: Callable[[str], None] | None = None) -> tuple[Clip | None, str | None]:
    """(clip, None), or (None, why it was dropped): one clip of a folder preparation (also in a worker)."""
    try:
        return make_clip(data, video, None, caption, config, clip_id=clip_id, progress=progress), None
    except AmgError as e:
        return None, str(e)


def _clip_scene(data: TrainingData, clip: Clip, source: str, camera: str, people: int, config: PrepareConfig,
                folder: Path, avatars: list[dict] | None = None):
    """The scene of a clip: `people` people performing `source`, seen by `camera` (a preset, or a
    file in `folder`), at the clip's size; `avatars` (specs) default to the prompts'."""
    from amg.scene import Scene

    prompts = list(config.person_prompts) + [""] * people
    camera = {"file": camera} if (folder / camera).is_file() else {"preset": camera}
    scene = Scene.model_validate({
        "name": f"training clip {clip.id}",
        "people": [{"id": f"person{p + 1}", "avatar": avatars[p] if avatars else {"prompt": prompts[p]},
                    "motion": {"source": source, "person": p, "loop": False}} for p in range(people)],
        "camera": camera, "prompt": clip.caption,
        "render": {"width": data.width, "height": data.height, "frames": data.frames, "fps": data.fps,
                   "background": config.background, "floor": False},
    })
    scene._base_dir = folder
    return scene
