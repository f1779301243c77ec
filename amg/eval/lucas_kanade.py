"""Classical point tracking: OpenCV pyramidal Lucas-Kanade with a forward-backward check.

Always available (no weights). Points are seeded on the first frame, either on good
features (Shi-Tomasi corners) or on a dense grid, optionally only inside a mask, and
followed frame to frame. A point is kept only if every step passes the forward-backward
check (track t -> t+1, then back to t, and land within `max_fb_error_px` of the start)
and stays inside the image, so every tracklet spans the whole video.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from amg.eval.tracklets import Tracklets


@dataclass
class LucasKanadeConfig:
    """Seeding and tracking settings; pixel sizes are in the frames being tracked."""

    #: Seed on a dense grid with this step (pixels) instead of on good features.
    grid_step_px: int | None = None
    #: Good-feature seeding: at most this many corners, this far apart, this strong
    #: (relative to the strongest corner).
    max_points: int = 400
    min_distance_px: float = 5.0
    quality_level: float = 0.01
    #: Lucas-Kanade search window (pixels) and pyramid levels above the full image.
    window_px: int = 15
    pyramid_levels: int = 3
    #: A step whose back-tracked point misses its start by more than this is lost.
    max_fb_error_px: float = 1.0

    @property
    def name(self) -> str:
        return "opencv-lk-grid" if self.grid_step_px else "opencv-lk"


def seed_points(gray0: np.ndarray, config: LucasKanadeConfig, mask: np.ndarray | None = None) -> np.ndarray:
    """(N, 2) float32 starting points (x, y) in the first frame.

    gray0: (H, W) uint8 first frame. mask: (H, W) bool, seeds only where True.
    """
    h, w = gray0.shape
    if config.grid_step_px:
        step = int(config.grid_step_px)
        ys, xs = np.mgrid[step // 2:h:step, step // 2:w:step]
        pts = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
        if mask is not None:
            pts = pts[mask[pts[:, 1].astype(int), pts[:, 0].astype(int)]]
        return pts
    corners = cv2.goodFeaturesToTrack(
        gray0, maxCorners=int(config.max_points), qualityLevel=float(config.quality_level),
        minDistance=float(config.min_distance_px), blockSize=7,
        mask=None if mask is None else mask.astype(np.uint8) * 255,
    )
    return np.zeros((0, 2), np.float32) if corners is None else corners.reshape(-1, 2).astype(np.float32)


def track_lucas_kanade(
    frames: np.ndarray,
    config: LucasKanadeConfig | None = None,
    mask: np.ndarray | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Tracklets:
    """Track points through a video.

    frames: (T, H, W, 3) uint8 RGB, T >= 2. mask: (H, W) bool on the first frame.
    Returns the tracklets that survived every step, as (N, T, 2) pixel positions.
    """
    config = config or LucasKanadeConfig()
    gray = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in frames]
    t_count = len(gray)
    h, w = gray[0].shape
    seeds = seed_points(gray[0], config, mask)
    track = np.zeros((len(seeds), t_count, 2), np.float32)
    track[:, 0] = seeds
    alive = np.ones(len(seeds), bool)
    lk = dict(winSize=(config.window_px, config.window_px), maxLevel=int(config.pyramid_levels),
              criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
    for t in range(t_count - 1):
        if cancel is not None and cancel.is_set():
            raise KeyboardInterrupt("tracking cancelled")
        idx = np.flatnonzero(alive)
        if len(idx) == 0:
            break
        p0 = track[idx, t].reshape(-1, 1, 2)
        p1, ok_fwd, _ = cv2.calcOpticalFlowPyrLK(gray[t], gray[t + 1], p0, None, **lk)
        p0_back, ok_bwd, _ = cv2.calcOpticalFlowPyrLK(gray[t + 1], gray[t], p1, None, **lk)
        p1, p0_back = p1.reshape(-1, 2), p0_back.reshape(-1, 2)
        fb_error = np.linalg.norm(p0_back - p0.reshape(-1, 2), axis=1)
        inside = (p1[:, 0] >= 0) & (p1[:, 0] <= w - 1) & (p1[:, 1] >= 0) & (p1[:, 1] <= h - 1)
        good = ok_fwd.ravel().astype(bool) & ok_bwd.ravel().astype(bool) & inside & (fb_error <= config.max_fb_error_px)
        track[idx, t + 1] = p1
        alive[idx[~good]] = False
        if progress is not None:
            progress((t + 1) / (t_count - 1))
    return Tracklets(track[alive], config.name, (h, w), seeded=len(seeds))
