"""A generation as a background job: render the condition video, run the AMG pipeline, write files.

Only engine calls in sequence (amg.render, amg.model, amg.render.video); the files go to a
folder of their own so a reload, or the end of the page's session, never loses them.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from amg.errors import AmgError
from amg.files import atomic_write_text
from amg.scene import Scene
from app import engine
from app.jobs import Job
from app.preview import render_scene

_PIPELINES: dict[tuple, object] = {}
_pipeline_lock = threading.Lock()
RANDOM_MODELS = ("tiny-random", "modelscope-random")
#: Where each stage of the pipeline sits in the whole job (for one progress bar).
STAGE_SPAN = {"encoding condition": (0.05, 0.15), "denoising": (0.15, 0.9), "decoding": (0.9, 1.0)}


@dataclass
class GenerateSettings:
    """What the Generate tab (or the API) asks for."""

    model: str = "tiny-random"
    adapters: str | None = None
    steps: int = 20
    guidance: float = 9.0
    avatar_guidance: float | None = None
    seed: int | None = None  # None: a random seed, recorded in the result
    negative_prompt: str | None = None


def expected_status(model: str, adapters: str | None):
    """The weights status a generation with these settings will report, without loading them."""
    if not engine.has("model"):
        return None
    from amg.model import WeightsStatus

    steps = 0
    if adapters:
        from amg.model.adapters import read_adapter_info

        steps = read_adapter_info(adapters).training.steps
    return WeightsStatus(base=model, random_base=model in RANDOM_MODELS, adapters=adapters or None,
                         adapter_steps=steps)


def pipeline(model: str, adapters: str | None, device: str | None):
    """A loaded pipeline, kept for the next generation with the same weights (one at a time)."""
    from amg.model import load_pipeline

    key = (model, adapters or None, device)
    with _pipeline_lock:
        if key not in _PIPELINES:
            _PIPELINES.clear()  # one model in memory: the full-size one takes 5+ GiB
            _PIPELINES[key] = load_pipeline(model, adapters or None, device=device)
        return _PIPELINES[key]


def run_generation(job: Job, scene: Scene, settings: GenerateSettings, out_dir: Path,
                   device: str | None = None) -> dict:
    """The work of a generate job. Returns the result dict the page and the API show."""
    import torch

    from amg.render.video import write_mp4

    for feature in ("render", "model"):
        if not engine.has(feature):
            raise AmgError(engine.missing(feature))
    if not (scene.prompt or "").strip():
        raise AmgError("scene prompt: empty; describe the video to generate (Generate tab)")
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = settings.seed if settings.seed is not None else random.randrange(2**31)
    started = time.time()

    job.report(0, 1, None, "rendering the avatar video", fraction=0.0)
    cond = render_scene(scene)
    job.report(0, 1, None, f"loading the model {settings.model}", fraction=0.02)
    pipe = pipeline(settings.model, settings.adapters, device)

    def on_progress(p):
        lo, hi = STAGE_SPAN.get(p.stage, (0.0, 1.0))
        job.report(p.step, p.total, p.seconds_left, f"{p.stage} {p.step}/{p.total}",
                   fraction=lo + (hi - lo) * p.step / max(p.total, 1))

    out = pipe(prompt=scene.prompt, condition=cond.rgb,
               negative_prompt=settings.negative_prompt if settings.negative_prompt is not None else scene.negative_prompt,
               num_inference_steps=int(settings.steps), guidance_scale=float(settings.guidance),
               avatar_guidance_scale=settings.avatar_guidance,
               generator=torch.Generator().manual_seed(seed), callback=on_progress,
               should_cancel=job.should_cancel)
    job.report(1, 1, 0.0, "writing the video", fraction=1.0)
    status = out.weights_status
    video = write_mp4(out.frames, out_dir / "generated.mp4", cond.fps, metadata=status.metadata())
    condition = write_mp4(cond.rgb, out_dir / "condition.mp4", cond.fps)
    scene_file = out_dir / "scene.json"
    atomic_write_text(scene_file, scene.to_json() + "\n")
    result = dict(video=str(video), condition=str(condition), scene=str(scene_file), seed=seed,
                  frames=int(out.frames.shape[0]), width=int(out.frames.shape[2]), height=int(out.frames.shape[1]),
                  fps=cond.fps, prompt=scene.prompt, trained=bool(status.trained), weights=status.message,
                  settings={**asdict(settings), "seed": seed}, seconds=round(time.time() - started, 2),
                  finished=time.strftime("%H:%M:%S"))
    atomic_write_text(out_dir / "result.json", _json(result))
    return result


def _json(d: dict) -> str:
    import json

    return json.dumps(d, indent=2, default=str) + "\n"
