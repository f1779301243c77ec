"""Scoring one (generated, reference) pair: Motion Fidelity and CLIP score together.

This is the engine API behind `amg eval` and the UI's Evaluate panel:

    from amg.eval import evaluate_pair, EvalConfig
    result = evaluate_pair("gen.mp4", "condition.mp4", prompt="a man dances on a beach")
    result.motion_fidelity, result.clip_score, result.to_dict()
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import cv2
import numpy as np

from amg.errors import AmgError
from amg.eval.clip_score import DEFAULT_CLIP_MODEL, ClipScore, ClipScorer, clip_score
from amg.eval.cotracker import CoTrackerConfig, CoTrackerUnavailable, load_cotracker, track_cotracker
from amg.eval.lucas_kanade import LucasKanadeConfig, track_lucas_kanade
from amg.eval.motion_fidelity import MotionFidelityConfig, motion_fidelity_score
from amg.eval.tracklets import Tracklets
from amg.eval.video_pair import prepare_pair

TRACKERS = ("auto", "lk", "lk-grid", "cotracker")


@dataclass
class EvalConfig:
    #: "lk": Lucas-Kanade on good features; "lk-grid": on a dense grid; "cotracker": the
    #: learned tracker (falls back to "lk", and says so, when unavailable); "auto":
    #: CoTracker when its code and weights are on disk, else "lk".
    tracker: str = "auto"
    lucas_kanade: LucasKanadeConfig = field(default_factory=LucasKanadeConfig)
    #: Grid step (pixels) used by "lk-grid".
    grid_step_px: int = 8
    cotracker: CoTrackerConfig = field(default_factory=CoTrackerConfig)
    motion: MotionFidelityConfig = field(default_factory=MotionFidelityConfig)
    #: Pick frames evenly when the two videos have different frame counts (else refuse).
    resample: bool = False
    #: Track at most this size (longer side, pixels); None keeps the videos' size.
    max_side: int | None = 512
    #: CLIP weights: hub id, local folder, or "tiny-random" (untrained, for tests).
    clip_model: str = DEFAULT_CLIP_MODEL
    allow_download: bool = False


@dataclass
class EvalResult:
    """Both scores for one pair, with what produced them. JSON-ready through to_dict()."""

    motion_fidelity: float | None  # 0-100, the paper's Table 1 scale
    motion_fidelity_raw: float | None  # in [-2, 2]: the sum of the two directions
    tracker: str
    tracklets_generated: int  # moving tracklets compared
    tracklets_reference: int
    clip_score: float | None
    clip_model: str
    clip_status: str
    clip_untrained: bool
    frames_generated: int
    frames_reference: int
    frames_compared: int
    size_compared: tuple[int, int]  # (H, W) the tracking ran at
    seconds: float
    prompt: str | None = None
    clip_reason: str = ""
    clip_per_frame: list[float] = field(default_factory=list)
    motion_generated_to_reference: float | None = None
    motion_reference_to_generated: float | None = None
    notes: list[str] = field(default_factory=list)
    #: (H, 2W+4, 3) uint8: reference | generated last frames with their tracklets (if asked for).
    panel: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """Everything but the panel image, JSON-ready."""
        d = {k: v for k, v in asdict(self).items() if k != "panel"}
        d["size_compared"] = list(self.size_compared)
        return d


def _seed_mask(mask: np.ndarray | None, size_hw: tuple[int, int], box: bool) -> np.ndarray | None:
    """(H, W) bool at tracking size from a (H', W') or (T, H', W') mask (its first frame)."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask[0]
    if mask.ndim != 2:
        raise AmgError(f"mask: must be (H, W) or (T, H, W), got shape {mask.shape}")
    h, w = size_hw
    if abs(mask.shape[1] / mask.shape[0] - w / h) > 0.02 * (w / h):
        raise AmgError(f"mask: is {mask.shape[1]}x{mask.shape[0]} but the reference video's frames have a "
                       f"different shape ({w}x{h} as tracked): it must cover the reference's frames")
    mask = mask.astype(bool)
    if not mask.any():
        raise AmgError("mask: selects no pixel")
    if box:  # DMT's choice: the bounding box of the mask, so nearby context counts too
        ys, xs = np.nonzero(mask)
        mask = np.zeros_like(mask)
        mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True
    return cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


@functools.lru_cache(maxsize=2)
def _cached_cotracker(repo_dir: str | None, checkpoint: str | None, allow_download: bool, device: str):
    """Load CoTracker once per setting (a table scores many pairs); failures are not cached."""
    return load_cotracker(CoTrackerConfig(repo_dir=repo_dir, checkpoint=checkpoint,
                                          allow_download=allow_download, device=device))


def _tracker_plan(config: EvalConfig, notes: list[str]):
    """Load CoTracker if asked for and available; otherwise say why and use Lucas-Kanade."""
    if config.tracker not in TRACKERS:
        raise AmgError(f"tracker: unknown {config.tracker!r} (choose from {', '.join(TRACKERS)})")
    if config.tracker in ("auto", "cotracker"):
        c = config.cotracker
        try:
            return _cached_cotracker(c.repo_dir, c.checkpoint, c.allow_download, c.resolved_device())
        except CoTrackerUnavailable as e:
            notes.append(f"{e}; used OpenCV Lucas-Kanade instead")
    return None


def track(frames: np.ndarray, config: EvalConfig, predictor=None, mask: np.ndarray | None = None,
          cancel: threading.Event | None = None) -> Tracklets:
    """Tracklets of one video with the configured tracker. frames: (T, H, W, 3) uint8."""
    if predictor is not None:
        return track_cotracker(predictor, frames, config.cotracker, mask)
    lk = config.lucas_kanade
    if config.tracker == "lk-grid":
        lk = LucasKanadeConfig(**{**asdict(lk), "grid_step_px": config.grid_step_px})
    return track_lucas_kanade(frames, lk, mask, cancel=cancel)


def evaluate_pair(
    generated,
    reference,
    prompt: str | None = None,
    config: EvalConfig | None = None,
    mask: np.ndarray | None = None,
    mask_box: bool = False,
    clip_scorer: ClipScorer | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel: threading.Event | None = None,
    panel: bool = False,
) -> EvalResult:
    """Motion Fidelity of `generated` against `reference`, and CLIP score of `generated` vs `prompt`.

    generated, reference: video paths or (T, H, W, 3) uint8 arrays.
    prompt: the caption; None skips the CLIP score.
    mask: (H, W) or (T, H, W) bool in the reference's pixels (e.g. the avatar's render mask):
    points are seeded only inside its first frame, in both videos; mask_box uses its
    bounding box instead (as the DMT evaluation code does).
    clip_scorer: an already loaded scorer (for many pairs); else `config.clip_model` loads.
    progress(fraction, message) is called as work proceeds; setting `cancel` stops it
    (KeyboardInterrupt). panel: also draw the tracklets (EvalResult.panel) to look at.
    """
    config = config or EvalConfig()
    config.motion.check()  # before the slow work, not after it
    if config.max_side is not None and not (isinstance(config.max_side, int) and 16 <= config.max_side <= 8192):
        raise AmgError(f"max side must be 16-8192 pixels (or none), got {config.max_side}")
    started = time.perf_counter()

    def report(fraction: float, message: str):
        if cancel is not None and cancel.is_set():
            raise KeyboardInterrupt("evaluation cancelled")
        if progress is not None:
            progress(fraction, message)

    report(0.0, "reading videos")
    pair = prepare_pair(generated, reference, resample=config.resample, max_side=config.max_side)
    notes = list(pair.notes)
    size = pair.reference.shape[1:3]
    seed_mask = _seed_mask(mask, size, mask_box)
    predictor = _tracker_plan(config, notes)
    report(0.1, "tracking the reference video")
    ref_tracks = track(pair.reference, config, predictor, seed_mask, cancel)
    report(0.4, "tracking the generated video")
    gen_tracks = track(pair.generated, config, predictor, seed_mask, cancel)
    report(0.7, "comparing motion")
    mf = motion_fidelity_score(gen_tracks, ref_tracks, config.motion)
    if mf.note:
        notes.append(mf.note)
    if prompt is not None and prompt.strip():
        report(0.75, "CLIP score")
        # CLIP's processor resizes to its own input size (224 for ViT-H-14), below max_side.
        clip = clip_score(pair.generated, prompt, clip_scorer or config.clip_model, config.allow_download)
    else:
        clip = ClipScore(None, config.clip_model, "not requested", reason="no prompt given")
    image = None
    if panel:
        from amg.eval.visualize import tracklet_panel

        image = tracklet_panel(pair.reference, pair.generated, ref_tracks, gen_tracks, config.motion.min_extent_px)
    report(1.0, "done")
    return EvalResult(
        motion_fidelity=mf.score, motion_fidelity_raw=mf.raw, tracker=ref_tracks.tracker,
        tracklets_generated=mf.tracklets_generated, tracklets_reference=mf.tracklets_reference,
        clip_score=clip.value, clip_model=clip.model, clip_status=clip.status, clip_untrained=clip.untrained,
        frames_generated=pair.frames_generated, frames_reference=pair.frames_reference,
        frames_compared=len(pair.reference), size_compared=tuple(int(s) for s in size),
        seconds=time.perf_counter() - started, prompt=prompt, clip_reason=clip.reason,
        clip_per_frame=clip.per_frame, motion_generated_to_reference=mf.generated_to_reference,
        motion_reference_to_generated=mf.reference_to_generated, notes=notes, panel=image,
    )

