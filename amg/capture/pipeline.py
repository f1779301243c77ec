"""Video -> tracked people -> SMPL-X motion per person + the camera, in one world.

    result = motion_from_video("clip.mp4", CaptureConfig(people=2))
    result.save("motion.npz", camera="camera.json")
    render_overlay(result, "clip.mp4", "overlay.mp4")   # avatars over the video

Stages: frames sampled by timestamp (amg.video.iter_frames) -> BlazePose per frame
(amg.capture.detect) -> identities (amg.capture.track) -> each person placed in camera space
by a perspective fit, gaps filled (amg.capture.world) -> the camera's turning measured on the
background and taken out (amg.capture.camera_motion) -> the floor estimated -> SMPL-X joints,
smoothed without lag -> rotations by the project's IK (amg.motion.ik) -> feet on the floor.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from amg.errors import AmgError


@dataclass
class CaptureConfig:
    people: int = 1               # how many people to follow (the most visible first)
    start: float = 0.0            # seconds into the video
    end: float | None = None      # seconds (None: to the end)
    fps: float | None = None      # sampling rate; None: the video's own rate, at most 30
    focal_mm: float | None = None  # 35 mm-equivalent focal length; None: from metadata, else 26 mm (a phone)
    max_side: int = 960           # frames are scaled down to this before detection (BlazePose works on 256 px crops)
    max_gap: float = 1.0          # seconds a person may vanish and be filled in (longer: flagged)
    min_height: float = 0.06      # people smaller than this fraction of the frame are too small to use
    smooth: bool = True
    plant_feet: bool = True
    camera_motion: bool = True    # measure the camera's turning (pan/tilt/roll) on the background
    static_below: float = 1.0     # degrees: a camera turning less than this is taken as static
    ik_iterations: int = 40


@dataclass
class CaptureResult:
    """motions: one per person (canonical size, Y up, floor y = 0), frame 0 at `times[0]`;
    camera: the camera path (static) in the same world; keypoints: (P, T, 33, 3) BlazePose
    pixels of the source video + visibility (NaN where the person was not seen); present:
    (P, T) seen in that frame; lost: (P, T) neither seen nor filled (gap too long / off screen);
    times: (T,) seconds into the video; notes: the assumptions made, in words."""

    motions: list
    camera: object
    keypoints: np.ndarray
    present: np.ndarray
    lost: np.ndarray
    times: np.ndarray
    fps: float
    width: int
    height: int
    focal_px: float
    scale: float
    track_ids: list[int]
    notes: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    @property
    def num_people(self) -> int:
        return len(self.motions)

    def save(self, motion: str | os.PathLike, camera: str | os.PathLike | None = None) -> Path:
        """Write the motion `.npz` (a person axis; `present`, `lost`, `times` and the notes
        ride along) and, if asked, the camera path (AMG's camera JSON)."""
        from amg.files import atomic_write_bytes
        from amg.motion.formats import npz_bytes

        m0 = self.motions[0]
        stack = lambda key: np.stack([getattr(m, key) for m in self.motions]).astype(np.float32)  # noqa: E731
        arrays = {"format": np.array("amg-motion"), "fps": np.array(self.fps),
                  "global_orient": stack("global_orient"), "body_pose": stack("body_pose"),
                  "transl": stack("transl"), "gender": np.array(m0.gender), "name": np.array(m0.name),
                  "names": np.array([m.name for m in self.motions]), "present": self.present,
                  "lost": self.lost, "times": self.times.astype(np.float64),
                  "keypoints_2d": self.keypoints.astype(np.float32),
                  "capture": np.array(json.dumps({"notes": self.notes, "width": self.width, "height": self.height,
                                                  "focal_px": self.focal_px, "scale": self.scale,
                                                  "track_ids": self.track_ids}))}
        path = Path(motion)
        atomic_write_bytes(path, npz_bytes(arrays))
        if camera is not None:
            from amg.camera.formats import save_camera_path

            save_camera_path(self.camera, camera)
        return path


def _metadata_focal_mm(path: Path) -> float | None:
    """A 35 mm-equivalent focal length from the container's tags, when a camera wrote one."""
    import av

    try:
        with av.open(str(path)) as c:
            tags = dict(c.metadata)
            for s in c.streams.video:
                tags.update(s.metadata)
    except Exception:  # noqa: BLE001  (tags are optional)
        return None
    for key, value in tags.items():
        if "focal" in key.lower() and ("35" in key or "equiv" in key.lower()):
            try:
                f = float(str(value).split()[0])
            except ValueError:
                continue
            if 5.0 < f < 600.0:
                return f
    return None


def _sample_fps(config: CaptureConfig, video_fps: float) -> float:
    if config.fps is not None:
        if not (math.isfinite(config.fps) and config.fps > 0):
            raise AmgError(f"capture fps must be a positive number, got {config.fps}")
        return float(config.fps)
    return float(min(video_fps, 30.0)) if video_fps > 0 else 30.0


def _check_config(config: CaptureConfig, video: Path, duration: float) -> None:
    if not (isinstance(config.people, int) and 1 <= config.people <= 8):
        raise AmgError(f"number of people must be between 1 and 8, got {config.people}")
    if not (math.isfinite(config.start) and config.start >= 0):
        raise AmgError(f"start must be a time in seconds >= 0, got {config.start}")
    if config.end is not None and not (math.isfinite(config.end) and config.end > config.start):
        raise AmgError(f"end must be a time in seconds after start ({config.start}), got {config.end}")
    if duration and config.start >= duration:
        raise AmgError(f"{video}: start {config.start:g} s is past the end of the video ({duration:.2f} s long)")
    if config.focal_mm is not None and not (math.isfinite(config.focal_mm) and 2.0 <= config.focal_mm <= 2000.0):
        raise AmgError(f"focal length must be between 2 and 2000 mm (35 mm equivalent), got {config.focal_mm}")


def motion_from_video(video: str | os.PathLike, config: CaptureConfig | None = None,
                      progress: Callable[[str, float], None] | None = None,
                      cancel: Callable[[], bool] | None = None) -> CaptureResult:
    """Every followed person's SMPL-X motion and the camera, from a video file.

    progress(message, fraction) is called as frames are processed; cancel() returning True
    stops between frames (AmgError). Raises AmgError for unreadable videos, nobody found,
    people too small, or a start past the end.
    """
    from amg.capture.detect import PoseDetector
    from amg.capture.track import TrackConfig, Tracker
    from amg.capture.world import (FOOT_POINTS, estimate_floor, fill_gaps, focal_px, intrinsics, one_euro, place,
                                   smplx_joints)
    from amg.video import iter_frames, probe_video

    config = config or CaptureConfig()
    video = Path(video)
    say = progress or (lambda msg, frac: None)
    info = probe_video(video)
    _check_config(config, video, info.duration)
    fps = _sample_fps(config, info.fps)
    end = config.end if config.end is None or not info.duration else min(config.end, info.duration)
    span = (end if end is not None else info.duration) - config.start
    expected = max(int(span * fps), 1) if span > 0 else 0
    notes = []
    focal_mm = config.focal_mm
    if focal_mm is None:
        focal_mm = _metadata_focal_mm(video)
        if focal_mm is not None:
            notes.append(f"focal length {focal_mm:g} mm (35 mm equivalent) from the video's metadata")
    if focal_mm is None:
        from amg.capture.world import DEFAULT_FOCAL_MM

        focal_mm = DEFAULT_FOCAL_MM
        notes.append(f"focal length assumed: {focal_mm:g} mm (35 mm equivalent, a phone's main camera); "
                     "depth and size scale with it: set it if you know it")
    W, H = info.width, info.height
    f_px = focal_px(W, H, focal_mm)
    K = intrinsics(W, H, f_px)

    timings = {"decode": 0.0, "detect": 0.0, "track": 0.0}
    tracker = Tracker(fps, TrackConfig(max_gap=config.max_gap))
    times = []
    t0 = time.perf_counter()
    from amg.capture.camera_motion import RotationTracker, rotation_angles

    turning = RotationTracker(K, W, H) if config.camera_motion else None
    timings["camera"] = 0.0
    with PoseDetector(num_poses=config.people) as detect:
        frames = iter_frames(video, start=config.start, end=end, fps=fps, max_side=config.max_side)
        while True:
            a = time.perf_counter()
            try:
                t, frame = next(frames)
            except StopIteration:
                break
            b = time.perf_counter()
            dets = detect(frame, t)
            c = time.perf_counter()
            sx = W / frame.shape[1]  # the tracker works in the decoded frame's pixels (it samples colours)
            tracker.update(len(times), frame, dets)
            times.append(t)
            d_ = time.perf_counter()
            if turning is not None:
                boxes = [np.r_[d.keypoints[:, :2].min(0), d.keypoints[:, :2].max(0)] * sx for d in dets]
                turning.update(frame, boxes, W)
                timings["camera"] += time.perf_counter() - d_
            timings["decode"] += b - a
            timings["detect"] += c - b
            timings["track"] += d_ - c
            if cancel is not None and cancel():
                raise AmgError("motion capture cancelled")
            say(f"frame {len(times)}/{expected or '?'}", min(len(times) / max(expected, 1), 1.0) * 0.8)
    times = np.asarray(times)
    T = len(times)
    for tr in tracker.tracks:
        for d in tr.detections:
            d.keypoints[:, :2] *= sx  # back to the video's own pixels
    if T == 0:
        raise AmgError(f"{video}: no frames between {config.start:g} s and {end if end is not None else 'the end'}")
    if not tracker.tracks:
        raise AmgError(f"{video}: no person found in {T} frames (nobody in view, or too small / too dark to see)")
    # the most visible people: seen longest, and biggest
    def weight(tr):
        return len(tr.frames) * float(np.median([d.height_px for d in tr.detections]))
    ranked = sorted(tracker.tracks, key=weight, reverse=True)
    # a track seen in a handful of frames is a false detection or a passer-by, not a performer
    solid = [tr for tr in ranked if len(tr.frames) >= max(3, 0.1 * T)] or ranked[:1]
    kept = solid[:config.people]
    if len(kept) < config.people:
        notes.append(f"{config.people} people asked for, {len(kept)} found")
    kept.sort(key=lambda tr: float(np.median([d.centre[0] for d in tr.detections])))  # left to right
    for p, tr in enumerate(kept):
        size = float(np.median([d.height_px for d in tr.detections])) / H
        if size < config.min_height:
            raise AmgError(f"{video}: person {p + 1} is too small to capture ({size:.0%} of the frame height; "
                           f"at least {config.min_height:.0%} needed)")
    P = len(kept)
    max_gap = max(1, int(round(config.max_gap * fps)))
    keypoints = np.full((P, T, 33, 3), np.nan)
    present = np.zeros((P, T), bool)
    cam = np.zeros((P, T, 33, 3))
    errors = []
    for p, tr in enumerate(kept):
        for i, det in zip(tr.frames, tr.detections):
            keypoints[p, i] = det.keypoints
            placed = place(det, K)
            if placed is not None:
                cam[p, i], err = placed
                present[p, i] = True
                errors.append(err)
        if not present[p].any():
            raise AmgError(f"{video}: person {p + 1} is never seen clearly enough to place in 3D")
    lost = np.zeros((P, T), bool)
    for p in range(P):
        cam[p], lost[p] = fill_gaps(cam[p], present[p], max_gap)
        if lost[p].any():
            notes.append(f"person {p + 1}: {int(lost[p].sum())} of {T} frames not seen and not filled "
                         f"(off screen or hidden longer than {config.max_gap:g} s); the pose is held there")
        filled = (~present[p] & ~lost[p]).sum()
        if filled:
            notes.append(f"person {p + 1}: {int(filled)} frames filled in between sightings")
    # the camera's turning: every frame's camera space brought into the first frame's
    turns = np.stack(turning.rotations) if turning is not None else np.tile(np.eye(3), (T, 1, 1))
    angles = rotation_angles(turns)
    static = float(angles.max()) < config.static_below
    if static:
        turns = np.tile(np.eye(3), (T, 1, 1))
        how = (f"static (measured: it turns less than {config.static_below:g} degree)" if turning is not None
               else "static (assumed; camera motion not measured)")
    else:
        how = (f"turning, up to {angles.max():.1f} degrees (pan/tilt/roll measured on the background); "
               "its position is taken as fixed (camera translation is not estimated)")
    if turning is not None and turning.unmeasured:
        how += f"; {turning.unmeasured} frame(s) had too little background to measure (held)"
    cam = np.einsum("tjk,ptnj->ptnk", turns, cam)   # R_t^T p: first-frame camera coordinates
    # floor from where feet are lowest in the image (one point per person and seen frame)
    feet = []
    for p in range(P):
        for i in np.flatnonzero(present[p]):
            pts = cam[p, i, FOOT_POINTS]
            feet.append(pts[np.argmax(pts[:, 1])])
    floor = estimate_floor(np.array(feet))
    notes.append(f"camera: {how}; {floor.method}")
    say("solving rotations", 0.8)
    world = floor.apply(cam)                              # (P, T, 33, 3) Y up, metres
    joints = smplx_joints(world)                           # (P, T, 22, 3)
    if config.smooth and T >= 3:
        joints = np.stack([one_euro(j.reshape(T, -1), fps).reshape(T, 22, 3) for j in joints])
    a = time.perf_counter()
    from amg.motion.ik import IKConfig, joints_to_motion, source_scale

    # one size for everyone, so people keep their distances; 40 L-BFGS iterations reach within
    # 1 mm of 100 here in a third of the time (the start is already close: joints, not markers)
    scale = source_scale(joints)
    motions = []
    for p in range(P):
        motions.append(joints_to_motion(joints[p], fps, name=video.stem, config=IKConfig(iterations=config.ik_iterations),
                                        scale=scale))
        say("solving rotations", 0.8 + 0.2 * (p + 1) / P)
    timings["ik"] = time.perf_counter() - a
    if config.plant_feet:
        motions = [plant_feet(m) for m in motions]
    for p, m in enumerate(motions):
        m.name = f"{video.stem} person {p + 1}" if P > 1 else video.stem
        m.meta.update({"source_format": "video (BlazePose capture)", "video": str(video),
                       "start": float(times[0]), "track": int(kept[p].id)})
    from amg.camera.camera import fov_from_focal
    from amg.camera.path import CameraPath, Keyframe

    from amg.camera.path import PoseSamples

    c2w = np.stack([floor.camera_c2w(r) for r in turns])
    c2w[:, :3, 3] /= scale   # the motions are at canonical size: the world shrinks with them
    fov = fov_from_focal(f_px, H)
    rel = times - times[0]
    last = max(float(rel[-1]), 1.0 / fps)
    samples = None if static or T < 2 else PoseSamples(rel, c2w, np.full(T, fov))
    camera = CameraPath([Keyframe(0.0, c2w[0], fov, name="video camera"), Keyframe(last, c2w[-1].copy(), fov)],
                        samples=samples, aspect=W / H, name=f"{video.stem} camera",
                        meta={"static": bool(static), "source": str(video), "focal_px": f_px, "width": W,
                              "height": H, "focal_mm_35": focal_mm, "floor": floor.method,
                              "max_turn_deg": round(float(angles.max()), 2)})
    timings["total"] = time.perf_counter() - t0
    if errors:
        notes.append(f"median reprojection error {np.median(errors):.1f} px")
    return CaptureResult(motions, camera, keypoints, present, lost, times, fps, W, H, f_px, scale,
                         [int(t.id) for t in kept], notes, timings)


def plant_feet(motion, max_speed: float = 0.6, height: float = 0.10):
    """Feet on the floor: no sole below y = 0 in any frame, and a planted foot (slow and
    within `height` of the lowest sole of the clip) resting on it, frame by frame; the
    body is moved vertically only, so jumps stay in the air and nothing slides."""
    from dataclasses import replace

    from amg.motion import edit

    soles = edit.sole_heights(motion)                         # (T, 2)
    feet = edit.joints(motion)[:, [10, 11]]                    # (T, 2, 3) foot (ball) positions
    speed = np.zeros(soles.shape)
    if motion.num_frames > 1:
        v = np.linalg.norm(np.diff(feet, axis=0), axis=-1) * motion.fps
        speed[1:] = v
        speed[0] = v[0]
    floor = np.percentile(soles.min(1), 10)
    planted = (speed < max_speed) & (soles < floor + height)
    low = soles.min(1)
    lift = np.where(planted.any(1), -np.where(planted, soles, np.inf).min(1), np.maximum(0.0, -low))
    # never push a foot below the floor
    lift = np.maximum(lift, -low)
    if motion.num_frames >= 5:
        k = np.array([1, 2, 3, 2, 1], float) / 9
        lift = np.maximum(np.convolve(np.pad(lift, 2, mode="edge"), k, mode="valid"), -low)
    transl = motion.transl.copy()
    transl[:, 1] += lift
    return replace(motion, transl=transl, meta=dict(motion.meta))
