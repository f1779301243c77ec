"""Synthetic videos with known motion: textured blobs moving along smooth paths.

Material for checking the metrics (tests) and timing them (benchmarks): the true path of
every blob is known, and "same motion elsewhere", "reversed", "frozen" and "unrelated"
variants are one argument away.
"""

from __future__ import annotations

import cv2
import numpy as np


def blob_paths(num_frames: int, num_blobs: int, size: int, seed: int, amplitude: float = 0.05) -> np.ndarray:
    """(K, T, 2) smooth random paths (x, y pixels): a start point plus two random sinusoids per axis.

    Starts lie on a jittered grid over the middle of the frame, so blobs seldom overlap.
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, num_frames)[None, :, None]  # (1, T, 1)
    cols = int(np.ceil(np.sqrt(num_blobs)))
    cells = rng.permutation(cols * cols)[:num_blobs]
    cell_xy = np.stack([cells % cols, cells // cols], axis=1)[:, None, :]  # (K, 1, 2)
    jitter = rng.uniform(-0.15, 0.15, (num_blobs, 1, 2))
    start = (0.2 + 0.6 * (cell_xy + 0.5 + jitter) / cols) * size
    paths = np.broadcast_to(start, (num_blobs, num_frames, 2)).copy()
    for _ in range(2):
        amp = rng.uniform(0.3, 1.0, (num_blobs, 1, 2)) * amplitude * size
        freq = rng.uniform(0.4, 1.2, (num_blobs, 1, 2))
        phase = rng.uniform(0, 2 * np.pi, (num_blobs, 1, 2))
        paths += amp * (np.sin(2 * np.pi * freq * t + phase) - np.sin(phase))
    return paths


def blob_sprite(radius: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A disc of smoothed random texture: colours (2r+1, 2r+1, 3) uint8 and alpha (2r+1, 2r+1) float."""
    side = 2 * radius + 1
    noise = rng.uniform(0, 255, (side, side, 3)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), 1.2)
    lo, hi = noise.min(), noise.max()
    colours = ((noise - lo) / max(hi - lo, 1e-6) * 235 + 20).astype(np.uint8)
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    alpha = np.clip(radius - np.hypot(xx, yy), 0, 1).astype(np.float32)
    return colours, alpha


def moving_blobs_video(num_frames: int = 16, size: int = 256, num_blobs: int = 6, seed: int = 0,
                       offset: tuple[float, float] = (0.0, 0.0), textured_background: bool = False,
                       paths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Render blobs moving along `paths` (default: `blob_paths(..., seed)`).

    offset: (dx, dy) pixels added to every path (same motion, elsewhere in the frame).
    textured_background: a still textured backdrop instead of black (like a real scene).
    Returns frames (T, size, size, 3) uint8 and the paths used (K, T, 2).
    """
    rng = np.random.default_rng(seed + 1000)
    if paths is None:
        paths = blob_paths(num_frames, num_blobs, size, seed)
    paths = np.asarray(paths, np.float64) + np.asarray(offset, np.float64)
    radius = max(4, size // 14)
    sprites = [blob_sprite(radius, rng) for _ in range(len(paths))]
    if textured_background:
        background = blob_sprite(size // 2, rng)[0][:size, :size]
        background = (background.astype(np.float32) * 0.5).astype(np.uint8)
    else:
        background = np.zeros((size, size, 3), np.uint8)
    frames = np.empty((paths.shape[1], size, size, 3), np.uint8)
    for t in range(paths.shape[1]):
        frame = background.astype(np.float32)
        for (colours, alpha), path in zip(sprites, paths):
            x, y = path[t]
            # Sub-pixel placement: translate the sprite so its centre lands on (x, y).
            m = np.float32([[1, 0, x - radius], [0, 1, y - radius]])
            col = cv2.warpAffine(colours, m, (size, size), flags=cv2.INTER_LINEAR).astype(np.float32)
            a = cv2.warpAffine(alpha, m, (size, size), flags=cv2.INTER_LINEAR)[..., None]
            frame = frame * (1 - a) + col * a
        frames[t] = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
    return frames, paths
