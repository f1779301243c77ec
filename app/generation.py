"""A generation as a background job: amg.generate (render the condition, run the route, write files).

The files go to a folder of their own per job, so a reload, or the end of the page's session,
never loses them. The pipeline of the last route used is kept for the next generation.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from amg.errors import AmgError
from amg.generate import GenerateSettings as EngineSettings
from amg.scene import Scene
from app import engine
from app.jobs import Job

_PIPELINES: dict[tuple, object] = {}
_pipeline_lock = threading.Lock()
#: Where each stage sits in the whole job (for one progress bar).
STAGE_SPAN = {"loading model": (0.0, 0.05), "rendering": (0.05, 0.1), "encoding condition": (0.1, 0.15),
              "denoising": (0.15, 0.9), "decoding": (0.9, 1.0)}


@dataclass
class GenerateSettings(EngineSettings):
    """amg.generate's settings as the Generate tab (or the API) asks: seed None = a random one,
    recorded in the result; the tiny test model by default."""

    model: str = "tiny-random"
    seed: int | None = None


def expected_status(model: str, adapters: str | None):
    """The weights status a generation with these settings will report, without loading them."""
    if not engine.has("model"):
        return None
    from amg.model import WeightsStatus, demo, resolve_model

    ref = resolve_model(model)
    if demo.is_demo(model) and not adapters and demo.available():
        adapters = str(demo.default_adapters(model, None))  # amg-demo brings its own adapters
    steps = 0
    if adapters and ref.family != "wan2.1-vace":
        from amg.model.adapters import read_adapter_info

        steps = read_adapter_info(adapters).training.steps
    return WeightsStatus(base=model, random_base=ref.random is not None, adapters=adapters or None,
                         adapter_steps=steps, family=ref.family)


def pipeline(settings, device: str | None):
    """A loaded pipeline, kept for the next generation with the same weights (one at a time)."""
    from amg.generate import load_route

    key = (settings.model, settings.adapters or None, device)
    with _pipeline_lock:
        if key not in _PIPELINES:
            _PIPELINES.clear()  # one model in memory: full-size ones take many GiB
            _PIPELINES[key] = load_route(settings, device=device)
        return _PIPELINES[key]


def run_generation(job: Job, scene: Scene, settings, out_dir: Path, device: str | None = None) -> dict:
    """The work of a generate job. Returns the result dict the page and the API show."""
    from amg.generate import generate

    for feature in ("render", "model"):
        if not engine.has(feature):
            raise AmgError(engine.missing(feature))
    if not (scene.prompt or "").strip():
        raise AmgError("scene prompt: empty; describe the video to generate (Generate tab)")
    settings = replace(settings, seed=settings.seed if settings.seed is not None else random.randrange(2**31))
    settings.check()
    out_dir.mkdir(parents=True, exist_ok=True)

    def on_progress(p):
        lo, hi = STAGE_SPAN.get(p.stage, (0.0, 1.0))
        job.report(p.step, p.total, p.seconds_left, f"{p.stage} {p.step}/{p.total}",
                   fraction=lo + (hi - lo) * p.step / max(p.total, 1))

    job.report(0, 1, None, f"loading the model {settings.model}", fraction=0.0)
    pipe = pipeline(settings, device)
    result = generate(scene, settings, out_dir / "generated.mp4", pipe=pipe, progress=on_progress,
                      should_cancel=job.should_cancel, condition_path=out_dir / "condition.mp4")
    job.report(1, 1, 0.0, "done", fraction=1.0)
    out = result.to_dict()
    out.update(prompt=scene.prompt, finished=time.strftime("%H:%M:%S"),
               scene=str(result.scene), steps=result.settings.get("steps"))
    return out
