"""nerfstudio `camera_path.json`: import and export.

What a file holds (both nerfstudio viewers write it; `ns-render` reads `camera_path`):
- `keyframes`: the artist's keys. "matrix" is camera-to-world, OpenGL axes; the legacy
  (three.js) viewer wrote it as a *string* of 16 numbers in column-major order with a
  "properties" string holding TIME (fraction of the path), the current (viser) viewer
  writes a list in row-major order with per-key "override_transition_sec".
- `camera_path`: the dense path, one entry per rendered frame: "camera_to_world"
  flattened row-major 4x4, "fov" (vertical, degrees), "aspect".
- `fps`, `seconds`, `render_width/height`, `is_cycle`, `smoothness_value`; optional:
  `default_fov`, `default_transition_sec`, `camera_type`, `crop`.
Import keeps both the keys and the dense path; the dense path is what plays.
"""

from __future__ import annotations

import json

import numpy as np

from amg.camera.camera import check_fov, check_pose
from amg.camera.formats._io import numbers
from amg.files import parse_json
from amg.camera.path import CameraPath, Keyframe, PoseSamples
from amg.errors import AmgError

NAME = "nerfstudio"


def _key_matrix(raw, where: str) -> np.ndarray:
    """A keyframe's 4x4 camera-to-world from 16 numbers in either layout: nerfstudio's lists are
    row-major and the legacy viewer's JSON text column-major (three.js), but older releases wrote
    the other way round. The layout is read from where the translation and the [0, 0, 0, 1] row
    are; only a matrix without translation (the same in both) falls back to the usual layout."""
    row_major = not isinstance(raw, str)
    if isinstance(raw, str):
        try:
            raw = parse_json(raw, f"{where}.matrix")
        except AmgError:
            raise AmgError(f"{where}: 'matrix' is a string but not a list of 16 numbers") from None
    rows = numbers(raw, f"{where}.matrix", 16).reshape(4, 4)
    last_row, last_column = np.allclose(rows[3], [0, 0, 0, 1]), np.allclose(rows[:, 3], [0, 0, 0, 1])
    if last_row != last_column:
        row_major = last_row
    return rows if row_major else rows.T


def _legacy_time(entry: dict, where: str) -> float | None:
    props = entry.get("properties")
    if props is None:
        return None
    try:
        pairs = parse_json(props, where) if isinstance(props, str) else props
        table = {str(k): v for k, v in pairs}
    except (AmgError, TypeError, ValueError):
        raise AmgError(f"{where}: 'properties' is not a list of [name, value] pairs") from None
    if "TIME" not in table:
        return None
    return float(numbers([table["TIME"]], f"{where}.properties TIME", 1)[0])


def _transition(entry: dict, default, where: str) -> float | None:
    if entry.get("override_transition_enabled") and entry.get("override_transition_sec") is not None:
        return float(numbers([entry["override_transition_sec"]], f"{where}: override_transition_sec", 1)[0])
    return default


def load(text: str, source: str) -> CameraPath:
    data = parse_json(text, source)
    if not isinstance(data, dict):
        raise AmgError(f"{source}: a nerfstudio camera path is a JSON object, got {type(data).__name__}")
    keys_raw = data.get("keyframes") or []
    dense_raw = data.get("camera_path") or []
    if not isinstance(keys_raw, list) or not isinstance(dense_raw, list):
        raise AmgError(f"{source}: 'keyframes' and 'camera_path' must be lists")
    if not keys_raw and not dense_raw:
        raise AmgError(f"{source}: no cameras: both 'keyframes' and 'camera_path' are missing or empty")
    loop = bool(data.get("is_cycle", False))
    fps = float(numbers([data.get("fps", 24)], f"{source}: fps", 1)[0])
    if fps <= 0:
        raise AmgError(f"{source}: fps must be positive, got {fps}")
    default_fov = data.get("default_fov")

    # dense path: frame i plays at i / fps
    c2w, fov = [], []
    for i, entry in enumerate(dense_raw):
        where = f"{source}: camera_path[{i}]"
        if not isinstance(entry, dict) or "camera_to_world" not in entry:
            raise AmgError(f"{where}: missing 'camera_to_world' matrix")
        c2w.append(check_pose(numbers(entry["camera_to_world"], f"{where}.camera_to_world", 16).reshape(4, 4), where))
        if "fov" not in entry:
            raise AmgError(f"{where}: missing 'fov'")
        fov.append(check_fov(entry["fov"], where))
    samples = None
    if dense_raw:
        samples = PoseSamples(np.arange(len(c2w)) / fps, np.stack(c2w), np.array(fov))

    n = len(keys_raw)
    seconds = data.get("seconds")
    if seconds is not None:
        seconds = float(numbers([seconds], f"{source}: seconds", 1)[0])
        if seconds <= 0:
            raise AmgError(f"{source}: zero-length path: 'seconds' is {seconds}")
    elif samples is not None:
        seconds = len(samples) / fps
    keys, aspect = [], None
    default_transition = data.get("default_transition_sec")
    clock = 0.0
    for i, entry in enumerate(keys_raw):
        where = f"{source}: keyframes[{i}]"
        if not isinstance(entry, dict) or "matrix" not in entry:
            raise AmgError(f"{where}: missing 'matrix'")
        m = check_pose(_key_matrix(entry["matrix"], where), where)
        f = entry.get("fov", default_fov)
        if f is None:
            raise AmgError(f"{where}: missing 'fov' (and no 'default_fov')")
        aspect = entry.get("aspect", aspect)
        frac = _legacy_time(entry, where)
        if frac is not None and seconds is not None:
            # legacy viewer: TIME spans the keys; a cycle's closing segment takes one more share
            t = frac * seconds * ((n - 1) / n if loop else 1.0)
        elif default_transition is not None or entry.get("override_transition_enabled"):
            if i > 0:
                step = _transition(entry, default_transition, where)
                clock += float(numbers([step], f"{where}: transition", 1)[0])
            t = clock
        elif seconds is not None and n > 1:
            # an open path's keys end on its last frame, (frames - 1) / fps, short of seconds = frames / fps
            end = samples.times[-1] if samples is not None and not loop else seconds
            t = end * i / (n if loop else n - 1)
        else:
            t = float(i)
        keys.append(Keyframe(t, m, check_fov(f, where), name=_key_name(entry, i)))

    # a cycle lasts `seconds` (its closing segment included) when that is longer than its keys
    span = (samples.times[-1] if samples is not None else (keys[-1].time if keys else 0.0))
    period = seconds if loop and seconds is not None and seconds > span else None
    if aspect is None and dense_raw:
        aspect = dense_raw[0].get("aspect")
    meta = {k: data[k] for k in ("fps", "seconds", "render_width", "render_height", "camera_type",
                                 "smoothness_value", "default_fov", "default_transition_sec", "crop")
            if k in data}
    # the current viewer's smoothness slider is the spline tension; the legacy one's is not
    tension = float(np.clip(numbers([data.get("smoothness_value", 0.0)], f"{source}: smoothness_value", 1)[0],
                            0.0, 1.0)) if "default_transition_sec" in data else 0.0
    if aspect is not None:
        aspect = float(numbers([aspect], f"{source}: aspect", 1)[0])
        if aspect <= 0:
            raise AmgError(f"{source}: aspect must be positive, got {aspect:g}")
    return CameraPath(keys, tension=tension, loop=loop, period=period, samples=samples,
                      aspect=aspect or None,
                      name=str(data.get("render_name", "")), source=source, meta={"nerfstudio": meta})


def _key_name(entry: dict, i: int) -> str:
    props = entry.get("properties")
    if isinstance(props, str):
        try:
            for k, v in parse_json(props, "properties"):
                if k == "NAME":
                    return str(v)
        except (AmgError, TypeError, ValueError):
            pass
    return ""


def dump(path: CameraPath, fps: float | None = None, width: int | None = None, height: int | None = None,
         retime_frames: int | None = None) -> str:
    """nerfstudio camera_path.json text (current viewer layout).

    The dense `camera_path` is the imported one when the path has it and no re-timing is
    asked; otherwise the path is sampled at `fps` (frame i at i / fps, end included).
    retime_frames: sample exactly this many frames from start to end instead.
    """
    meta = dict(path.meta.get("nerfstudio", {}))
    fps = float(fps or meta.get("fps") or 24.0)
    if retime_frames is None and path.samples is not None:
        c2w, fov = path.samples.c2w, path.samples.fov_y_deg
        if path.shake is not None:
            c2w, fov = path.poses_at(path.samples.times)
    else:
        if retime_frames is not None:
            times = path.frame_times(retime_frames, fps, retime=True)
        else:
            count = int(np.floor(path.duration * fps + 1e-6)) + (0 if path.loop else 1)
            times = path.frame_times(max(count, 1), fps)
        c2w, fov = path.poses_at(times)
    seconds = len(c2w) / fps  # nerfstudio renders round(seconds * fps) frames: exactly these
    aspect = width / height if width and height else (path.aspect or 1.0)
    width = int(width or meta.get("render_width") or 256)
    height = int(height or meta.get("render_height") or round(width / aspect))

    keyframes = []
    times = [k.time for k in path.keyframes]
    default_transition = float(np.diff(times)[0]) if len(times) > 1 else 1.0
    for i, k in enumerate(path.keyframes):
        if i == 0:
            step = (path.start + path.duration - times[-1]) if path.loop else None
        else:
            step = times[i] - times[i - 1]
        override = step is not None and abs(step - default_transition) > 1e-9
        keyframes.append({
            "matrix": [float(x) for x in k.c2w.reshape(-1)],
            "fov": float(k.fov_y_deg),
            "aspect": float(aspect),
            "override_transition_enabled": bool(override),
            "override_transition_sec": float(step) if override else None,
        })
    out = {
        "default_fov": float(path.keyframes[0].fov_y_deg) if path.keyframes else float(fov[0]),
        "default_transition_sec": default_transition,
        "keyframes": keyframes,
        "camera_type": meta.get("camera_type", "perspective"),
        "render_height": height,
        "render_width": width,
        "fps": fps,
        "seconds": float(seconds),
        "is_cycle": bool(path.loop),
        "smoothness_value": float(meta["smoothness_value"] if "smoothness_value" in meta
                                  and "default_transition_sec" not in meta else path.tension),
        "camera_path": [{"camera_to_world": [float(x) for x in m.reshape(-1)], "fov": float(f),
                         "aspect": float(aspect)} for m, f in zip(c2w, fov)],
    }
    if "crop" in meta:
        out["crop"] = meta["crop"]
    return json.dumps(out, indent=2) + "\n"
