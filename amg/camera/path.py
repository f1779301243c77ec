"""CameraPath: keyframes (time, pose, FOV) interpolated smoothly, evaluated at any frame rate.

Conventions: world Y up, right-handed, metres and seconds; poses are camera-to-world 4x4
matrices with OpenGL camera axes (x right, y up, looking down -Z); FOV is vertical, degrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.spatial.transform import Rotation

from amg.camera.camera import Camera, check_fov, check_pose, look_at_many
from amg.camera.spline import arc_length_table, hermite_curve, squad, squad_controls
from amg.errors import AmgError

#: FOV stays inside this range after interpolation (a spline may overshoot slightly).
FOV_LIMITS = (1.0, 179.0)


@dataclass
class Keyframe:
    """One keyframe. c2w: (4, 4) OpenGL axes; target: optional (3,) look-at point."""

    time: float
    c2w: np.ndarray
    fov_y_deg: float = 40.0
    target: np.ndarray | None = None
    name: str = ""

    def __post_init__(self):
        self.c2w = np.asarray(self.c2w, dtype=np.float64)
        if self.target is not None:
            self.target = np.asarray(self.target, dtype=np.float64).reshape(3)

    @property
    def position(self) -> np.ndarray:
        return self.c2w[:3, 3]


@dataclass
class PoseSamples:
    """A dense path already sampled by another tool (nerfstudio's `camera_path`).

    times: (N,) seconds, increasing; c2w: (N, 4, 4) OpenGL axes; fov_y_deg: (N,).
    """

    times: np.ndarray
    c2w: np.ndarray
    fov_y_deg: np.ndarray

    def __post_init__(self):
        self.times = np.asarray(self.times, dtype=np.float64).reshape(-1)
        self.c2w = np.asarray(self.c2w, dtype=np.float64).reshape(-1, 4, 4)
        self.fov_y_deg = np.asarray(self.fov_y_deg, dtype=np.float64).reshape(-1)

    def __len__(self) -> int:
        return len(self.times)


@dataclass
class Shake:
    """Subtle seeded handheld shake, a smooth function of time (same seed, same shake).

    strength 1 = about 0.5 degree of yaw/pitch, 0.25 degree of roll and 1 cm of drift.
    """

    strength: float = 1.0
    seed: int = 0

    def offsets(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """times (M,) -> rotation vectors (M, 3) and translations (M, 3), camera frame."""
        rng = np.random.default_rng(int(self.seed))
        t = np.asarray(times, dtype=np.float64)[:, None, None]
        # 3 sinusoids per channel at 0.3-1.6 Hz: the sway of hands, not vibration
        freq = rng.uniform(0.3, 1.6, size=(1, 6, 3))
        phase = rng.uniform(0.0, 2 * np.pi, size=(1, 6, 3))
        amp = rng.uniform(0.5, 1.0, size=(1, 6, 3))
        wave = (amp * np.sin(2 * np.pi * freq * t + phase)).sum(-1) / amp.sum(-1)  # (M, 6) in [-1, 1]
        rot = np.radians(self.strength * np.array([0.5, 0.5, 0.25])) * wave[:, :3]  # pitch, yaw, roll
        trans = self.strength * 0.01 * wave[:, 3:]
        return rot, trans


@dataclass
class Anchor:
    """The subjects a path was built around: look-at target (3,) and their height (m)."""

    target: np.ndarray
    extent: float

    def __post_init__(self):
        self.target = np.asarray(self.target, dtype=np.float64).reshape(3)
        self.extent = float(self.extent)


@dataclass
class CameraPath:
    """Keyframed camera path.

    keyframes:      sorted by time; positions follow a Kochanek-Bartels spline with
                    `tension`, rotations squad (or look at the interpolated targets when
                    every keyframe has one), FOV the same spline as positions.
    constant_speed: move along the position curve at constant speed (keyframe times
                    then only set the start and the end).
    loop:           the path closes back to the first keyframe after `period` seconds.
    samples:        a dense path from another tool; when present it is what plays
                    (keyframes stay for editing and export).
    anchor:         the subjects the path was built around (used to re-frame it).
    meta:           format-specific values kept for faithful round trips.
    """

    keyframes: list[Keyframe]
    tension: float = 0.0
    constant_speed: bool = False
    loop: bool = False
    period: float | None = None
    shake: Shake | None = None
    samples: PoseSamples | None = None
    anchor: Anchor | None = None
    aspect: float | None = None
    name: str = ""
    source: str = "camera path"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.validate()

    # ---- checks ---------------------------------------------------------------------
    def validate(self) -> None:
        src = self.source
        if not np.isfinite(self.tension) or not -1.0 <= self.tension <= 1.0:
            raise AmgError(f"{src}: tension must be between -1 and 1, got {self.tension}")
        if self.samples is None and len(self.keyframes) < 2:
            raise AmgError(f"{src}: a camera path needs at least two keyframes, found {len(self.keyframes)} "
                           "(for a still camera give the same pose twice, or use the 'static' preset)")
        for i, k in enumerate(self.keyframes):
            where = f"{src}: keyframes[{i}]"
            if not np.isfinite(k.time):
                raise AmgError(f"{where}: time must be a finite number of seconds, got {k.time}")
            k.c2w = check_pose(k.c2w, where)
            k.fov_y_deg = check_fov(k.fov_y_deg, where)
            if k.target is not None and not np.all(np.isfinite(k.target)):
                raise AmgError(f"{where}: target contains NaN or infinite values")
        _check_increasing([k.time for k in self.keyframes], f"{src}: keyframes")
        if self.samples is not None:
            s = self.samples
            if len(s) < 2:
                raise AmgError(f"{src}: a sampled camera path needs at least two cameras, found {len(s)}")
            if not (len(s.c2w) == len(s.fov_y_deg) == len(s)):
                raise AmgError(f"{src}: sampled path has {len(s)} times, {len(s.c2w)} poses, {len(s.fov_y_deg)} FOVs")
            for i in range(len(s)):
                s.c2w[i] = check_pose(s.c2w[i], f"{src}: camera_path[{i}]")
                check_fov(s.fov_y_deg[i], f"{src}: camera_path[{i}]")
            _check_increasing(s.times, f"{src}: camera_path")
        if self.loop:
            span = self._last_time() - self._first_time()
            if self.period is None:
                self.period = span * len(self._times()) / max(len(self._times()) - 1, 1)
            if not np.isfinite(self.period) or self.period <= span:
                raise AmgError(f"{src}: a looping path's period ({self.period} s) must exceed the time from "
                               f"its first to its last keyframe ({span:.6g} s)")
        if self.duration <= 0:
            raise AmgError(f"{src}: zero-length path: all its keyframes are at the same time")
        if self.aspect is not None and not (np.isfinite(self.aspect) and self.aspect > 0):
            raise AmgError(f"{src}: aspect must be a positive number, got {self.aspect}")

    def _times(self) -> np.ndarray:
        if self.samples is not None:
            return self.samples.times
        return np.array([k.time for k in self.keyframes])

    def _first_time(self) -> float:
        return float(self._times()[0])

    def _last_time(self) -> float:
        return float(self._times()[-1])

    @property
    def start(self) -> float:
        return self._first_time()

    @property
    def duration(self) -> float:
        """Seconds from the start to the end (a loop: one full period)."""
        if self.loop and self.period is not None:
            return float(self.period)
        return self._last_time() - self._first_time()

    # ---- timing ---------------------------------------------------------------------
    def frame_times(self, num_frames: int, fps: float, retime: bool = False) -> np.ndarray:
        """(num_frames,) path times of the render's frames.

        retime=False: frame i is at start + i / fps (the path plays at its own pace; past
        its end the camera holds, or a loop wraps). retime=True: the path is stretched so
        the first frame is its start and the last its end (a loop: one period, end excluded).
        """
        if num_frames < 1:
            raise AmgError(f"{self.source}: number of frames must be at least 1, got {num_frames}")
        if not (np.isfinite(fps) and fps > 0):
            raise AmgError(f"{self.source}: fps must be a positive number, got {fps}")
        i = np.arange(num_frames, dtype=np.float64)
        if not retime:
            return self.start + i / fps
        if self.loop:
            return self.start + i * self.duration / num_frames
        return self.start + i * self.duration / max(num_frames - 1, 1)

    def _wrap(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        if self.loop:
            return self.start + np.mod(t - self.start, self.duration)
        return np.clip(t, self.start, self.start + self.duration)

    # ---- evaluation -----------------------------------------------------------------
    def _key_times(self) -> np.ndarray:
        return np.array([k.time for k in self.keyframes])

    def _curve(self, values: np.ndarray):
        return hermite_curve(self._key_times(), values, self.tension, self.loop, self.period)

    def _spline_time(self, t: np.ndarray) -> np.ndarray:
        """Where on the curves the camera is at times t (already wrapped into the path).

        Keyframe timing as is, or with constant_speed the time at which the position
        curve has covered the same fraction of its length as t has of the duration.
        """
        if not self.constant_speed:
            return t
        tab, length = arc_length_table(self._curve(np.stack([k.position for k in self.keyframes])))
        if length[-1] <= 1e-9:  # the camera does not travel (a pan, a lens zoom)
            return t
        frac = (t - self.start) / self.duration
        return np.interp(frac * length[-1], length, tab)

    def _look_at_mode(self) -> bool:
        return all(k.target is not None for k in self.keyframes)

    def _spline_poses(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tau = self._spline_time(t)
        pos = self._curve(np.stack([k.position for k in self.keyframes]))(tau)
        fov = self._curve(np.array([[k.fov_y_deg] for k in self.keyframes]))(tau)[:, 0]
        c2w = np.repeat(np.eye(4)[None], len(tau), axis=0)
        c2w[:, :3, 3] = pos
        if self._look_at_mode():
            targets = self._curve(np.stack([k.target for k in self.keyframes]))(tau)
            c2w[:, :3, :3] = look_at_many(pos, targets)
        else:
            rots = Rotation.from_matrix(np.stack([k.c2w[:3, :3] for k in self.keyframes]))
            controls = squad_controls(rots, self.tension, self.loop)
            c2w[:, :3, :3] = squad(rots, controls, self._key_times(), tau, self.loop, self.period).as_matrix()
        return c2w, np.clip(fov, *FOV_LIMITS)

    def _sampled_poses(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.samples
        times, c2w, fov = s.times, s.c2w, s.fov_y_deg
        if self.loop:  # wrap the last sample back to the first
            times = np.append(times, times[0] + self.duration)
            c2w, fov = np.concatenate([c2w, c2w[:1]]), np.append(fov, fov[0])
        i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
        h = np.clip((t - times[i]) / (times[i + 1] - times[i]), 0.0, 1.0)
        out = np.repeat(np.eye(4)[None], len(t), axis=0)
        out[:, :3, 3] = (1 - h)[:, None] * c2w[i, :3, 3] + h[:, None] * c2w[i + 1, :3, 3]
        a, b = Rotation.from_matrix(c2w[i, :3, :3]), Rotation.from_matrix(c2w[i + 1, :3, :3])
        out[:, :3, :3] = (a * Rotation.from_rotvec((a.inv() * b).as_rotvec() * h[:, None])).as_matrix()
        exact = h == 0.0  # on a sample: give it back untouched
        out[exact] = c2w[i[exact]]
        return out, (1 - h) * fov[i] + h * fov[i + 1]

    def poses_at(self, times: np.ndarray, shake: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """times (M,) seconds -> c2w (M, 4, 4) OpenGL axes and vertical FOV (M,) degrees."""
        t = self._wrap(np.atleast_1d(np.asarray(times, dtype=np.float64)))
        c2w, fov = self._sampled_poses(t) if self.samples is not None else self._spline_poses(t)
        if shake and self.shake is not None and self.shake.strength > 0:
            rot, trans = self.shake.offsets(t)
            local = np.repeat(np.eye(4)[None], len(t), axis=0)
            local[:, :3, :3] = Rotation.from_rotvec(rot).as_matrix()
            local[:, :3, 3] = trans
            c2w = c2w @ local  # offsets in the camera's own frame
        return c2w, fov

    def evaluate(self, num_frames: int, fps: float, width: int = 256, height: int = 256,
                 retime: bool = False) -> list[Camera]:
        """One Camera per render frame (see `frame_times` for what `retime` does)."""
        c2w, fov = self.poses_at(self.frame_times(num_frames, fps, retime))
        return [Camera(m, float(f), width, height) for m, f in zip(c2w, fov)]

    # ---- edits (each returns a new path) ----------------------------------------------
    def retimed(self, duration: float, start: float = 0.0) -> "CameraPath":
        """The same path stretched to last `duration` seconds from `start`."""
        if not (np.isfinite(duration) and duration > 0):
            raise AmgError(f"{self.source}: a path's duration must be positive, got {duration}")
        s = duration / self.duration

        def remap(t):
            return start + (np.asarray(t, dtype=np.float64) - self.start) * s

        keys = [replace(k, time=float(remap(k.time))) for k in self.keyframes]
        samples = None if self.samples is None else replace(self.samples, times=remap(self.samples.times))
        return replace(self, keyframes=keys, samples=samples,
                       period=None if self.period is None else self.period * s)

    def transformed(self, rotation: np.ndarray, scale: float, translation: np.ndarray) -> "CameraPath":
        """The path moved by the similarity x -> scale * rotation @ x + translation (world)."""
        r = np.asarray(rotation, dtype=np.float64).reshape(3, 3)
        tr = np.asarray(translation, dtype=np.float64).reshape(3)

        def pose(c2w):
            out = np.array(c2w, dtype=np.float64, copy=True)
            out[..., :3, :3] = r @ out[..., :3, :3]
            out[..., :3, 3] = scale * (out[..., :3, 3] @ r.T) + tr
            return out

        keys = [replace(k, c2w=pose(k.c2w), target=None if k.target is None else scale * r @ k.target + tr)
                for k in self.keyframes]
        samples = None if self.samples is None else replace(self.samples, c2w=pose(self.samples.c2w))
        anchor = None if self.anchor is None else Anchor(scale * r @ self.anchor.target + tr,
                                                         scale * self.anchor.extent)
        return replace(self, keyframes=keys, samples=samples, anchor=anchor)


def _check_increasing(times, where: str) -> None:
    t = np.asarray(times, dtype=np.float64)
    if not np.all(np.isfinite(t)):
        raise AmgError(f"{where}: times contain NaN or infinite values")
    if len(t) > 1 and t.max() == t.min():
        raise AmgError(f"{where}: zero-length path: all {len(t)} are at the same time ({t[0]:.6g} s)")
    bad = np.nonzero(np.diff(t) <= 0)[0]
    if len(bad):
        i = int(bad[0])
        raise AmgError(f"{where}: times must increase; [{i + 1}] at {t[i + 1]:.6g} s is not after "
                       f"[{i}] at {t[i]:.6g} s")
