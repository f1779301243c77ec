"""The camera and the people in one world: BlazePose landmarks -> SMPL-X joints in metres.

Per person and frame, BlazePose's world landmarks (metres, hip-centred, camera-aligned)
are placed in camera space by a perspective fit to the 2D landmarks (cv2.solvePnP with
the intrinsics of an assumed or known focal length), then turned into the first frame's
camera coordinates by the camera's measured rotation (amg.capture.camera_motion; its
position is taken as fixed). The floor is fitted to where the feet
touch down (a plane when the feet cover enough ground, else the camera is taken as level);
the world is then Y up with the floor at y = 0, and the camera sits where it was, looking
at the people, so avatars rendered through it overlay the video.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from amg.capture.detect import (L_EAR, L_HEEL, L_HIP, L_SHOULDER, L_TOE, R_EAR, R_HEEL, R_HIP, R_SHOULDER, R_TOE,
                                Detection)
from amg.motion.motion import JOINT_INDEX as J
from amg.motion.skeleton import REST_JOINTS

#: BlazePose landmarks that map one-to-one onto SMPL-X joints
_DIRECT = {"left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28, "left_shoulder": 11,
           "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14, "left_wrist": 15, "right_wrist": 16}
#: where spine joints sit between the hip centre (0) and the neck (1) on the canonical skeleton
_HIPMID = REST_JOINTS[[J["left_hip"], J["right_hip"]]].mean(0)
_SPINE = {n: float((REST_JOINTS[J[n]] - _HIPMID)[1] / (REST_JOINTS[J["neck"]] - _HIPMID)[1])
          for n in ("pelvis", "spine1", "spine2", "spine3")}
#: the neck lies above the shoulder line by this fraction of the hip-to-shoulder distance
_NECK_UP = float((REST_JOINTS[J["neck"]] - REST_JOINTS[J["left_shoulder"]])[1]
                 / (REST_JOINTS[J["left_shoulder"]] - _HIPMID)[1])
_COLLAR = 0.63  # collar joints: this far from the neck towards each shoulder
#: BlazePose marks the outer hip; SMPL-X's hip joints sit this fraction of the way out
_HIP_IN = 0.8
#: landmarks that touch the floor when a person stands
FOOT_POINTS = [L_HEEL, R_HEEL, L_TOE, R_TOE]
#: Assumed focal length when the video says none: a phone's main camera, 26 mm full-frame
#: equivalent (about 69 degrees across the long side).
DEFAULT_FOCAL_MM = 26.0


def smplx_joints(landmarks: np.ndarray) -> np.ndarray:
    """(..., 22, 3) SMPL-X body joints from (..., 33, 3) BlazePose landmarks (same frame)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    out = np.zeros(lm.shape[:-2] + (22, 3))
    for name, i in _DIRECT.items():
        out[..., J[name], :] = lm[..., i, :]
    hipmid = (lm[..., L_HIP, :] + lm[..., R_HIP, :]) / 2
    shmid = (lm[..., L_SHOULDER, :] + lm[..., R_SHOULDER, :]) / 2
    neck = shmid + _NECK_UP * (shmid - hipmid)
    out[..., J["neck"], :] = neck
    for name, f in _SPINE.items():
        out[..., J[name], :] = hipmid + f * (neck - hipmid)
    out[..., J["left_hip"], :] = hipmid + _HIP_IN * (lm[..., L_HIP, :] - hipmid)
    out[..., J["right_hip"], :] = hipmid + _HIP_IN * (lm[..., R_HIP, :] - hipmid)
    out[..., J["left_collar"], :] = neck + _COLLAR * (lm[..., L_SHOULDER, :] - neck)
    out[..., J["right_collar"], :] = neck + _COLLAR * (lm[..., R_SHOULDER, :] - neck)
    out[..., J["head"], :] = (lm[..., L_EAR, :] + lm[..., R_EAR, :]) / 2
    # SMPL-X's foot joint is at the ball of the foot, near the floor
    out[..., J["left_foot"], :] = 0.3 * lm[..., L_HEEL, :] + 0.7 * lm[..., L_TOE, :]
    out[..., J["right_foot"], :] = 0.3 * lm[..., R_HEEL, :] + 0.7 * lm[..., R_TOE, :]
    return out


def focal_px(width: int, height: int, focal_mm: float = DEFAULT_FOCAL_MM) -> float:
    """Focal length in pixels for a 35 mm-equivalent focal length (36 mm across the long side)."""
    return float(focal_mm) / 36.0 * max(width, height)


def intrinsics(width: int, height: int, focal: float) -> np.ndarray:
    return np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1.0]])


def place(det: Detection, K: np.ndarray, min_visibility: float = 0.5) -> tuple[np.ndarray, float] | None:
    """(33, 3) landmarks in OpenCV camera space (x right, y down, z forward, metres) and the
    reprojection error in pixels, or None when too few landmarks are visible.

    The translation comes first from a linear least-squares fit (rotation as BlazePose gives
    it: its world landmarks are already turned like the camera), then cv2.solvePnP refines
    rotation and translation from there; a refinement that turns the body by more than 30
    degrees is distrusted (a degenerate fit) and the linear one kept.
    """
    import cv2

    vis = det.keypoints[:, 2] >= min_visibility
    if vis.sum() < 6:
        return None
    obj, img = det.world[vis], det.keypoints[vis, :2]
    f, cx, cy = K[0, 0], K[0, 2], K[1, 2]
    u, v = img[:, 0] - cx, img[:, 1] - cy
    # f*tx - u*tz = u*Z - f*X ; f*ty - v*tz = v*Z - f*Y
    n = len(obj)
    A = np.zeros((2 * n, 3))
    b = np.zeros(2 * n)
    A[:n, 0], A[:n, 2], b[:n] = f, -u, u * obj[:, 2] - f * obj[:, 0]
    A[n:, 1], A[n:, 2], b[n:] = f, -v, v * obj[:, 2] - f * obj[:, 1]
    t = np.linalg.lstsq(A, b, rcond=None)[0]
    if t[2] <= 0.1:
        return None
    rvec = np.zeros(3)
    ok, r2, t2 = cv2.solvePnP(obj, img, K, None, rvec=rvec.copy(), tvec=t.copy(), useExtrinsicGuess=True,
                              flags=cv2.SOLVEPNP_ITERATIVE)
    R = np.eye(3)
    if ok and np.linalg.norm(r2) < math.radians(30) and float(t2.ravel()[2]) > 0.1:
        R, t = cv2.Rodrigues(r2)[0], t2.ravel()
    cam = det.world @ R.T + t
    proj = cam[vis, :2] / cam[vis, 2:3] * f + [cx, cy]
    err = float(np.median(np.linalg.norm(proj - img, axis=-1)))
    return cam, err


def one_euro(x: np.ndarray, fps: float, min_cutoff: float = 1.5, beta: float = 0.5, d_cutoff: float = 1.0) -> np.ndarray:
    """One-euro filter over axis 0 of (T, ...) run forward and backward and averaged.

    The filter smooths hard where a point moves slowly (jitter) and hardly at all where it
    moves fast (a kick keeps its speed); averaging the two directions cancels its lag.
    """
    def run(seq):
        out = np.empty_like(seq)
        out[0] = seq[0]
        dx_prev = np.zeros_like(seq[0])
        te = 1.0 / fps

        def alpha(cutoff):
            r = 2 * math.pi * cutoff * te
            return r / (r + 1)

        for i in range(1, len(seq)):
            dx = (seq[i] - out[i - 1]) * fps
            a_d = alpha(d_cutoff)
            dx_hat = a_d * dx + (1 - a_d) * dx_prev
            cutoff = min_cutoff + beta * np.abs(dx_hat)
            r = 2 * math.pi * cutoff * te
            a = r / (r + 1)
            out[i] = a * seq[i] + (1 - a) * out[i - 1]
            dx_prev = dx_hat
        return out

    x = np.asarray(x, dtype=np.float64)
    if len(x) < 3:
        return x.copy()
    return 0.5 * (run(x) + run(x[::-1])[::-1])


def fill_gaps(x: np.ndarray, present: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate (T, ...) values over missing frames between two present ones
    when the gap is at most `max_gap` frames; frames before the first / after the last
    sighting hold the nearest pose. Returns the values and the mask of frames still
    unknown (gaps too long, or outside the person's time on screen)."""
    x = np.array(x, dtype=np.float64)
    present = np.asarray(present, bool)
    idx = np.flatnonzero(present)
    unknown = ~present.copy()
    if not len(idx):
        return x, unknown
    for a, b in zip(idx[:-1], idx[1:]):
        if b - a > 1:
            w = ((np.arange(a + 1, b) - a) / (b - a)).reshape(-1, *([1] * (x.ndim - 1)))
            x[a + 1:b] = (1 - w) * x[a] + w * x[b]
            if b - a - 1 <= max_gap:
                unknown[a + 1:b] = False
    x[:idx[0]] = x[idx[0]]
    x[idx[-1] + 1:] = x[idx[-1]]
    return x, unknown


@dataclass
class Floor:
    """World from OpenCV camera space: p_world = R @ p_cam + t (Y up, floor y = 0)."""

    R: np.ndarray
    t: np.ndarray
    method: str

    def apply(self, p: np.ndarray) -> np.ndarray:
        return p @ self.R.T + self.t

    def camera_c2w(self, turn: np.ndarray | None = None) -> np.ndarray:
        """(4, 4) camera-to-world of the camera (OpenGL axes: x right, y up, looking down -z);
        `turn`: R_t (3, 3) taking the first frame's camera coordinates to this frame's."""
        m = np.eye(4)
        m[:3, :3] = self.R @ (np.eye(3) if turn is None else turn.T) @ np.diag([1.0, -1.0, -1.0])
        m[:3, 3] = self.t
        return m


def estimate_floor(feet: np.ndarray) -> Floor:
    """The floor under (N, 3) camera-space points where feet touch down (OpenCV axes).

    A plane is fitted (RANSAC, then least squares on its inliers) when the points cover at
    least 0.5 x 0.5 m and the plane is within 40 degrees of level; otherwise the camera is
    taken as level (no roll or pitch) and only the floor's height is measured.
    """
    feet = np.asarray(feet, dtype=np.float64)
    feet = feet[np.all(np.isfinite(feet), axis=1)]
    up_cam = np.array([0.0, -1.0, 0.0])  # camera up in OpenCV axes
    normal, method = up_cam, "level camera assumed (the feet cover too little ground to fit a floor plane)"
    if len(feet) >= 10:
        centred = feet - feet.mean(0)
        s = np.linalg.svd(centred, compute_uv=False) / math.sqrt(len(feet))
        if s[1] > 0.15:  # ~0.5 m spread in two directions
            rng = np.random.default_rng(0)
            best, best_in = None, None
            for _ in range(200):
                p = feet[rng.choice(len(feet), 3, replace=False)]
                n = np.cross(p[1] - p[0], p[2] - p[0])
                if np.linalg.norm(n) < 1e-9:
                    continue
                n /= np.linalg.norm(n)
                inl = np.abs((feet - p[0]) @ n) < 0.04
                if best_in is None or inl.sum() > best_in.sum():
                    best, best_in = n, inl
            if best is not None and best_in.sum() >= 0.5 * len(feet):
                pts = feet[best_in]
                n = np.linalg.svd(pts - pts.mean(0))[2][-1]
                n = n if n @ up_cam > 0 else -n
                if n @ up_cam > math.cos(math.radians(40)):
                    normal, method = n, "floor plane fitted to the feet"
    # rotation taking `normal` (camera space) to +Y (world), keeping the camera's heading
    y = normal / np.linalg.norm(normal)
    z = np.array([0.0, 0.0, -1.0])  # camera backward (world +Z points at the viewer)
    z = z - (z @ y) * y
    z /= np.linalg.norm(z)
    x = np.cross(y, z)
    R = np.stack([x, y, z])  # rows: world axes in camera coordinates
    heights = feet @ y if len(feet) else np.zeros(1)
    floor = float(np.percentile(heights, 5)) if len(feet) else 0.0
    return Floor(R, np.array([0.0, -floor, 0.0]), method)
