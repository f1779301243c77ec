"""One progress/cancel protocol for long work: generation, training, preprocessing.

Long work takes `progress: Callable[[Progress], None]` (called as units finish; it may raise to
stop) and `should_cancel: Callable[[], bool]` (polled between units). Work that stops because
it was asked to raises an amg.errors.Cancelled subclass; inside diffusers pipelines the same
check runs from `callback_on_step_end`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Progress:
    stage: str  # e.g. "rendering", "encoding condition", "denoising", "decoding", "training"
    step: int  # units done in this stage
    total: int  # units in this stage
    seconds_left: float | None = None  # estimate for the whole call (None while unknown)
    elapsed_s: float | None = None  # since the call started
    loss: float | None = None  # training only
