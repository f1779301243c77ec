"""Preparing training clips and fine-tuning, for the Advanced tab: engine calls in sequence.

A fine-tune runs as a background job (app.jobs) so a reload re-attaches to it; cancelling
it keeps the checkpoint of the last finished step, and starting it again resumes there.
With more than one process it runs `accelerate launch ... -m amg train` (the CLI, its
progress as JSON lines; cancelling creates OUTPUT/STOP, which every process obeys).
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
    processes: int = 1          # data-parallel processes (accelerate launch when more than one)
    validate_every: int = 0     # steps between validations (0: none)
    validation_clips: int = 0   # the dataset's last N clips, held out as validation scenes

    def check(self) -> None:
        import os

        limit = max(1, os.cpu_count() or 1, _gpus())
        if not 1 <= self.processes <= limit:
            raise AmgError(f"processes must be 1 to {limit} on this machine (one per GPU, or per CPU core), "
                           f"got {self.processes}")
        from amg.train import TrainConfig

        TrainConfig(steps=self.steps, learning_rate=self.learning_rate, checkpoint_every=self.checkpoint_every,
                    validate_every=self.validate_every, validation_clips=self.validation_clips).check()


def _gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


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
    settings.check()
    if settings.processes > 1:
        return _run_launched(job, dataset_dir, output, settings, device)
    from amg.model import load_pipeline
    from amg.train import TrainConfig, TrainingCancelled, TrainingData, train

    data = TrainingData.open(dataset_dir)
    job.report(0, settings.steps, None, f"loading the model {settings.model}", fraction=0.0)
    pipe = load_pipeline(settings.model, device=device, fuse_adapters=False)
    config = TrainConfig(steps=settings.steps, learning_rate=settings.learning_rate,
                         checkpoint_every=settings.checkpoint_every, warmup_steps=_warmup(settings),
                         validate_every=settings.validate_every, validation_clips=settings.validation_clips)

    def on_progress(p):
        _report(job, p.stage, p.step, p.total, p.loss, p.seconds_left)

    try:
        result = train(pipe, data, output, config, progress=on_progress, should_cancel=job.should_cancel)
    except TrainingCancelled:
        raise JobCancelled() from None
    return dict(adapters=str(result.output), steps=result.steps, resumed_from=result.resumed_from,
                seconds=round(result.seconds, 1), losses=result.losses, random_base=pipe.random_base,
                settings=asdict(settings), processes=result.processes)


def _warmup(settings: TrainSettings) -> int:
    return min(50, settings.steps // 10)


def _report(job: Job, stage: str, step: int, total: int, loss, seconds_left) -> None:
    if stage == "encoding clips":
        job.report(step, total, None, f"encoding clips {step}/{total}", fraction=0.05 * step / max(total, 1),
                   stop_if_cancelled=False)
    elif stage == "validating":
        job.report(step, total, None, f"validating at step {step}", stop_if_cancelled=False)
    else:
        job.report(step, total, seconds_left, f"step {step}/{total}, loss {loss:.4f}",
                   fraction=0.05 + 0.95 * step / total, stop_if_cancelled=False)


def _run_launched(job: Job, dataset_dir: Path, output: Path, settings: TrainSettings, device: str | None) -> dict:
    """The fine-tune on `settings.processes` processes: `accelerate launch -m amg train`, followed
    through its JSON progress lines; Cancel creates OUTPUT/STOP (a checkpoint, then exit 130)."""
    import json
    import os
    import queue
    import subprocess
    import sys
    import threading

    import amg
    from amg.cli.train import STOP_FILE

    job.report(0, settings.steps, None, f"starting {settings.processes} training processes", fraction=0.0)
    output.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
           str(settings.processes), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", "0", "-m", "amg", "train", str(dataset_dir), "-o", str(output),
           "--model", settings.model, "--steps", str(settings.steps), "--lr", str(settings.learning_rate),
           "--checkpoint-every", str(settings.checkpoint_every), "--warmup-steps", str(_warmup(settings)),
           "--validate-every", str(settings.validate_every), "--validation-clips", str(settings.validation_clips),
           "--device", device or "auto", "--progress-json"]
    root = str(Path(amg.__file__).resolve().parents[1])  # the processes import this very amg
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    log_path = output / "launch.log"
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env, bufsize=1)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
        done, asked = None, False
        while True:
            if job.should_cancel() and not asked:
                (output / STOP_FILE).touch()
                asked = True
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if proc.poll() is not None and lines.empty():
                    break
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("stage") == "done":
                done = event
            elif "step" in event:
                _report(job, event["stage"], event["step"], event["total"], event.get("loss") or 0.0,
                        event.get("seconds_left"))
        proc.wait()
    if proc.returncode == 130 or (asked and done is None):
        raise JobCancelled()
    if proc.returncode != 0 or done is None:
        tail = [x for x in log_path.read_text(encoding="utf-8", errors="replace").splitlines()
                if "Error" in x or "error:" in x][-1:]
        raise AmgError(f"training with {settings.processes} processes failed (exit {proc.returncode})"
                       f"{': ' + tail[0].strip() if tail else ''}; the processes' log: {log_path}")
    return dict(adapters=done["adapters"], steps=done["steps"], resumed_from=done["resumed_from"],
                seconds=done["seconds"], losses=done["losses"], random_base=done["random_base"],
                settings=asdict(settings), processes=done["processes"])


def training_plots(output: Path) -> dict:
    """What the Advanced tab shows of a run: the loss curve and the validation metric (as
    DataFrames for gr.LinePlot: step, value), and the latest validation video with its
    avatar video (paths, or None)."""
    import pandas as pd

    from amg.train import latest_validation, read_scalars

    scalars = read_scalars(output) if Path(output).is_dir() else {}

    def frame(tag):
        return pd.DataFrame(scalars.get(tag, []), columns=["step", "value"])

    latest = latest_validation(output) if Path(output).is_dir() else None
    scene = latest["scenes"][0] if latest and latest["scenes"] else None
    return dict(loss=frame("loss"), motion_fidelity=frame("validation/motion_fidelity"),
                video=scene["video"] if scene else None, avatar=scene["avatar"] if scene else None,
                step=latest["step"] if latest else None, score=scene["motion_fidelity"] if scene else None)
