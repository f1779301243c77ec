"""Camera-path presets with parameters (the UI's sliders map onto these).

Every preset frames `Subjects`: its look-at target defaults to their centroid and its
distance to one that fits their size, so a preset works wherever people are placed.
World Y up, metres, degrees; azimuth is measured about +Y from the +Z side (in front of
people facing +Z), counter-clockwise seen from above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from amg.camera.camera import look_at
from amg.camera.path import Anchor, CameraPath, Keyframe, Shake
from amg.camera.subjects import Subjects, frame_subjects_distance
from amg.errors import AmgError

#: Orbits and pans put a keyframe at least every this many degrees (radius error ~2e-6 relative).
MAX_STEP_DEG = 5.0
#: Zooms use this many keyframes so the apparent size changes at a steady rate.
ZOOM_KEYS = 9


@dataclass(frozen=True)
class Param:
    """One preset parameter: default, range or choices, and what it means (UI tooltip)."""

    name: str
    default: float | str | bool | list | None
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


COMMON = (
    Param("fov", 40.0, "vertical field of view, degrees", 5.0, 120.0),
    Param("azimuth", 0.0, "camera direction around the people, degrees (0 = in front)", -360.0, 360.0),
    Param("elevation", 5.0, "camera angle above the people's centre, degrees", -60.0, 85.0),
    Param("distance", None, "camera distance to the target, metres (default: frames the people)", 0.3, 50.0),
    Param("target", None, "look-at point [x, y, z] (default: the people's centroid)"),
    Param("target_height", None, "height of the look-at point above the floor, metres", -5.0, 10.0),
    Param("tension", 0.0, "spline tension: 0 smooth, 1 stops at each keyframe, <0 rounder", -1.0, 1.0),
    Param("constant_speed", False, "move at constant speed along the path"),
    Param("shake", 0.0, "handheld shake strength (1 = subtle)", 0.0, 3.0),
    Param("seed", 0.0, "random seed of the shake", 0.0, 2**31 - 1),
    Param("start", 0.0, "when the camera starts moving, as a fraction of the shot (it holds still before)", 0.0, 1.0),
    Param("end", 1.0, "when the camera stops moving, as a fraction of the shot (it holds still after)", 0.0, 1.0),
)

PRESET_PARAMS: dict[str, tuple[Param, ...]] = {
    "static": (),
    "orbit": (
        Param("angle", 360.0, "total orbit angle, degrees", 0.0, 720.0),
        Param("direction", "ccw", "orbit direction seen from above", choices=("ccw", "cw")),
        Param("radius", None, "horizontal distance to the target, metres (default: frames the people)", 0.3, 50.0),
        Param("height", None, "camera height above the floor, metres (default: from elevation)", -5.0, 20.0),
    ),
    "zoom_in": (
        Param("mode", "dolly", "dolly moves the camera; fov changes the lens", choices=("dolly", "fov")),
        Param("factor", 1.8, "how much larger the people appear at the end", 1.05, 8.0),
    ),
    "zoom_out": (
        Param("mode", "dolly", "dolly moves the camera; fov changes the lens", choices=("dolly", "fov")),
        Param("factor", 1.8, "how much smaller the people appear at the end", 1.05, 8.0),
    ),
    "dolly_zoom": (
        Param("direction", "in", "in: camera moves closer while the lens widens", choices=("in", "out")),
        Param("factor", 2.0, "ratio of end to start distance (or its inverse)", 1.05, 4.0),
    ),
    "crane": (
        Param("direction", "up", "vertical move of the camera", choices=("up", "down")),
        Param("amount", 1.0, "vertical travel, metres", 0.0, 10.0),
    ),
    "pan": (
        Param("direction", "right", "the camera turns this way", choices=("right", "left")),
        Param("angle", 40.0, "total turn, degrees (the people are centred half way)", 0.0, 180.0),
    ),
    "truck": (
        Param("direction", "right", "the camera slides this way", choices=("right", "left")),
        Param("amount", 1.5, "sideways travel, metres (the people are centred half way)", 0.0, 20.0),
    ),
    "follow": (
        Param("travel", True, "true: the camera travels with the people; false: it stays and turns"),
        Param("smooth", 0.25, "smoothing of the people's track, seconds", 0.0, 5.0),
    ),
    "handheld": (
        Param("shake", 1.0, "handheld shake strength (1 = subtle)", 0.0, 3.0),
    ),
}

PRESETS = tuple(PRESET_PARAMS)


def preset_params(name: str) -> tuple[Param, ...]:
    """All parameters of a preset (its own first, then the common ones it does not override)."""
    if name not in PRESET_PARAMS:
        raise AmgError(f"camera preset {name!r} is unknown; available: {', '.join(PRESETS)}")
    own = PRESET_PARAMS[name]
    names = {p.name for p in own}
    return own + tuple(p for p in COMMON if p.name not in names)


def resolve_params(name: str, params: dict | None) -> dict:
    """Defaults filled in and every value checked; AmgError names the parameter."""
    spec = {p.name: p for p in preset_params(name)}
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise AmgError(f"camera preset {name!r}: unknown parameter(s) {', '.join(unknown)}; "
                       f"known: {', '.join(spec)}")
    out = {}
    for key, p in spec.items():
        v = params.get(key, p.default)
        where = f"camera preset {name!r}: {key}"
        if v is None:
            out[key] = None
        elif p.choices:
            if str(v) not in p.choices:
                raise AmgError(f"{where} must be one of {', '.join(p.choices)}, got {v!r}")
            v = str(v)
        elif isinstance(p.default, bool):
            if isinstance(v, str) and v.lower() in ("true", "false", "1", "0", "yes", "no"):
                v = v.lower() in ("true", "1", "yes")
            if not isinstance(v, (bool, int, float)):
                raise AmgError(f"{where} must be true or false, got {v!r}")
            v = bool(v)
        elif key == "target":
            try:
                v = np.asarray(v, dtype=np.float64).reshape(3)
            except (TypeError, ValueError):
                raise AmgError(f"{where} must be three numbers [x, y, z], got {v!r}") from None
            if not np.all(np.isfinite(v)):
                raise AmgError(f"{where} must be finite, got {v.tolist()}")
        else:
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise AmgError(f"{where} must be a number, got {v!r}") from None
            if not np.isfinite(v) or (p.low is not None and v < p.low) or (p.high is not None and v > p.high):
                raise AmgError(f"{where} must be between {p.low:g} and {p.high:g}, got {v:g}")
        out[key] = v
    return out


def make_preset(name: str, params: dict | None = None, subjects: Subjects | None = None,
                duration: float = 2.0) -> CameraPath:
    """Build a preset path lasting `duration` seconds (keyframes from t = 0) around `subjects`.

    The `start`/`end` parameters are not part of the path: `move_times` applies them when
    the shot is sampled.
    """
    p = resolve_params(name, params)
    if p["start"] >= p["end"]:
        raise AmgError(f"camera preset {name!r}: start ({p['start']:g}) must come before end ({p['end']:g})")
    if not (np.isfinite(duration) and duration > 0):
        raise AmgError(f"camera preset {name!r}: duration must be positive, got {duration}")
    subjects = subjects or Subjects.standing_person()
    target = p["target"] if p["target"] is not None else subjects.centroid.copy()
    if p["target_height"] is not None:
        target[1] = p["target_height"]
    dist = p["distance"] or frame_subjects_distance(subjects.framing_extent(), p["fov"])
    keys = _BUILDERS[name](p, subjects, target, dist, duration)
    shake = Shake(p["shake"], int(p["seed"])) if p["shake"] > 0 else None
    return CameraPath(keys, tension=p["tension"], constant_speed=p["constant_speed"], shake=shake,
                      anchor=Anchor(target, subjects.extent), name=name, source=f"camera preset {name!r}",
                      meta={"preset": name, "params": _jsonable(p)})


# ---- builders: (params, subjects, target (3,), distance, duration) -> keyframes -------------
def _direction(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    return np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])


def _aimed(times, eyes, targets, fov) -> list[Keyframe]:
    fovs = np.broadcast_to(np.asarray(fov, dtype=np.float64), (len(times),))
    return [Keyframe(float(t), look_at(e, g), float(f), target=g) for t, e, g, f in zip(times, eyes, targets, fovs)]


def _static(p, subjects, target, dist, duration):
    eye = target + dist * _direction(p["azimuth"], p["elevation"])
    return _aimed([0.0, duration], [eye, eye], [target, target], p["fov"])


def _orbit(p, subjects, target, dist, duration):
    angle = p["angle"] * (1.0 if p["direction"] == "ccw" else -1.0)
    radius = p["radius"] or dist * np.cos(np.radians(p["elevation"]))
    height = p["height"] if p["height"] is not None else target[1] + dist * np.sin(np.radians(p["elevation"]))
    n = max(2, int(np.ceil(abs(angle) / MAX_STEP_DEG)) + 1)
    az = np.radians(p["azimuth"] + np.linspace(0.0, angle, n))
    eyes = np.stack([target[0] + radius * np.sin(az), np.full(n, height), target[2] + radius * np.cos(az)], 1)
    return _aimed(np.linspace(0.0, duration, n), eyes, [target] * n, p["fov"])


def _zoom(p, subjects, target, dist, duration, zoom_in: bool):
    steps = np.linspace(0.0, 1.0, ZOOM_KEYS)
    size = p["factor"] ** (steps if zoom_in else -steps)  # apparent size, relative to framing
    direction = _direction(p["azimuth"], p["elevation"])
    if p["mode"] == "dolly":
        eyes = target + (dist / size)[:, None] * direction
        fov = p["fov"]
    else:
        eyes = np.repeat((target + dist * direction)[None], ZOOM_KEYS, 0)
        fov = np.degrees(2 * np.arctan(np.tan(np.radians(p["fov"]) / 2) / size))
    return _aimed(steps * duration, eyes, [target] * ZOOM_KEYS, fov)


def _dolly_zoom(p, subjects, target, dist, duration):
    steps = np.linspace(0.0, 1.0, ZOOM_KEYS)
    ratio = p["factor"] ** (-steps if p["direction"] == "in" else steps)  # distance / start distance
    # the people keep their size: distance * tan(fov / 2) stays constant
    fov = np.degrees(2 * np.arctan(np.tan(np.radians(p["fov"]) / 2) / ratio))
    if fov.max() >= 170.0:
        raise AmgError(f"camera preset 'dolly_zoom': fov {p['fov']:g} with factor {p['factor']:g} would need a "
                       f"{fov.max():.0f} degree lens; lower the factor or the fov")
    eyes = target + (dist * ratio)[:, None] * _direction(p["azimuth"], p["elevation"])
    return _aimed(steps * duration, eyes, [target] * ZOOM_KEYS, fov)


def _crane(p, subjects, target, dist, duration):
    start = target + dist * _direction(p["azimuth"], p["elevation"])
    rise = p["amount"] * (1.0 if p["direction"] == "up" else -1.0)
    return _aimed([0.0, duration], [start, start + [0.0, rise, 0.0]], [target, target], p["fov"])


def _pan(p, subjects, target, dist, duration):
    eye = target + dist * _direction(p["azimuth"], p["elevation"])
    half = 0.5 * p["angle"] * (1.0 if p["direction"] == "right" else -1.0)
    n = max(2, int(np.ceil(p["angle"] / MAX_STEP_DEG)) + 1)
    yaw = np.radians(np.linspace(half, -half, n))  # turning right is a negative turn about +Y
    look = target - eye
    c, s = np.cos(yaw), np.sin(yaw)
    looks = np.stack([c * look[0] + s * look[2], np.full(n, look[1]), -s * look[0] + c * look[2]], 1)
    return _aimed(np.linspace(0.0, duration, n), [eye] * n, eye + looks, p["fov"])


def _truck(p, subjects, target, dist, duration):
    eye = target + dist * _direction(p["azimuth"], p["elevation"])
    right = look_at(eye, target)[:3, 0]
    half = 0.5 * p["amount"] * (1.0 if p["direction"] == "right" else -1.0) * right
    return _aimed([0.0, duration], [eye - half, eye + half], [target - half, target + half], p["fov"])


def _follow(p, subjects, target, dist, duration):
    track = np.array(subjects.track, dtype=np.float64)
    if len(track) == 1:
        track = np.repeat(track, 2, 0)
    times = np.linspace(0.0, duration, len(track))
    sigma = p["smooth"] / (times[1] - times[0])
    if sigma > 0:
        track = gaussian_filter1d(track, sigma, axis=0, mode="nearest")
    if p["target_height"] is not None:
        track[:, 1] = p["target_height"]
    offset = dist * _direction(p["azimuth"], p["elevation"])
    eyes = track + offset if p["travel"] else np.repeat((track[0] + offset)[None], len(track), 0)
    return _aimed(times, eyes, track, p["fov"])


def _handheld(p, subjects, target, dist, duration):
    return _static(p, subjects, target, dist, duration)


_BUILDERS = {
    "static": _static, "orbit": _orbit,
    "zoom_in": lambda *a: _zoom(*a, zoom_in=True), "zoom_out": lambda *a: _zoom(*a, zoom_in=False),
    "dolly_zoom": _dolly_zoom, "crane": _crane, "pan": _pan, "truck": _truck, "follow": _follow,
    "handheld": _handheld,
}


def _jsonable(params: dict) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in params.items() if v is not None}


def move_times(path: CameraPath, num_frames: int, start: float = 0.0, end: float = 1.0) -> np.ndarray:
    """(num_frames,) path times for a shot whose camera moves only between the fractions
    `start` and `end` of it, holding its first pose before and its last pose after."""
    u = np.arange(num_frames, dtype=np.float64) / max(num_frames - 1, 1)  # where in the shot, 0..1
    return path.start + np.clip((u - start) / (end - start), 0.0, 1.0) * path.duration
