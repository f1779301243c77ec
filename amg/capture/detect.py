"""BlazePose through mediapipe's Tasks API: frames -> per-frame person detections.

Each detection holds the 33 BlazePose landmarks in pixels (with visibility) and the 33
world landmarks (metres, hip-centred, axes like the camera's: x right, y down, z away).
The landmarker runs in VIDEO mode (it tracks each person's region between frames, the
fast path); its output order is no identity: amg.capture.track assigns those.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np

from amg.errors import AmgError

#: BlazePose landmark indices used across the capture code
NOSE, L_EAR, R_EAR = 0, 7, 8
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28
L_HEEL, R_HEEL, L_TOE, R_TOE = 29, 30, 31, 32
#: the body landmarks (no face or fingers) that define where a person is and how big
BODY = np.array([L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST, L_HIP, R_HIP,
                 L_KNEE, R_KNEE, L_ANKLE, R_ANKLE])


@dataclass
class Detection:
    """One person in one frame. keypoints: (33, 3) pixel x, y and visibility in [0, 1];
    world: (33, 3) metres, hip-centred, camera axes (x right, y down, z away)."""

    keypoints: np.ndarray
    world: np.ndarray

    @property
    def height_px(self) -> float:
        """Head-to-heel extent in pixels (the person's apparent size)."""
        k = self.keypoints
        top = min(k[NOSE, 1], k[L_EAR, 1], k[R_EAR, 1])
        bottom = max(k[L_HEEL, 1], k[R_HEEL, 1], k[L_ANKLE, 1], k[R_ANKLE, 1])
        return float(bottom - top) * 1.1  # the crown sits ~10% of the height above the eyes

    @property
    def centre(self) -> np.ndarray:
        return self.keypoints[[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP], :2].mean(0)


@contextlib.contextmanager
def _quiet_native_logs():
    """mediapipe's native code logs to fd 2 on creation; keep the user's terminal clean."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


class PoseDetector:
    """BlazePose landmarker for one video (timestamps must increase); use as a context manager."""

    def __init__(self, num_poses: int = 1, min_confidence: float = 0.5, model_path: str | None = None):
        from mediapipe.tasks.python import BaseOptions, vision

        from amg.capture.models import require_pose_task

        path = str(model_path or require_pose_task())
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=path), running_mode=vision.RunningMode.VIDEO,
            num_poses=int(num_poses), min_pose_detection_confidence=min_confidence,
            min_pose_presence_confidence=min_confidence, min_tracking_confidence=min_confidence)
        try:
            with _quiet_native_logs():
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as e:
            raise AmgError(f"pose model {path}: cannot load ({e}); run `amg setup` again to rebuild it") from None
        self._last_ms = -1
        self._first = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self._landmarker is not None:
            with _quiet_native_logs():
                self._landmarker.close()
            self._landmarker = None

    def __call__(self, frame: np.ndarray, time_s: float) -> list[Detection]:
        """Detections in `frame` ((H, W, 3) uint8 RGB) shown at `time_s` seconds."""
        import mediapipe as mp

        h, w = frame.shape[:2]
        ms = max(int(round(time_s * 1000)), self._last_ms + 1)  # strictly increasing, as VIDEO mode needs
        self._last_ms = ms
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame))
        if self._first:  # the native runtime logs its set-up on the first frame
            with _quiet_native_logs():
                result = self._landmarker.detect_for_video(image, ms)
            self._first = False
        else:
            result = self._landmarker.detect_for_video(image, ms)
        out = []
        for lms, wlms in zip(result.pose_landmarks, result.pose_world_landmarks):
            kp = np.array([[p.x * w, p.y * h, p.visibility if p.visibility is not None else 1.0] for p in lms])
            world = np.array([[p.x, p.y, p.z] for p in wlms])
            out.append(Detection(kp, world))
        return out
