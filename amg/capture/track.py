"""Per-frame detections -> people with stable identities.

Detections are matched to tracks by the Hungarian algorithm (scipy's linear_sum_assignment)
on a cost mixing where each body keypoint is predicted to be (constant velocity, in units
of the person's height) and how the person looks (colour histograms of the torso and legs).
A track that misses frames waits `max_gap` seconds for its person to come back (a short
occlusion, a crossing); one whose person reappears later still gets its id back when the
appearance matches clearly. Everything else becomes a new track.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from amg.capture.detect import BODY, L_HIP, L_KNEE, L_SHOULDER, R_HIP, R_KNEE, R_SHOULDER, Detection


@dataclass
class TrackConfig:
    max_gap: float = 1.0          # seconds a lost person may be missing and keep their id
    max_cost: float = 1.0         # above this a detection is not that person
    appearance_weight: float = 0.5
    reid_cost: float = 0.35       # a person back after a long absence needs a clear appearance match


@dataclass
class Track:
    id: int
    frames: list[int] = field(default_factory=list)        # sample indices with a detection
    detections: list[Detection] = field(default_factory=list)
    appearance: np.ndarray | None = None                    # running mean colour histogram

    def predict(self, frame: int) -> np.ndarray:
        """(33, 2) keypoints predicted at `frame` (constant velocity over the last two)."""
        last = self.detections[-1].keypoints[:, :2]
        if len(self.frames) < 2 or self.frames[-1] - self.frames[-2] > 3:
            return last
        prev = self.detections[-2].keypoints[:, :2]
        step = (last - prev) / (self.frames[-1] - self.frames[-2])
        return last + step * min(frame - self.frames[-1], 5)


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
        pred = track.predict(frame)
        size = max(det.height_px, track.detections[-1].height_px, 1.0)
        vis = np.minimum(det.keypoints[BODY, 2], track.detections[-1].keypoints[BODY, 2]) + 0.1
        dist = np.linalg.norm(pred[BODY] - det.keypoints[BODY, :2], axis=-1) / size
        motion = float((dist * vis).sum() / vis.sum())
        return motion + self.config.appearance_weight * _appearance_distance(track.appearance, look)

    def update(self, frame_index: int, frame: np.ndarray, detections: list[Detection]) -> list[int]:
        """Assign this frame's detections; returns the track id of each."""
        looks = [appearance(frame, d) for d in detections]
        live = [t for t in self.tracks if frame_index - t.frames[-1] <= self.max_gap_frames]
        lost = [t for t in self.tracks if frame_index - t.frames[-1] > self.max_gap_frames]
        ids = [-1] * len(detections)
        if live and detections:
            cost = np.array([[self._cost(t, frame_index, d, a) for d, a in zip(detections, looks)] for t in live])
            for r, c in zip(*linear_sum_assignment(cost)):
                if cost[r, c] <= self.config.max_cost:
                    ids[c] = live[r].id
        for c, det in enumerate(detections):
            if ids[c] >= 0:
                continue
            # someone back after a long absence: re-identify by appearance alone
            taken = set(ids)
            best = min(((_appearance_distance(t.appearance, looks[c]), t) for t in lost
                        if t.appearance is not None and t.id not in taken), default=None, key=lambda x: x[0])
            if best is not None and best[0] < self.config.reid_cost:
                ids[c] = best[1].id
            else:
                self.tracks.append(Track(len(self.tracks)))
                ids[c] = self.tracks[-1].id
        for c, det in enumerate(detections):
            t = self.tracks[ids[c]]
            t.frames.append(frame_index)
            t.detections.append(det)
            t.appearance = looks[c] if t.appearance is None else 0.9 * t.appearance + 0.1 * looks[c]
        return ids
