"""Motion Fidelity Score (Yatim et al. 2024, "Space-Time Diffusion Features for Zero-Shot
Text-Driven Motion Transfer"), as AMG's Table 1 reports it.

For tracklets T (reference) and T~ (generated), the correlation of two tracklets is the
mean over frames of the cosine between their frame-to-frame displacements:

    corr(tau, tau~) = 1/F * sum_k  <v_k, v~_k> / (|v_k| |v~_k|)

and the score is the symmetric nearest-neighbour sum

    raw = 1/|T~| sum_{tau~ in T~} max_{tau in T} corr  +  1/|T| sum_{tau in T} max_{tau~ in T~} corr

which lies in [-2, 2]; Table 1 prints 50 * raw (0-100; ground truth 99.88).

Two refinements, both settings (0 turns each off and gives the formula above exactly):
- `still_px`: a displacement shorter than this is "no motion". The cosine of a zero
  vector is undefined (the public code divides by zero); here two still steps agree
  (count 1) and a still step against a moving one counts 0.
- `min_extent_px`: tracklets that never get this far from their start are static
  background. They are left out, so a still backdrop neither dilutes a perfect match
  nor lets a frozen video score: a video with no moving point scores 0 against one that
  moves.
Only directions are compared, so the score is blind to where motion happens (a shifted
copy scores ~100) and to image scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

from amg.errors import AmgError
from amg.eval.tracklets import Tracklets


@dataclass
class MotionFidelityConfig:
    #: Per-frame displacement (pixels) below which a point counts as still.
    still_px: float = 0.1
    #: Tracklets that never move this far (pixels) from their start are left out.
    min_extent_px: float = 1.0

    def check(self) -> None:
        for name in ("still_px", "min_extent_px"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise AmgError(f"{name.replace('_', '-')} must be a number of pixels, 0 or more, got {value}")


@dataclass
class MotionFidelity:
    """score: the paper's 0-100 scale (None when neither video has a moving point)."""

    score: float | None
    raw: float | None
    tracklets_generated: int
    tracklets_reference: int
    #: Mean best correlation of the generated tracklets with the reference, and back.
    generated_to_reference: float | None
    reference_to_generated: float | None
    note: str = ""


def unit_displacements(points: np.ndarray, still_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit displacement directions and stillness flags.

    points: (N, T, 2) positions. Returns units (N, T-1, 2), zero where the step is
    shorter than `still_px` (or exactly zero), and still (N, T-1) float 0/1 (all zero
    when `still_px` <= 0: no "still agrees with still" rule).
    """
    disp = np.diff(np.asarray(points, np.float64), axis=1)
    norm = np.linalg.norm(disp, axis=-1)
    moving = norm > max(float(still_px), 0.0)
    units = np.where(moving[..., None], disp / np.maximum(norm, 1e-12)[..., None], 0.0)
    still = (~moving).astype(np.float64) if still_px > 0 else np.zeros_like(norm)
    return units, still


def correlation_matrix(points_a: np.ndarray, points_b: np.ndarray, still_px: float = 0.0) -> np.ndarray:
    """corr(a_i, b_j) for every pair: (N, M) in [-1, 1].

    points_a: (N, T, 2), points_b: (M, T, 2), the same T >= 2.
    """
    if points_a.shape[1] != points_b.shape[1]:
        raise ValueError(f"tracklets span {points_a.shape[1]} and {points_b.shape[1]} frames: they must match")
    ua, sa = unit_displacements(points_a, still_px)
    ub, sb = unit_displacements(points_b, still_px)
    n_steps = ua.shape[1]
    # Sum over frames of per-frame cosines = dot product of the flattened unit sequences.
    corr = ua.reshape(len(ua), -1) @ ub.reshape(len(ub), -1).T + sa @ sb.T
    return corr / n_steps


def symmetric_nearest_neighbour(corr: np.ndarray) -> tuple[float, float]:
    """(mean over columns of the best row, mean over rows of the best column) of (N, M) corr."""
    return float(corr.max(axis=0).mean()), float(corr.max(axis=1).mean())


def motion_fidelity_score(generated: Tracklets | np.ndarray, reference: Tracklets | np.ndarray,
                          config: MotionFidelityConfig | None = None) -> MotionFidelity:
    """Motion Fidelity Score of generated tracklets (M, T, 2) against reference ones (N, T, 2)."""
    config = config or MotionFidelityConfig()
    config.check()
    gen = generated if isinstance(generated, Tracklets) else Tracklets(generated, "given", (0, 0), len(generated))
    ref = reference if isinstance(reference, Tracklets) else Tracklets(reference, "given", (0, 0), len(reference))
    gen, ref = gen.moving(config.min_extent_px), ref.moving(config.min_extent_px)
    n_gen, n_ref = len(gen), len(ref)
    if n_gen == 0 and n_ref == 0:
        return MotionFidelity(None, None, 0, 0, None, None,
                              "no point moves in either video: there is no motion to compare")
    if n_gen == 0 or n_ref == 0:
        which = "generated" if n_gen == 0 else "reference"
        return MotionFidelity(0.0, 0.0, n_gen, n_ref, 0.0, 0.0,
                              f"no point moves in the {which} video: none of the other's motion is matched")
    corr = correlation_matrix(ref.points, gen.points, config.still_px)  # (N_ref, M_gen)
    gen_to_ref, ref_to_gen = symmetric_nearest_neighbour(corr)
    raw = gen_to_ref + ref_to_gen
    return MotionFidelity(50.0 * raw, raw, n_gen, n_ref, gen_to_ref, ref_to_gen)
