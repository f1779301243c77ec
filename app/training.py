"""Preparing training clips and fine-tuning, for the Advanced tab: engine calls in sequence.

A fine-tune runs as a background job (app.jobs) so a reload re-attaches to it; cancelling
it keeps the checkpoint of the last finished step, and starting it again resumes there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from amg.errors import AmgError
from app import engine
from app.jobs import Job, JobCancelled


@dataclass
class TrainSettings:
    model: str = "tiny-random"
    steps: int = 200
    learning_rate: float = 1e-4
    checkpoint_every: int = 50


def dataset_summary(data) -> tuple[str, list[list[str]]]:
    """A line about the dataset and a table row per clip."""
    n = len(data.clips)
    text = (f"**{data.root.name}**: {n} clip{'s' if n != 1 else ''} of {data.frames} frames at "
            f"{data.width}x{data.height}, {data.fps:g} fps")
    return text, [[c.id, c.caption, Path(c.source).name, Path(c.motion).name] for c in data.clips]


def run_training(job: Job, dataset_dir: Path, output: Path, settings: TrainSettings, device: str | None) -> dict:
    """The work of a fine-tune job: load the base model (adapters unfused) and train."""
    if not engine.has("model"):
        raise AmgError(engine.missing("model"))
    from amg.model import load_pipeline
    from amg.train import TrainConfig, TrainingCancelled, TrainingData, train

    data = TrainingData.open(dataset_dir)
    job.report(0, settings.steps, None, f"loading the model {settings.model}", fraction=0.0)
    pipe = load_pipeline(settings.model, device=device, fuse_adapters=False)
    config = TrainConfig(steps=settings.steps, learning_rate=settings.learning_rate,
                         checkpoint_every=settings.checkpoint_every, warmup_steps=min(50, settings.steps // 10))

    def on_progress(p):
        if p.stage == "encoding clips":
            job.report(p.step, p.total, None, f"encoding clips {p.step}/{p.total}", fraction=0.05 * p.step / p.total,
                       stop_if_cancelled=False)
        else:
            job.report(p.step, p.total, p.seconds_left, f"step {p.step}/{p.total}, loss {p.loss:.4f}",
                       fraction=0.05 + 0.95 * p.step / p.total, stop_if_cancelled=False)

    try:
        result = train(pipe, data, output, config, progress=on_progress, should_cancel=job.should_cancel)
    except TrainingCancelled:
        raise JobCancelled() from None
    return dict(adapters=str(result.output), steps=result.steps, resumed_from=result.resumed_from,
                seconds=round(result.seconds, 1), losses=result.losses, random_base=pipe.random_base,
                settings=asdict(settings))
