"""Video files: reading through PyAV (the decoder's own timestamps), writing H.264 yuv420p MP4
through imageio-ffmpeg's bundled ffmpeg.

Every reader in AMG samples by presentation time, never by container fps x frame index: a
variable-frame-rate file, or one whose container rate disagrees with its frames, is then
sampled at the right moments (the frame on screen at time t is the last one whose timestamp
is <= t). Frames are decoded one at a time and only the sampled ones are kept, so a long 4K
file streams in bounded memory; `max_side` scales frames down inside the decoder.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from amg.errors import AmgError
from amg.files import atomic_path


def write_mp4(frames: np.ndarray | Iterator[np.ndarray], path: str | os.PathLike, fps: float, quality: int = 8,
              metadata: dict[str, str] | None = None) -> Path:
    """Write (T, H, W, 3) uint8 frames as H.264 yuv420p MP4 (plays in browsers). `frames` may
    also be an iterator of such arrays (chunks of one video, e.g. amg.render.render_chunks),
    each encoded as it comes: a long render then never holds all its frames at once.

    Written to a temporary name and renamed, so a failed or cancelled write never leaves
    a half-written file that looks like a good one. `metadata` goes into the MP4 tags
    (e.g. {"comment": "untrained weights"}).
    """
    chunks = frames if isinstance(frames, Iterator) else iter([frames])
    first = _check_frames(next(chunks, np.zeros((0, 1, 1, 3), np.uint8)))
    if len(first) == 0:
        raise AmgError("cannot write a video with no frames")
    with mp4_writer(path, fps, quality, metadata) as write:
        for chunk in itertools.chain([first], chunks):
            write(chunk)
    return Path(path)


@contextlib.contextmanager
def mp4_writer(path: str | os.PathLike, fps: float, quality: int = 8,
               metadata: dict[str, str] | None = None) -> Iterator[Callable[[np.ndarray], None]]:
    """`with mp4_writer(path, fps) as write: write(chunk); ...`: one MP4 (as write_mp4 writes it)
    fed chunk by chunk, (t, H, W, 3) uint8 each, so several videos can be written side by side
    from one stream of frames. Renamed into place when the block ends without an error."""
    import imageio_ffmpeg

    extra = ["-movflags", "+faststart"]
    for k, v in (metadata or {}).items():
        extra += ["-metadata", f"{k}={v}"]
    writer, size = None, None

    def write(chunk: np.ndarray) -> None:
        nonlocal writer, size
        chunk = _check_frames(chunk)
        if size is None:
            if not len(chunk):
                return
            size = chunk.shape[1:]
            h, w = size[:2]
            writer = imageio_ffmpeg.write_frames(
                str(tmp), (w, h), fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=quality,
                macro_block_size=1 if (w % 2 == 0 and h % 2 == 0) else 2, output_params=extra,
                ffmpeg_log_level="error",
            )
            writer.send(None)
        elif chunk.shape[1:] != size:
            raise AmgError(f"video frames must all be {size[1]}x{size[0]}, got {chunk.shape[2]}x{chunk.shape[1]}")
        for f in chunk:
            writer.send(np.ascontiguousarray(f))

    with atomic_path(path) as tmp:
        try:
            yield write
            if size is None:
                raise AmgError("cannot write a video with no frames")
        finally:
            if writer is not None:
                writer.close()


def _check_frames(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise AmgError(f"video frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    return frames


#: containers/codecs that hold a still picture, not a video
_IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif", "apng"}
_IMAGE_CODECS = {"mjpeg", "png", "webp", "bmp", "tiff", "gif", "jpegls", "jpeg2000"}


@dataclass
class VideoInfo:
    """What a video file says about itself (width/height as displayed, after rotation)."""

    path: Path
    width: int
    height: int
    fps: float            # average frame rate (container); sampling never relies on it
    duration: float       # seconds (0 when the container does not say)
    frames: int           # frame count the container reports (0 when unknown)
    rotation: int         # degrees the frames are turned for display
    codec: str


def _open(path: Path):
    import av

    if not path.is_file():
        raise AmgError(f"{path}: video file not found")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise AmgError(f"{path}: cannot read as a video ({_reason(e)})") from None
    if not container.streams.video:
        container.close()
        raise AmgError(f"{path}: holds no video stream")
    stream = container.streams.video[0]
    codec = stream.codec_context.name if stream.codec_context else ""
    if container.format.name.split(",")[0] in _IMAGE_FORMATS or (codec in _IMAGE_CODECS and (stream.frames or 0) <= 1):
        container.close()
        raise AmgError(f"{path}: is a still image, not a video (give a video file, e.g. MP4)")
    return container, stream


def _reason(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[-1] if text else type(e).__name__


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Size, rate, duration and rotation of a video file, without decoding it."""
    path = Path(path)
    container, stream = _open(path)
    with container:
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1e6
        else:
            duration = 0.0
        w, h = stream.codec_context.width, stream.codec_context.height
        rotation = 0
        try:
            first = next(container.decode(stream))
            rotation = int(round(getattr(first, "rotation", 0) or 0)) % 360
            w, h = first.width, first.height
        except StopIteration:
            raise AmgError(f"{path}: holds no video frames") from None
        except Exception as e:  # av.error.FFmpegError and decoder failures
            raise AmgError(f"{path}: cannot decode its first frame ({_reason(e)}); corrupt or truncated?") from None
    if rotation in (90, 270):
        w, h = h, w
    return VideoInfo(path, int(w), int(h), fps, max(duration, 0.0), int(stream.frames or 0), rotation,
                     stream.codec_context.name)


def _frame_array(frame, max_side: int | None) -> np.ndarray:
    w, h = frame.width, frame.height
    if max_side and max(w, h) > max_side:
        s = max_side / max(w, h)
        w, h = max(2, round(w * s)), max(2, round(h * s))
        frame = frame.reformat(width=w, height=h, format="rgb24")
        img = frame.to_ndarray()
    else:
        img = frame.to_ndarray(format="rgb24")
    k = int(round((getattr(frame, "rotation", 0) or 0) / 90)) % 4
    if k:
        img = np.rot90(img, k)
    # decoders pad rows; downstream code (and mediapipe) needs contiguous frames
    return np.ascontiguousarray(img)


def iter_frames(path: str | os.PathLike, times: np.ndarray | None = None, start: float = 0.0,
                end: float | None = None, fps: float | None = None,
                max_side: int | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """Stream (time in seconds, (H, W, 3) uint8 frame) pairs, time 0 = the first frame.

    times: sample exactly these times (increasing); a time past the video's end is an error.
    fps:   else sample every 1/fps seconds from `start` to `end` (or the end of the video).
    Neither: every decoded frame from `start` to `end`, with its own timestamp (VFR kept).
    Each sample is the frame on screen at that time. `max_side` scales frames down in the
    decoder (a 4K file then costs no more memory than a small one).
    """
    import av

    path = Path(path)
    if times is not None:
        times = np.asarray(times, dtype=np.float64)
        if times.ndim != 1 or not len(times) or not np.all(np.isfinite(times)) or np.any(np.diff(times) < 0):
            raise AmgError(f"{path}: sample times must be finite and increasing")
        start = float(times[0])
    for name, value in (("start", start), ("end", end), ("fps", fps)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise AmgError(f"{path}: {name} must be a finite number >= 0, got {value}")
    if fps is not None and fps <= 0:
        raise AmgError(f"{path}: sampling fps must be > 0, got {fps}")
    if end is not None and end <= start:
        raise AmgError(f"{path}: end {end} s must come after start {start} s")
    container, stream = _open(path)
    stream.thread_type = "AUTO"
    tb = float(stream.time_base) if stream.time_base else 0.0
    origin = float(stream.start_time * stream.time_base) if stream.start_time is not None and tb else 0.0
    rate = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
    step = 1.0 / fps if fps else 0.0
    next_index = 0                  # index of the next wanted sample (times / fps grids)
    prev: tuple[float, object] | None = None   # the last decoded frame and its time
    count, last_time = 0, -1.0

    yielded = [0]

    def out(t: float, frame) -> tuple[float, np.ndarray]:
        yielded[0] += 1
        return t, _frame_array(frame, max_side)

    def wanted(i: int) -> float | None:
        if times is not None:
            return float(times[i]) if i < len(times) else None
        t = start + i * step
        return t if end is None or t < end - 1e-9 else None

    try:
        with container:
            if start > 1.0:
                # jump near the start (to the keyframe before it) instead of decoding everything before
                container.seek(int((start + origin) / tb) if tb else int(start * 1e6), stream=stream if tb else None,
                               backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is not None and tb:
                    t = float(frame.pts * tb) - origin
                elif frame.time is not None:
                    t = float(frame.time) - origin
                else:
                    t = count / rate
                count += 1
                if t <= last_time:  # a duplicated or out-of-order timestamp: keep the first
                    continue
                last_time = t
                if times is None and fps is None:
                    if t < start - 1e-6:
                        continue
                    if end is not None and t >= end:
                        break
                    yield out(t, frame)
                    continue
                # the frame on screen at time w is the last one with timestamp <= w
                w = wanted(next_index)
                while w is not None and t > w + 1e-6:
                    if prev is None:
                        if w < t - 1.0 / rate - 1e-6:
                            raise AmgError(f"{path}: no frame at {w:.3f} s (the video's first frame is at {t:.3f} s)")
                        prev = (t, frame)  # the sample falls just before the first frame: use it
                    yield out(w, prev[1])
                    next_index += 1
                    w = wanted(next_index)
                if w is None:
                    break
                prev = (t, frame)
            else:
                # end of stream: the last frame stays on screen for one frame duration
                w = wanted(next_index) if (times is not None or fps is not None) else None
                while w is not None and prev is not None:
                    dur = float(prev[1].duration * tb) if getattr(prev[1], "duration", None) and tb else 1.0 / rate
                    if w >= prev[0] + max(dur, 1e-3) - 1e-6:  # past the last frame's display time
                        break
                    yield out(w, prev[1])
                    next_index += 1
                    w = wanted(next_index)
                if times is not None and w is not None:
                    decoded = f"{prev[0] + 1.0 / rate:.2f} s long" if prev is not None else "holds no frames"
                    raise AmgError(f"{path}: {decoded} (as far as it decodes); frames up to {times[-1]:.2f} s "
                                   "are needed (ask for an earlier start or a shorter clip; or the file is truncated)")
            if not yielded[0]:
                if count == 0:
                    raise AmgError(f"{path}: holds no video frames")
                raise AmgError(f"{path}: start {start:.2f} s is past the end of the video (last frame at "
                               f"{last_time:.2f} s)")
    except av.error.FFmpegError as e:
        raise AmgError(f"{path}: cannot decode the video after {max(last_time, 0):.2f} s ({_reason(e)}); "
                       "corrupt or truncated?") from None


def read_video(path: str | os.PathLike, times: np.ndarray | None = None,
               max_side: int | None = None) -> tuple[np.ndarray, float]:
    """(T, H, W, 3) uint8 frames and the average fps of a video file.

    With `times` (seconds, increasing), only the frame on screen at each time is kept and
    reading stops after the last one, so a long video never sits in memory whole.
    """
    path = Path(path)
    info = probe_video(path)
    frames = [f for _, f in iter_frames(path, times=times, max_side=max_side)]
    if not frames:
        raise AmgError(f"{path}: holds no video frames")
    return np.stack(frames), info.fps
