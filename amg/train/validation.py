"""Validation during training, and reading back what a run logged.

Every `validate_every` steps the main process generates fixed validation scenes: held-out
clips of the dataset (never trained on), each with its own fixed seed, through the exact
inference pipeline (AMGPipeline.__call__, the adapters as they are at that step). It saves

    OUTPUT/validation/step-N/<clip id>.mp4     the generated video
    OUTPUT/validation/step-N/validation.json   per scene: video, its avatar video, seed,
                                               Motion Fidelity (and CLIP score where CLIP
                                               weights exist); their means

and the means go to TensorBoard beside the loss (accelerate's tracker, OUTPUT/logs/).
`read_scalars` and `latest_validation` read both back (the app's plots use them).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from amg.errors import AmgError
from amg.files import atomic_write_text
from amg.train.dataset import TrainingData

LOG_DIR = "logs"
PROJECT = "amg-train"
VALIDATION_DIR = "validation"
VALIDATION_FILE = "validation.json"


def split_validation(dataset: TrainingData, count: int) -> tuple[list[int], list[int]]:
    """(training clip indices, held-out validation clip indices): the last `count` clips are held out."""
    n = len(dataset.clips)
    if count < 0 or count >= n and count > 0:
        raise AmgError(f"{dataset.root}: cannot hold out {count} validation clip(s) of {n}; at least one clip "
                       "must be left to train on (add clips, or ask for fewer)")
    return list(range(n - count)), list(range(n - count, n))


@dataclass
class Validator:
    """Generates the validation scenes with `pipe` and scores them against their avatar videos."""

    pipe: object
    dataset: TrainingData
    clips: list[int]
    output: Path
    steps: int = 20
    seed: int = 0
    clip_model: str | None = None  # CLIP weights for the CLIP score (None or missing: not scored)
    writes: bool = True  # False: generate only (an FSDP process that is not the main one takes part in each forward)

    def __post_init__(self):
        self._scorer, self.clip_note = None, "CLIP score off"
        if self.clip_model and self.writes:
            from amg.eval import ClipScorer, ClipUnavailable

            try:
                scorer = ClipScorer.from_pretrained(self.clip_model, device="cpu")
                if scorer.untrained:
                    self.clip_note = f"CLIP {self.clip_model} has untrained weights: not scored"
                else:
                    self._scorer, self.clip_note = scorer, f"CLIP score with {self.clip_model}"
            except ClipUnavailable as e:
                self.clip_note = f"CLIP score unavailable: {e}"

    def run(self, step: int) -> dict:
        """Generate, save and score every validation scene at `step`; returns the metrics to log."""
        from amg.eval import EvalConfig, evaluate_pair
        from amg.video import write_mp4

        folder = self.output / VALIDATION_DIR / f"step-{step:08d}"
        if self.writes:
            folder.mkdir(parents=True, exist_ok=True)
        denoiser = self.pipe.denoiser
        was_training = denoiser.training
        denoiser.eval()
        encoder_device = self.pipe.text_encoder.device  # the trainer may have parked it on the CPU
        self.pipe.text_encoder.to(self.pipe.device)
        scenes = []
        try:
            for j, i in enumerate(self.clips):
                clip = self.dataset.clips[i]
                _, condition = self.dataset.load(clip)
                g = torch.Generator(device=self.pipe.device).manual_seed(self.seed * 1_000_003 + j)
                out = self.pipe(clip.caption, condition, num_inference_steps=self.steps, generator=g)
                if not self.writes:
                    continue
                video = folder / f"{clip.id}.mp4"
                write_mp4(out.frames, video, self.dataset.fps)
                score = evaluate_pair(out.frames, condition, prompt=clip.caption if self._scorer else None,
                                      config=EvalConfig(tracker="lk"), clip_scorer=self._scorer)
                scenes.append({"clip": clip.id, "caption": clip.caption, "seed": self.seed * 1_000_003 + j,
                               "video": str(video), "avatar": str(clip.condition_path(self.dataset.root)),
                               "footage": str(clip.video_path(self.dataset.root)),
                               "motion_fidelity": score.motion_fidelity, "clip_score": score.clip_score})
        finally:
            denoiser.train(was_training)
            self.pipe.text_encoder.to(encoder_device)
        if not self.writes:
            return {}
        metrics = {"validation/motion_fidelity": _mean([s["motion_fidelity"] for s in scenes])}
        if self._scorer is not None:
            metrics["validation/clip_score"] = _mean([s["clip_score"] for s in scenes])
        record = {"step": step, "scenes": scenes, "inference_steps": self.steps, "clip_note": self.clip_note,
                  **{k.removeprefix("validation/"): v for k, v in metrics.items()}}
        atomic_write_text(folder / VALIDATION_FILE, json.dumps(record, indent=1) + "\n")
        return {k: v for k, v in metrics.items() if v is not None}


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def read_scalars(output: str | os.PathLike) -> dict[str, list[tuple[int, float]]]:
    """What a run logged to TensorBoard: tag -> [(step, value)] in step order. A resumed run's
    re-done steps replace the killed run's (TensorBoard purges the orphaned events)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = Path(output) / LOG_DIR / PROJECT
    if not folder.is_dir():
        return {}
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()
    out = {}
    for tag in acc.Tags().get("scalars", []):
        by_step = {e.step: float(e.value) for e in acc.Scalars(tag)}  # a repeated step: the last one written
        out[tag] = sorted(by_step.items())
    return out


def latest_validation(output: str | os.PathLike) -> dict | None:
    """The newest complete validation record under OUTPUT/validation (None if there is none)."""
    folder = Path(output) / VALIDATION_DIR
    done = sorted(folder.glob(f"step-*/{VALIDATION_FILE}")) if folder.is_dir() else []
    for path in reversed(done):
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return None
