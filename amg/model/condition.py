"""The avatar condition video: checked, and resampled to the generation's size on request.

The condition is avatars on a black background. A video of the wrong size or length is
refused with a message naming both sizes, or, with `resample=True`, fitted: frames are
picked evenly in time, and each frame is scaled to fit and padded with black (the
condition's background), so bodies are never stretched or cut.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from amg.errors import AmgError



def load_condition(condition, num_frames: int | None = None, height: int | None = None, width: int | None = None,
                   resample: bool = False, name: str = "condition", family: str = "modelscope") -> np.ndarray:
    """(T, H, W, 3) uint8 frames, of the requested size and length (default: the condition's own).

    `condition`: (T, H, W, 3) uint8 array or tensor, or a path to a video file.
    """
    if isinstance(condition, (str, os.PathLike)):
        from amg.video import read_video

        name = str(condition)
        frames, _ = read_video(Path(condition))
    elif hasattr(condition, "detach"):  # a torch tensor
        frames = condition.detach().cpu().numpy()
    else:
        frames = np.asarray(condition)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise AmgError(f"{name}: a condition video must be (frames, height, width, 3) uint8 RGB, "
                       f"got shape {tuple(frames.shape)} {frames.dtype}")
    t, h, w = frames.shape[:3]
    if t == 0:
        raise AmgError(f"{name}: has no frames")
    want_t, want_h, want_w = num_frames or t, height or h, width or w
    if resample:  # round a free size down to the latent grid, a free length down to an allowed count
        from amg.scene import SIZE_RULES

        rule = SIZE_RULES[family]
        m = rule.multiple
        want_h, want_w = (height or max(rule.min_side, h // m * m)), (width or max(rule.min_side, w // m * m))
        if num_frames is None and not rule.frames_ok(t):
            want_t = max(1, t - (t - 1) % rule.frame_step)
    check_target(name, want_t, want_h, want_w, family)
    if (t, h, w) == (want_t, want_h, want_w):
        return frames
    if not resample:
        raise AmgError(f"{name}: is {w}x{h} with {t} frames, but the generation needs {want_w}x{want_h} with "
                       f"{want_t} frames; render the condition at that size, or resample it "
                       "(resample_condition)")
    return resample_video(frames, want_t, want_h, want_w)


def check_target(name: str, t: int, h: int, w: int, family: str = "modelscope") -> None:
    """Refuse a frame count or size the video model cannot take, naming `name`."""
    from amg.scene import SIZE_RULES

    SIZE_RULES[family].check(name, t, h, w)


def resample_video(frames: np.ndarray, num_frames: int, height: int, width: int) -> np.ndarray:
    """Evenly pick `num_frames` frames; fit each into height x width, padding with black."""
    import cv2

    t, h, w = frames.shape[:3]
    picked = frames[np.round(np.linspace(0, t - 1, num_frames)).astype(int)]
    scale = min(height / h, width / w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = np.zeros((num_frames, height, width, 3), np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    for i, f in enumerate(picked):
        out[i, top:top + new_h, left:left + new_w] = cv2.resize(f, (new_w, new_h), interpolation=interp)
    return out
