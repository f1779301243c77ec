"""How the camera turned: its rotation between frames, measured on the background.

Corners of the background (the people masked out) are tracked from frame to frame with
OpenCV's pyramidal Lucas-Kanade flow, checked forward and backward; a RANSAC homography
between them, for a camera that turns without moving (pan, tilt, roll: a tripod head, most
handheld shots), is K R K^-1, so R follows from the intrinsics. Camera translation is not
estimated (a homography cannot separate it from depth without more views); where too little
background is trackable, the rotation is held and the frames are counted.
"""

from __future__ import annotations

import numpy as np

#: the background is tracked at this size (speed; sub-pixel flow keeps the precision)
TRACK_SIDE = 360


class RotationTracker:
    """Feed sampled frames in order (`update`); `rotations` then holds, per frame, R_t (3, 3)
    taking frame-0 camera coordinates to frame-t camera coordinates (OpenCV axes)."""

    def __init__(self, K: np.ndarray, width: int, height: int, min_points: int = 30, min_share: float = 0.6,
                 min_spread: float = 0.12):
        s = TRACK_SIDE / max(width, height)
        self.size = (max(16, round(width * s)), max(16, round(height * s)))
        self.scale = self.size[0] / width
        self.K = np.diag([self.scale, self.scale, 1.0]) @ K
        self.K_inv = np.linalg.inv(self.K)
        self.min_points = min_points
        self.min_share = min_share
        self.min_spread = min_spread  # std of the inliers' positions, as a share of the frame (uniform: 0.29)
        self.rotations: list[np.ndarray] = []
        self.unmeasured = 0           # frames where the background could not be tracked
        self._prev: tuple[np.ndarray, np.ndarray] | None = None

    def _mask(self, boxes) -> np.ndarray:
        w, h = self.size
        mask = np.full((h, w), 255, np.uint8)
        for x0, y0, x1, y1 in boxes:
            cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, 0.6 * (x1 - x0) + 4, 0.6 * (y1 - y0) + 4
            a = (int(max((cx - hw) * self.scale, 0)), int(max((cy - hh) * self.scale, 0)))
            b = (int(min((cx + hw) * self.scale, w - 1)), int(min((cy + hh) * self.scale, h - 1)))
            mask[a[1]:b[1] + 1, a[0]:b[0] + 1] = 0
        return mask

    def update(self, frame: np.ndarray, boxes, frame_width: int) -> np.ndarray:
        """Add a frame ((H, W, 3) RGB at any scale of the video; `boxes` (x0, y0, x1, y1) of the
        people in the video's pixels, `frame_width` the video's width); returns R_t."""
        import cv2

        gray = cv2.cvtColor(cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        mask = self._mask(boxes)
        R_prev = self.rotations[-1] if self.rotations else np.eye(3)
        R = R_prev
        if self._prev is not None:
            rel = self._relative(self._prev[0], self._prev[1], gray)
            if rel is None:
                self.unmeasured += 1
            else:
                R = rel @ R_prev
        self.rotations.append(R)
        self._prev = (gray, mask)
        return R

    def _relative(self, prev: np.ndarray, prev_mask: np.ndarray, gray: np.ndarray) -> np.ndarray | None:
        import cv2

        p0 = cv2.goodFeaturesToTrack(prev, maxCorners=150, qualityLevel=0.01, minDistance=8, mask=prev_mask)
        if p0 is None or len(p0) < self.min_points:
            return None
        lk = dict(winSize=(15, 15), maxLevel=2, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
        p1, ok, _ = cv2.calcOpticalFlowPyrLK(prev, gray, p0, None, **lk)
        back, ok_b, _ = cv2.calcOpticalFlowPyrLK(gray, prev, p1, None, **lk)
        good = (ok.ravel() == 1) & (ok_b.ravel() == 1) & (np.linalg.norm((back - p0).reshape(-1, 2), axis=1) < 0.5)
        if good.sum() < self.min_points:
            return None
        H, inliers = cv2.findHomography(p0[good], p1[good], cv2.RANSAC, 1.0)
        # the camera's motion is what most of the background agrees on: when no clear
        # majority moves as one (a crowd, a passing bus), the frame is left unmeasured
        if H is None or inliers.sum() < max(self.min_points, self.min_share * good.sum()):
            return None
        # ... and it must be seen across the picture, not in one band (a moving object's edge)
        pts = p1[good][inliers.ravel() == 1].reshape(-1, 2) / np.array(self.size, float)
        if np.any(pts.std(0) < self.min_spread):
            return None
        R = self.K_inv @ H @ self.K
        R /= np.cbrt(np.linalg.det(R))
        u, _, vt = np.linalg.svd(R)  # nearest rotation (the homography also absorbs small parallax)
        R = u @ vt
        return R if np.linalg.det(R) > 0 else None


def rotation_angles(rotations: np.ndarray) -> np.ndarray:
    """(T,) degrees each R_t is turned from frame 0."""
    from scipy.spatial.transform import Rotation

    return np.degrees(np.linalg.norm(Rotation.from_matrix(rotations).as_rotvec(), axis=-1))
