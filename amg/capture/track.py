"""Per-frame detections -> people with stable identities.

Detections are matched to tracks by the Hungarian algorithm (scipy's linear_sum_assignment)
on a negative log-likelihood mixing where each person's torso is predicted to be (a
velocity fitted to the last sightings) and how the person looks (colour histograms of the
torso and legs).
The allowed position error grows with the frames a track has missed, so a person hidden
by someone crossing in front is found again where they were, while the crosser's track
(seen a frame ago, tightly predicted) keeps the crosser. After more than `max_gap` seconds
away a person gets their id back only when their appearance matches clearly. Anything
else becomes a new track.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from amg.capture.detect import L_HIP, L_KNEE, L_SHOULDER, R_HIP, R_KNEE, R_SHOULDER, Detection


@dataclass
class TrackConfig:
    max_gap: float = 1.0          # seconds: a person missing longer needs a clear appearance match to keep their id
    sigma: float = 0.05           # expected frame-to-frame position error, in person heights
    sigma_growth: float = 0.03    # ... growing by this per missed frame (they may have moved)
    appearance_scale: float = 0.3   # Hellinger distance between colour histograms worth one sigma
    gate: float = 3.0             # a detection further than this many sigmas is not that person
    reid_appearance: float = 0.35  # after a long absence: the appearance must be at least this close


@dataclass
class Track:
    id: int
    frames: list[int] = field(default_factory=list)        # sample indices with a detection
    detections: list[Detection] = field(default_factory=list)
    appearance: np.ndarray | None = None                    # running mean colour histogram

    def predict(self, frame: int) -> np.ndarray:
        """(2,) torso centre predicted at `frame`: the velocity of a line fitted to the last
        few sightings (one noisy detection does not throw it), carried for at most two
        frames, then held (someone hidden for long may have gone anywhere; the allowed
        error grows instead)."""
        last = self.detections[-1].centre
        recent = [(f, d.centre) for f, d in zip(self.frames[-5:], self.detections[-5:]) if self.frames[-1] - f <= 8]
        if len(recent) < 2:
            return last
        f = np.array([r[0] for r in recent], float)
        c = np.array([r[1] for r in recent])
        velocity = np.polyfit(f - f[-1], c, 1)[0]  # (2,) pixels per frame
        return last + velocity * min(frame - self.frames[-1], 2)


def appearance(frame: np.ndarray, det: Detection, bins: int = 8) -> np.ndarray:
    """Normalised HSV hue/saturation histograms of the torso and thigh regions."""
    import cv2

    h, w = frame.shape[:2]
    k = det.keypoints[:, :2]
    hists = []
    for quad in ([L_SHOULDER, R_SHOULDER, R_HIP, L_HIP], [L_HIP, R_HIP, R_KNEE, L_KNEE]):
        pts = k[quad]
        x0, y0 = np.clip(pts.min(0), 0, [w - 1, h - 1]).astype(int)
        x1, y1 = np.clip(pts.max(0), 0, [w - 1, h - 1]).astype(int)
        if x1 - x0 < 2 or y1 - y0 < 2:
            hists.append(np.zeros(bins * bins, np.float32))
            continue
        hsv = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1 + 1, x0:x1 + 1]), cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [bins, bins], [0, 180, 0, 256]).ravel()
        hists.append(hist / max(hist.sum(), 1.0))
    return np.concatenate(hists)


def _appearance_distance(a: np.ndarray | None, b: np.ndarray) -> float:
    if a is None:
        return 0.0
    # Hellinger distance per region, averaged (0 same, 1 disjoint)
    n = len(b) // 2
    d = [np.sqrt(max(0.0, 1.0 - np.sqrt(a[i:i + n] * b[i:i + n]).sum())) for i in (0, n)]
    return float(np.mean(d))


class Tracker:
    """Feed detections frame by frame (`update`), then read `tracks`."""

    def __init__(self, fps: float, config: TrackConfig | None = None):
        self.config = config or TrackConfig()
        self.max_gap_frames = max(1, int(round(self.config.max_gap * fps)))
        self.tracks: list[Track] = []

    def _cost(self, track: Track, frame: int, det: Detection, look: np.ndarray) -> float:
        """Negative log-likelihood that `det` is `track`'s person (inf: ruled out).

        The position term is a Gaussian whose width grows with the frames the track has
        missed: a detection far from a fresh track is ruled out (beyond 3 sigma), and
        between two tracks that both fit, the recently seen one wins (its narrower
        Gaussian is more likely), so a crosser keeps its id over the person it hides.
        """
        c = self.config
        gap = frame - track.frames[-1]
        app = _appearance_distance(track.appearance, look)
        if gap > self.max_gap_frames and app > c.reid_appearance:
            return np.inf
        last = track.detections[-1]
        size = max(det.height_px, last.height_px, 1.0)
        sigma = min(c.sigma + c.sigma_growth * gap, 0.5)
        moved = np.linalg.norm(track.predict(frame) - det.centre) / size
        grown = abs(np.log(max(det.height_px, 1.0) / max(last.height_px, 1.0)))
        z = (moved + 0.5 * grown) / sigma
        if z > c.gate:
            return np.inf
        return 0.5 * z * z + 2.0 * np.log(sigma / c.sigma) + app / c.appearance_scale

    def update(self, frame_index: int, frame: np.ndarray, detections: list[Detection]) -> list[int]:
        """Assign this frame's detections; returns the track id of each."""
        looks = [appearance(frame, d) for d in detections]
        ids = [-1] * len(detections)
        if self.tracks and detections:
            cost = np.array([[self._cost(t, frame_index, d, a) for d, a in zip(detections, looks)]
                             for t in self.tracks])
            gated = np.where(np.isfinite(cost), cost, 1e9)
            for r, col in zip(*linear_sum_assignment(gated)):
                if np.isfinite(cost[r, col]):
                    ids[col] = self.tracks[r].id
        for col, det in enumerate(detections):
            if ids[col] < 0:
                self.tracks.append(Track(len(self.tracks)))
                ids[col] = self.tracks[-1].id
            t = self.tracks[ids[col]]
            t.frames.append(frame_index)
            t.detections.append(det)
            t.appearance = looks[col] if t.appearance is None else 0.9 * t.appearance + 0.1 * looks[col]
        return ids
