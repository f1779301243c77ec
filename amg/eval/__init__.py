"""Evaluation as in AMG's Table 1: CLIP score and Motion Fidelity Score.

Main entry point: `evaluate_pair(generated, reference, prompt=None, config=EvalConfig())
-> EvalResult` (with `to_dict()`; `panel=True` adds a picture of the tracklets);
`evaluate_runs` + `summarize` + `table_markdown` / `table_csv` build a Table-1 style table.
"""

from amg.eval.clip_score import DEFAULT_CLIP_MODEL, TINY_RANDOM, ClipScore, ClipScorer, ClipUnavailable, clip_score
from amg.eval.cotracker import CoTrackerConfig, CoTrackerUnavailable
from amg.eval.evaluate import TRACKERS, EvalConfig, EvalResult, evaluate_pair
from amg.eval.lucas_kanade import LucasKanadeConfig, track_lucas_kanade
from amg.eval.motion_fidelity import MotionFidelity, MotionFidelityConfig, correlation_matrix, motion_fidelity_score
from amg.eval.table import evaluate_runs, find_triplets, summarize, table_csv, table_markdown
from amg.eval.tracklets import Tracklets

__all__ = [
    "DEFAULT_CLIP_MODEL", "TINY_RANDOM", "ClipScore", "ClipScorer", "ClipUnavailable", "clip_score",
    "CoTrackerConfig", "CoTrackerUnavailable", "TRACKERS", "EvalConfig", "EvalResult", "evaluate_pair",
    "LucasKanadeConfig", "track_lucas_kanade", "MotionFidelity", "MotionFidelityConfig", "correlation_matrix",
    "motion_fidelity_score", "Tracklets", "evaluate_runs", "find_triplets", "summarize", "table_csv", "table_markdown",
]
