"""Loading a (generated, reference) pair of videos and making them comparable.

Frames must correspond one to one: different frame counts are refused unless resampling
is asked for; different sizes of the same aspect ratio are resized to the reference's,
different aspect ratios are refused. Every change made is recorded in `notes`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from amg.errors import AmgError

@dataclass
class VideoPair:
    """generated, reference: (T, H, W, 3) uint8 with the same T, H, W."""

    generated: np.ndarray
    reference: np.ndarray
    frames_generated: int  # as given, before any resampling
    frames_reference: int
    notes: list[str] = field(default_factory=list)


def load_frames(video, name: str) -> np.ndarray:
    """(T, H, W, 3) uint8 frames from a path or an array; `name` goes into error messages."""
    return _load(video, name)[0]


def _load(video, name: str) -> tuple[np.ndarray, float | None]:
    """Frames and frame rate (None for an array: it has no clock)."""
    if isinstance(video, (str, os.PathLike)):
        from amg.video import read_video

        frames, fps = read_video(video)
        return frames, (fps if fps and np.isfinite(fps) and fps > 0 else None)
    frames = np.asarray(video)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise AmgError(f"{name}: frames must be (T, H, W, 3), got shape {frames.shape}")
    if len(frames) == 0 or frames.shape[1] == 0 or frames.shape[2] == 0:
        raise AmgError(f"{name}: holds no video frames")
    if frames.dtype != np.uint8:
        raise AmgError(f"{name}: frames must be uint8, got {frames.dtype}")
    return frames, None


def resample_frames(frames: np.ndarray, count: int) -> np.ndarray:
    """`count` frames picked evenly over the clip's length (first and last kept)."""
    idx = np.round(np.linspace(0, len(frames) - 1, count)).astype(int)
    return frames[idx]


def resize_frames(frames: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    h, w = size_hw
    if frames.shape[1:3] == (h, w):
        return frames
    interp = cv2.INTER_AREA if h * w < frames.shape[1] * frames.shape[2] else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in frames])


def prepare_pair(generated, reference, resample: bool = False, max_side: int | None = 512,
                 min_frames: int = 2) -> VideoPair:
    """Read both videos and bring them to one frame count and one size.

    resample: when frame counts differ, pick frames of the longer one evenly to match the
    shorter (they must cover the same span of time); otherwise that is refused.
    max_side: scale both down so the longer image side is at most this (None: keep).
    """
    gen, fps_gen = _load(generated, "generated video")
    ref, fps_ref = _load(reference, "reference video")
    notes: list[str] = []
    for name, frames in (("generated video", gen), ("reference video", ref)):
        if len(frames) < min_frames:
            raise AmgError(f"{name}: has {len(frames)} frame(s); motion needs at least {min_frames}")
    n_gen, n_ref = len(gen), len(ref)
    if n_gen != n_ref:
        if not resample:
            raise AmgError(f"generated video has {n_gen} frames but the reference has {n_ref}: frames must "
                           "correspond one to one (ask to resample if both cover the same time span)")
        if fps_gen and fps_ref:  # resampling pairs frames of one time span, never two different ones
            t_gen, t_ref = n_gen / fps_gen, n_ref / fps_ref
            if abs(t_gen - t_ref) > max(1.5 / min(fps_gen, fps_ref), 0.02 * max(t_gen, t_ref)):
                raise AmgError(f"generated video lasts {t_gen:.2f} s but the reference {t_ref:.2f} s: resampling "
                               "only matches frame rates of the same span of time; trim one to the other's length")
        count = min(n_gen, n_ref)
        if n_gen > count:
            gen = resample_frames(gen, count)
        else:
            ref = resample_frames(ref, count)
        notes.append(f"resampled the {'generated' if n_gen > count else 'reference'} video to {count} frames")
    (hg, wg), (hr, wr) = gen.shape[1:3], ref.shape[1:3]
    if (hg, wg) != (hr, wr):
        if abs(wg / hg - wr / hr) > 0.02 * (wr / hr):
            raise AmgError(f"generated video is {wg}x{hg} but the reference is {wr}x{hr}: different aspect "
                           "ratios cannot be compared point for point; crop one to match the other")
        gen = resize_frames(gen, (hr, wr))
        notes.append(f"resized the generated video from {wg}x{hg} to the reference's {wr}x{hr}")
    h, w = ref.shape[1:3]
    if max_side and max(h, w) > max_side:
        scale = max_side / max(h, w)
        size = (max(2, round(h * scale)), max(2, round(w * scale)))
        gen, ref = resize_frames(gen, size), resize_frames(ref, size)
        notes.append(f"tracked at {size[1]}x{size[0]} (scaled from {w}x{h})")
    return VideoPair(gen, ref, n_gen, n_ref, notes)
