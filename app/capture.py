"""Motion from a video, for the Motion tab: capture, keep the result in the session, show it.

The engine does the work (amg.capture); this keeps its files in the session folder, where
the scene can refer to them, and says what it found in a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from amg.errors import AmgError
from app import engine
from app.session import Session

VIDEO_TYPES = [".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"]


def unavailable() -> str | None:
    """Why motion from video cannot run here, or None."""
    if not engine.has("capture"):
        return engine.missing("capture")
    from amg.capture.models import pose_task_path

    if not pose_task_path().is_file():
        return (f"the pose model is not built yet ({pose_task_path()}): run `amg setup` once "
                "(it builds BlazePose's model files from the mediapipe 0.10.21 wheel)")
    return None


@dataclass
class Captured:
    name: str          # the motion's name in the session's uploads
    people: int
    overlay: Path      # the avatars over the video, people numbered 1, 2, ...
    camera: str        # the camera file, relative to the session folder
    summary: str


def capture_video(s: Session, video: Path, people: int, start: float, end: float | None, focal_mm: float | None,
                  progress=None) -> Captured:
    """Capture `video`'s people into the session (a multi-person motion + the camera) and draw
    the overlay. progress(fraction, message)."""
    from amg.capture import CaptureConfig, motion_from_video
    from amg.capture.overlay import render_overlay

    if video.suffix.lower() not in VIDEO_TYPES:
        raise AmgError(f"{video.name}: {video.suffix or 'no extension'} is not a video type; "
                       f"accepted: {', '.join(VIDEO_TYPES)}")
    say = progress or (lambda frac, msg: None)
    config = CaptureConfig(people=int(people), start=float(start or 0.0),
                           end=float(end) if end else None, focal_mm=float(focal_mm) if focal_mm else None)
    try:
        result = motion_from_video(video, config, progress=lambda msg, frac: say(0.85 * frac, msg))
    except AmgError as e:
        raise AmgError(str(e).replace(str(video), video.name)) from None
    stem = video.stem[:40] or "video"
    uploads = s.subdir("uploads")
    name, k = f"{stem}-capture.npz", 1
    while (uploads / name).exists():
        k += 1
        name = f"{stem}-capture-{k}.npz"
    camera = s.new_file("cameras", f"{stem}-camera", ".json")
    result.save(uploads / name, camera=camera)
    say(0.9, "drawing the avatars over the video")
    overlay = render_overlay(result, video, s.new_file("previews", f"{stem}-overlay", ".mp4"))
    with s.lock:
        s.motions[name] = f"uploads/{name}"
        s.motion_people[name] = result.num_people
    n = result.num_people
    notes = "".join(f"  \n- {note}" for note in result.notes)
    summary = (f"Captured **{n} {'person' if n == 1 else 'people'}** from **{video.name}**: "
               f"{len(result.times)} frames at {result.fps:g} fps from {result.times[0]:.2f} s, as **{name}**. "
               "The overlay numbers them; pick who drives which avatar below." + notes)
    return Captured(name, n, overlay, str(camera.relative_to(s.dir)), summary)
