"""A Table-1 style summary: every (generated, reference, prompt) triplet of a run folder
scored, then mean and standard deviation per run, as Markdown and CSV.

A run folder holds its triplets either
- listed in `triplets.jsonl` (one {"generated", "reference", "prompt", "name"?} per line)
  or `triplets.csv` (columns generated, reference, prompt[, name]), paths relative to
  the folder; or
- one sub-folder per triplet holding `generated.mp4`, `reference.mp4` (or
  `condition.mp4`, the avatar render) and optionally `prompt.txt`.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from amg.errors import AmgError
from amg.files import parse_json, read_text
from amg.eval.clip_score import ClipScorer, ClipUnavailable
from amg.eval.evaluate import EvalConfig, EvalResult, evaluate_pair

REFERENCE_NAMES = ("reference.mp4", "condition.mp4")


@dataclass
class Triplet:
    name: str
    generated: Path
    reference: Path
    prompt: str | None


@dataclass
class TripletScore:
    run: str
    triplet: Triplet
    result: EvalResult | None
    error: str = ""


def _manifest_rows(run_dir: Path) -> list[dict] | None:
    jsonl, csv_path = run_dir / "triplets.jsonl", run_dir / "triplets.csv"
    if jsonl.is_file():
        rows = []
        for i, line in enumerate(read_text(jsonl, "triplets").splitlines(), 1):
            if line.strip():
                row = parse_json(line, f"{jsonl}: line {i}")
                if not isinstance(row, dict):
                    raise AmgError(f"{jsonl}: line {i} must be a JSON object")
                rows.append(row)
        return rows
    if csv_path.is_file():
        return list(csv.DictReader(io.StringIO(read_text(csv_path, "triplets"), newline="")))
    return None


def find_triplets(run_dir: str | Path) -> list[Triplet]:
    """The triplets of a run folder (see the module doc for the layouts)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise AmgError(f"{run_dir}: run folder not found")
    rows = _manifest_rows(run_dir)
    triplets = []
    if rows is not None:
        for i, row in enumerate(rows, 1):
            for key in ("generated", "reference"):
                if not row.get(key):
                    raise AmgError(f"{run_dir}: triplet {i} of its manifest has no '{key}' path")
            prompt = row.get("prompt") or None
            triplets.append(Triplet(str(row.get("name") or Path(row["generated"]).stem), run_dir / row["generated"],
                                    run_dir / row["reference"], prompt))
    else:
        for sub in sorted(p for p in run_dir.iterdir() if p.is_dir()):
            gen = sub / "generated.mp4"
            ref = next((sub / n for n in REFERENCE_NAMES if (sub / n).is_file()), None)
            if not gen.is_file() or ref is None:
                continue
            prompt_file = sub / "prompt.txt"
            prompt = read_text(prompt_file, "prompt").strip() if prompt_file.is_file() else None
            triplets.append(Triplet(sub.name, gen, ref, prompt or None))
    if not triplets:
        raise AmgError(f"{run_dir}: no triplets found (expected triplets.jsonl, triplets.csv, or sub-folders "
                       "with generated.mp4 and reference.mp4 or condition.mp4)")
    return triplets


def evaluate_runs(run_dirs: list[str | Path], config: EvalConfig | None = None,
                  progress: Callable[[int, int, str], None] | None = None,
                  cancel: threading.Event | None = None) -> list[TripletScore]:
    """Score every triplet of every run. A triplet that fails (e.g. unreadable video) is kept
    with its error and left out of the means. progress(done, total, name) after each."""
    config = config or EvalConfig()
    work = [(Path(d).name or str(d), t) for d in run_dirs for t in find_triplets(d)]
    scorer: ClipScorer | None = None
    clip_reason = ""
    if any(t.prompt for _, t in work):
        try:  # load CLIP once for all pairs
            scorer = ClipScorer.from_pretrained(config.clip_model, allow_download=config.allow_download)
        except ClipUnavailable as e:
            clip_reason = str(e)
    scores = []
    for i, (run, triplet) in enumerate(work):
        if cancel is not None and cancel.is_set():
            raise KeyboardInterrupt("evaluation cancelled")
        try:
            # No scorer and a known reason: give evaluate_pair no prompt, record why below.
            result = evaluate_pair(triplet.generated, triplet.reference, triplet.prompt if scorer else None,
                                   config, clip_scorer=scorer, cancel=cancel)
            if triplet.prompt and scorer is None:
                result.prompt, result.clip_status, result.clip_reason = triplet.prompt, "unavailable", clip_reason
            scores.append(TripletScore(run, triplet, result))
        except AmgError as e:
            scores.append(TripletScore(run, triplet, None, str(e)))
        if progress is not None:
            progress(i + 1, len(work), triplet.name)
    return scores


def _mean_std(values: list[float]) -> tuple[float | None, float | None, int]:
    if not values:
        return None, None, 0
    arr = np.asarray(values, np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0, len(arr)


def summarize(scores: list[TripletScore]) -> list[dict]:
    """Per run: pairs, failures, and mean/std (sample, n-1) of both scores."""
    runs: dict[str, list[TripletScore]] = {}
    for s in scores:
        runs.setdefault(s.run, []).append(s)
    out = []
    for run, items in runs.items():
        ok = [s.result for s in items if s.result is not None]
        mf = _mean_std([r.motion_fidelity for r in ok if r.motion_fidelity is not None])
        clip = _mean_std([r.clip_score for r in ok if r.clip_score is not None])
        clip_status = sorted({r.clip_status for r in ok}) or ["-"]
        out.append(dict(
            run=run, pairs=len(items), failed=len(items) - len(ok),
            motion_fidelity_mean=mf[0], motion_fidelity_std=mf[1], motion_fidelity_n=mf[2],
            clip_score_mean=clip[0], clip_score_std=clip[1], clip_score_n=clip[2],
            clip_untrained=any(r.clip_untrained for r in ok),
            clip_status="/".join(clip_status),
            tracker="/".join(sorted({r.tracker for r in ok})) or "-",
            clip_model="/".join(sorted({r.clip_model for r in ok if r.clip_status == "ok"})) or "-",
            clip_reason="; ".join(sorted({r.clip_reason for r in ok if r.clip_status == "unavailable"})),
        ))
    return out


def _cell(mean: float | None, std: float | None, n: int, empty: str) -> str:
    return empty if mean is None else f"{mean:.2f} ± {std:.2f}" + ("" if n > 1 else " (n=1)")


def table_markdown(summary: list[dict]) -> str:
    """Table 1 layout: one row per run, mean ± std (sample std over its pairs)."""
    lines = ["| Run | Pairs | CLIP score ↑ | Motion Fidelity ↑ | Tracker | CLIP model |",
             "|---|---:|---:|---:|---|---|"]
    for s in summary:
        clip = _cell(s["clip_score_mean"], s["clip_score_std"], s["clip_score_n"], s["clip_status"])
        if s["clip_untrained"] and s["clip_score_mean"] is not None:
            clip += " (untrained weights)"
        mf = _cell(s["motion_fidelity_mean"], s["motion_fidelity_std"], s["motion_fidelity_n"], "n/a")
        pairs = f"{s['pairs']}" + (f" ({s['failed']} failed)" if s["failed"] else "")
        lines.append(f"| {s['run']} | {pairs} | {clip} | {mf} | {s['tracker']} | {s['clip_model']} |")
    lines += ["", "Mean ± sample standard deviation over each run's pairs. Motion Fidelity on the paper's "
                  "0-100 scale (50 x the symmetric nearest-neighbour sum); CLIP score 100 x cos(text, frame)."]
    for s in summary:
        if s["clip_reason"]:
            lines.append(f"- {s['run']}: CLIP score unavailable: {s['clip_reason']}")
        if s["clip_untrained"]:
            lines.append(f"- {s['run']}: CLIP weights are untrained (random): its CLIP scores mean nothing")
    return "\n".join(lines) + "\n"


CSV_COLUMNS = ("run", "name", "generated", "reference", "prompt", "motion_fidelity", "motion_fidelity_raw",
               "clip_score", "clip_status", "clip_untrained", "clip_model", "tracker", "tracklets_generated",
               "tracklets_reference", "frames_compared", "error")


def table_csv(scores: list[TripletScore], summary: list[dict]) -> str:
    """One row per triplet, then a `mean` and a `std` row per run."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for s in scores:
        row = dict(run=s.run, name=s.triplet.name, generated=str(s.triplet.generated),
                   reference=str(s.triplet.reference), prompt=s.triplet.prompt or "", error=s.error)
        if s.result is not None:
            r = s.result
            row.update(motion_fidelity=r.motion_fidelity, motion_fidelity_raw=r.motion_fidelity_raw,
                       clip_score=r.clip_score, clip_status=r.clip_status, clip_untrained=r.clip_untrained,
                       clip_model=r.clip_model, tracker=r.tracker, tracklets_generated=r.tracklets_generated,
                       tracklets_reference=r.tracklets_reference, frames_compared=r.frames_compared)
        writer.writerow(row)
    for s in summary:
        for stat in ("mean", "std"):
            writer.writerow(dict(run=s["run"], name=stat, motion_fidelity=s[f"motion_fidelity_{stat}"],
                                 clip_score=s[f"clip_score_{stat}"], clip_status=s["clip_status"],
                                 clip_untrained=s["clip_untrained"], clip_model=s["clip_model"], tracker=s["tracker"]))
    return buf.getvalue()
