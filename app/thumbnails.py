"""Motion thumbnails: a few poses of a clip drawn as stick figures (PIL), front view."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from amg.motion.motion import SMPLX_PARENTS

FIGURE_COLOURS = [(47, 111, 208), (208, 74, 58), (47, 154, 90), (199, 154, 30)]


def stick_figures(joints: np.ndarray, poses: int = 4, size: tuple[int, int] = (200, 150)) -> Image.Image:
    """joints: (P, T, 22, 3) world joints (Y up) -> `poses` moments of the clip, left to right."""
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim == 3:
        j = j[None]
    num_people, num_frames = j.shape[:2]
    w, h = size
    img = Image.new("RGB", size, (248, 248, 244))
    d = ImageDraw.Draw(img)
    frames = np.linspace(0, num_frames - 1, poses).round().astype(int)
    # front view: x right, y up; every pose shares one scale, each its own slot
    span_y = max(float(j[..., 1].max() - min(j[..., 1].min(), 0.0)), 1.0)
    scale = 0.82 * h / span_y
    slot = w / poses
    floor = h - 10
    d.line([(0, floor), (w, floor)], fill=(200, 200, 190))
    for k, f in enumerate(frames):
        centre = j[:, f, 0, 0].mean()
        for p in range(num_people):
            col = FIGURE_COLOURS[p % len(FIGURE_COLOURS)]
            pts = j[p, f]
            u = slot * (k + 0.5) + (pts[:, 0] - centre) * scale
            v = floor - pts[:, 1] * scale
            for c, parent in enumerate(SMPLX_PARENTS):
                if parent >= 0:
                    d.line([(u[parent], v[parent]), (u[c], v[c])], fill=col, width=2)
            d.ellipse([u[15] - 3, v[15] - 3, u[15] + 3, v[15] + 3], fill=col)
    return img
