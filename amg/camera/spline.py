"""Functional core of camera-path interpolation, parameterised by time in seconds.

- Positions, FOV and look-at targets: cubic Hermite curves whose tangents follow
  Kochanek-Bartels with a tension control (tension 0 = Catmull-Rom, 1 = stops at every
  keyframe, negative = rounder), with the finite-difference tangents of unevenly spaced
  keys so short and long segments join without loops; evaluated by scipy's
  CubicHermiteSpline.
- Rotations: squad (spherical cubic) on scipy Rotations; the same tension scales the
  inner control rotations (tension 1 = plain slerp between keyframes).
Closed (looping) curves pass from the last key back to the first at times[0] + period.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicHermiteSpline
from scipy.spatial.transform import Rotation


def _knots(times: np.ndarray, closed: bool, period: float | None) -> np.ndarray:
    t = np.asarray(times, dtype=np.float64)
    return np.append(t, t[0] + period) if closed else t


def kb_tangents(times: np.ndarray, values: np.ndarray, tension: float, closed: bool,
                period: float | None = None) -> np.ndarray:
    """Kochanek-Bartels tangents (continuity = bias = 0) per keyframe, per second.

    times: (N,) increasing key times; values: (N, D), N >= 2.
    Returns (N, D). Open ends take the slope of the parabola through the last three
    keys (Bessel), which keeps arcs such as orbits round up to their ends; two keys give
    a straight constant-speed move.
    """
    t = np.asarray(times, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    scale = 1.0 - tension
    if closed:
        tt = np.concatenate([[t[-1] - period], t, [t[0] + period]])
        vv = np.concatenate([v[-1:], v, v[:1]])
        return scale * (vv[2:] - vv[:-2]) / (tt[2:] - tt[:-2])[:, None]
    m = np.empty_like(v)
    m[1:-1] = scale * (v[2:] - v[:-2]) / (t[2:] - t[:-2])[:, None]
    slope = np.diff(v, axis=0) / np.diff(t)[:, None]
    if n == 2:
        m[0] = m[1] = scale * slope[0]
    else:
        d0, d1 = t[1] - t[0], t[2] - t[1]
        m[0] = scale * (slope[0] + (slope[0] - slope[1]) * d0 / (d0 + d1))
        d0, d1 = t[-1] - t[-2], t[-2] - t[-3]
        m[-1] = scale * (slope[-1] + (slope[-1] - slope[-2]) * d0 / (d0 + d1))
    return m


def hermite_curve(times: np.ndarray, values: np.ndarray, tension: float, closed: bool,
                  period: float | None = None) -> CubicHermiteSpline:
    """Curve through `values` (N, D) at `times` (N,) (closed: and back to the first at t0 + period)."""
    v = np.asarray(values, dtype=np.float64)
    m = kb_tangents(times, v, tension, closed, period)
    if closed:
        v, m = np.concatenate([v, v[:1]]), np.concatenate([m, m[:1]])
    return CubicHermiteSpline(_knots(times, closed, period), v, m, axis=0)


def _slerp(a: Rotation, b: Rotation, h: np.ndarray) -> Rotation:
    """Per-element shortest-arc slerp: a, b with M rotations each, h (M,) in [0, 1]."""
    return a * Rotation.from_rotvec((a.inv() * b).as_rotvec() * h[:, None])


def squad_controls(rots: Rotation, tension: float, closed: bool) -> Rotation:
    """Inner control rotations s_i of squad for keyframe rotations (N,)."""
    n = len(rots)
    idx = np.arange(n)
    nxt, prv = (idx + 1) % n, (idx - 1) % n
    inv = rots.inv()
    log_next = (inv * rots[nxt]).as_rotvec()
    log_prev = (inv * rots[prv]).as_rotvec()
    delta = -0.25 * (1.0 - tension) * (log_next + log_prev)
    if not closed:  # an open end has no neighbour on one side: no inner bend there
        delta[0] = delta[-1] = 0.0
    return rots * Rotation.from_rotvec(delta)


def squad(rots: Rotation, controls: Rotation, times: np.ndarray, t: np.ndarray, closed: bool,
          period: float | None = None) -> Rotation:
    """Rotations at times t (M,) on the squad curve through `rots` (N,) at `times` (N,)."""
    n = len(rots)
    knots = _knots(times, closed, period)
    t = np.asarray(t, dtype=np.float64)
    i = np.clip(np.searchsorted(knots, t, side="right") - 1, 0, len(knots) - 2)
    h = np.clip((t - knots[i]) / (knots[i + 1] - knots[i]), 0.0, 1.0)
    j = (i + 1) % n
    outer = _slerp(rots[i], rots[j], h)
    inner = _slerp(controls[i], controls[j], h)
    return _slerp(outer, inner, 2.0 * h * (1.0 - h))


def arc_length_table(curve: CubicHermiteSpline, samples_per_segment: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(t (K,), cumulative length (K,)) along a position curve over its whole time span."""
    knots = curve.x
    t = np.unique(np.concatenate([np.linspace(a, b, samples_per_segment + 1) for a, b in zip(knots[:-1], knots[1:])]))
    speed = np.linalg.norm(curve(t, 1), axis=-1)
    # trapezoid rule on the speed; fine enough at 64 samples per segment for camera moves
    length = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) * np.diff(t))])
    return t, length
