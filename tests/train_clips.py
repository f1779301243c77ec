"""A small dataset of moving-square clips written straight to disk (no rendering): for the
trainer's scale tests and benchmarks/bench_train_scale.py. Each clip's footage is a coloured
square over a textured background; its avatar video is the same square's motion on black."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from amg.video import write_mp4
from amg.train import Clip, TrainingData


def square_clips(root: Path, n: int = 4, frames: int = 8, size: int = 64, fps: float = 8.0) -> TrainingData:
    data = TrainingData.create(root, frames=frames, width=size, height=size, fps=fps)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    for k in range(n):
        background = (rng.integers(40, 120, (1, 1, 3)) + 30 * np.sin(xx / (3 + k) + yy / 5)[..., None])
        video, condition = [], []
        direction = np.array([[1, 0.5], [-1, 0.5], [0.5, 1], [0.5, -1]][k % 4])
        for f in range(frames):  # a 2x2 checkered square gliding 2-3 px a frame (trackable corners)
            x0, y0 = (size / 2 - 8) + (f - frames / 2) * 2.5 * direction
            inside = ((xx >= x0) & (xx < x0 + 16) & (yy >= y0) & (yy < y0 + 16))[..., None]
            checker = (((xx - x0) // 8 + (yy - y0) // 8) % 2)[..., None]
            colour = np.array([200, 60 + 40 * (k % 4), 90], float) * (0.6 + 0.4 * checker)
            video.append(np.where(inside, colour, background).clip(0, 255).astype(np.uint8))
            condition.append(np.where(inside, 255.0 * (0.5 + 0.5 * checker), 0.0).repeat(3, -1).astype(np.uint8))
        clip = Clip(id=f"square{k}", caption=f"a square number {k} slides across the room", source="synthetic")
        folder = clip.folder(data.root)
        folder.mkdir(parents=True)
        write_mp4(np.stack(video), folder / "video.mp4", fps)
        write_mp4(np.stack(condition), folder / "condition.mp4", fps)
        data.add(clip)
    return data
