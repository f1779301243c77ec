"""Point tracklets: where a set of image points goes over the frames of a video."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Tracklets:
    """Points followed through a video.

    points: (N, T, 2) float32 pixel coordinates (x right, y down) in frames of `size`.
    tracker: the name of the tracker that produced them (reported with every score).
    size: (H, W) of the frames they were tracked in.
    seeded: how many points were seeded before tracks that were lost were dropped.
    """

    points: np.ndarray
    tracker: str
    size: tuple[int, int]
    seeded: int

    def __post_init__(self):
        self.points = np.asarray(self.points, np.float32)
        if self.points.ndim != 3 or self.points.shape[-1] != 2:
            raise ValueError(f"tracklet points must be (N, T, 2), got {self.points.shape}")

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @property
    def num_frames(self) -> int:
        return int(self.points.shape[1])

    def displacements(self) -> np.ndarray:
        """(N, T-1, 2) motion of every point from each frame to the next."""
        return np.diff(self.points, axis=1)

    def extent(self) -> np.ndarray:
        """(N,) farthest distance, in pixels, that each point gets from where it started."""
        if len(self) == 0:
            return np.zeros(0, np.float32)
        return np.linalg.norm(self.points - self.points[:, :1], axis=-1).max(axis=1)

    def moving(self, min_extent_px: float) -> "Tracklets":
        """Only the tracklets that move at least `min_extent_px` away from their start."""
        keep = self.extent() >= min_extent_px if min_extent_px > 0 else np.ones(len(self), bool)
        return Tracklets(self.points[keep], self.tracker, self.size, self.seeded)
