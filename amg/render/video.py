"""Video files: H.264 yuv420p MP4 through imageio-ffmpeg's bundled ffmpeg."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from amg.errors import AmgError
from amg.files import atomic_path


def write_mp4(frames: np.ndarray, path: str | os.PathLike, fps: float, quality: int = 8,
              metadata: dict[str, str] | None = None) -> Path:
    """Write (T, H, W, 3) uint8 frames as H.264 yuv420p MP4 (plays in browsers).

    Written to a temporary name and renamed, so a failed or cancelled write never leaves
    a half-written file that looks like a good one. `metadata` goes into the MP4 tags
    (e.g. {"comment": "untrained weights"}).
    """
    import imageio_ffmpeg

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise AmgError(f"video frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    if len(frames) == 0:
        raise AmgError("cannot write a video with no frames")
    path = Path(path)
    h, w = frames.shape[1:3]
    extra = ["-movflags", "+faststart"]
    for k, v in (metadata or {}).items():
        extra += ["-metadata", f"{k}={v}"]
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (w, h), fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=quality,
            macro_block_size=1 if (w % 2 == 0 and h % 2 == 0) else 2, output_params=extra,
            ffmpeg_log_level="error",
        )
        try:
            writer.send(None)
            for f in frames:
                writer.send(np.ascontiguousarray(f))
        finally:
            writer.close()
    return path


def read_video(path: str | os.PathLike, times: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """(T, H, W, 3) uint8 frames and the fps of a video file.

    With `times` (seconds, increasing), only the frame nearest each time is kept and reading
    stops after the last one, so a long video never sits in memory whole.
    """
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise AmgError(f"{path}: video file not found")
    try:
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        meta = next(reader)
        w, h = meta["size"]
        fps = float(meta.get("fps") or 0.0)
        if times is None:
            frames = [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in reader]
        else:
            wanted = np.round(np.asarray(times, dtype=np.float64) * fps).astype(int)
            keep, read, wanted_set = {}, 0, set(wanted.tolist())
            for i, b in enumerate(reader):
                read = i + 1
                if i in wanted_set:
                    keep[i] = np.frombuffer(b, np.uint8).reshape(h, w, 3)
                if i >= wanted[-1]:
                    break
            reader.close()
            if wanted[-1] >= read:
                raise AmgError(f"{path}: {read / fps:.2f} s long; frames up to {times[-1]:.2f} s are needed "
                               "(ask for an earlier start or a shorter clip)")
            frames = [keep[i] for i in wanted]
    except (RuntimeError, OSError, StopIteration, ValueError) as e:
        raise AmgError(f"{path}: cannot read as a video ({str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__})") from None
    if not frames:
        raise AmgError(f"{path}: holds no video frames")
    return np.stack(frames), fps
