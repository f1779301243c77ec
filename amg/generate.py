"""Scene -> condition -> pipeline -> files, written once (the CLI and the app both call it).

Three routes, chosen by the model (amg.model.registry):
  modelscope   the paper's: the avatar RGB video through AMG adapters on ModelScopeT2V
  wan2.1       the same adapters on Wan2.1 T2V (a 2025 backbone; adapters need training)
  wan2.1-vace  no training: the Scene's control pass (depth, pose or pose+depth) and avatar
               reference images drive the pretrained Wan VACE model

    from amg.generate import GenerateSettings, generate, load_route
    result = generate(scene, GenerateSettings(model="vace-tiny-random", control="pose"), "out.mp4")
    result.video, result.condition, result.weights.message

Sizes and frame counts are checked against the route's rule (amg.scene.SIZE_RULES) before any
slow work: a Wan request of 16 frames becomes 17 (4k+1) with a note; a size the model cannot
take is refused, saying what it can take.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from amg.errors import AmgError
from amg.files import check_output
from amg.progress import Progress
from amg.scene import SIZE_RULES, Scene

CONTROLS = ("depth", "pose", "pose+depth")
#: What each route needs, in plain words (CLI help, the Generate tab).
ROUTE_NOTES = {
    "modelscope": "AMG adapters on ModelScopeT2V (the paper): needs the base weights (~5 GB, CC BY-NC) and trained "
                  "AMG adapters; 16 frames 256x256 at 8 fps; ~8 GB VRAM in fp16",
    "wan2.1": "AMG adapters on Wan2.1 T2V 1.3B: needs the Wan weights (Apache-2.0) and AMG adapters trained for Wan; "
              "81 frames 832x480 at 16 fps (4k+1 frames, sides multiples of 16); ~8 GB VRAM in bf16 with CPU offload",
    "wan2.1-vace": "Wan2.1 VACE 1.3B: follows the avatars' depth/pose passes and reference images with NO training; "
                   "needs the VACE weights (Apache-2.0); 81 frames 832x480 at 16 fps; ~10 GB VRAM in bf16 with CPU "
                   "offload",
}


@dataclass
class GenerateSettings:
    """What a generation asks for. None = the scene's / the route's default."""

    model: str = "modelscope"
    adapters: str | None = None
    control: str = "pose+depth"  # VACE route: depth | pose | pose+depth
    control_strength: float = 1.0  # VACE route: conditioning scale
    references: bool = True  # VACE route: avatar reference images (identity, clothing)
    steps: int | None = None
    guidance: float | None = None
    avatar_guidance: float | None = None  # AMG routes: dual guidance (text vs avatar)
    seed: int = 0
    prompt: str | None = None
    negative_prompt: str | None = None
    frames: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    resample_condition: bool = False  # a condition video of another size is fitted instead of refused

    def family(self) -> str:
        from amg.model.registry import resolve_model

        return resolve_model(self.model).family

    def check(self) -> str:
        """Refuse bad settings before any slow work; returns the route (family)."""
        family = self.family()
        if self.control not in CONTROLS:
            raise AmgError(f"control: {self.control!r}; choose {', '.join(CONTROLS)}")
        if family == "wan2.1-vace":
            if self.adapters:
                raise AmgError(f"adapters {self.adapters}: the VACE route ({self.model}) takes no AMG adapters; it "
                               "follows the control passes as it was trained to")
            if self.avatar_guidance is not None:
                raise AmgError("avatar guidance: only on the AMG routes; on VACE use the control strength")
        for name, value in (("frames", self.frames), ("width", self.width), ("height", self.height)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise AmgError(f"{name}: {value!r}; must be a positive whole number")
        if self.fps is not None and not 0 < self.fps <= 120:
            raise AmgError(f"fps: {self.fps!r}; must be between 0 and 120")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 2**63:
            raise AmgError(f"seed: {self.seed!r}; must be a whole number from 0")
        return family


@dataclass
class GenerationResult:
    video: Path
    condition: Path  # the video the model was conditioned on (avatar RGB, or the VACE control pass)
    frames: int
    width: int
    height: int
    fps: float
    seed: int
    route: str
    weights: object  # amg.model.WeightsStatus
    settings: dict
    seconds: float
    notes: list[str] = field(default_factory=list)
    scene: Path | None = None
    references: Path | None = None  # PNG strip of the avatar reference images (VACE)
    result: Path | None = None  # JSON of all the above

    def to_dict(self) -> dict:
        d = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items() if k != "weights"}
        d["trained"], d["weights"] = bool(self.weights.trained), self.weights.message
        return d


@dataclass
class Plan:
    route: str
    frames: int
    width: int
    height: int
    fps: float
    notes: list[str]


def plan(scene: Scene | None, settings: GenerateSettings, source: str = "scene") -> Plan:
    """Frames, size and fps of a generation, fitted to / checked against the route's rule."""
    from amg.model import demo

    route = settings.check()
    rule = SIZE_RULES[route]
    native = demo.native_size(settings.model)
    if native:  # amg-demo makes videos of one size only: the condition is rendered at that size
        note = (f"{settings.model} makes videos of its own size only: {native['frames']} frames "
                f"{native['width']}x{native['height']} at {native['fps']:g} fps")
        return Plan(route, native["frames"], native["width"], native["height"], native["fps"], [note])
    r = scene.render if scene is not None else None
    frames = settings.frames or (r.frames if r else rule.frames)
    width, height = settings.width or (r.width if r else rule.width), settings.height or (r.height if r else rule.height)
    fps = settings.fps or (r.fps if r else rule.fps)
    notes = []
    if not rule.frames_ok(frames) and 1 <= frames <= rule.max_frames:
        fitted = rule.fit_frames(frames)
        notes.append(f"{frames} frames -> {fitted}: the {route} model takes {rule.frames_rule()}")
        frames = fitted
    rule.check(source, frames, height, width)
    return Plan(route, frames, width, height, fps, notes)


def load_route(settings: GenerateSettings, device: str | None = None, dtype: str | None = None,
               low_memory: bool = False, cpu_offload: bool = False):
    """The pipeline of the settings' route: an AMGPipeline, or a VACEControl."""
    route = settings.check()
    if route == "wan2.1-vace":
        from amg.model.vace import VACEControl

        return VACEControl.from_pretrained(settings.model, device=device, dtype=dtype, low_memory=low_memory,
                                           cpu_offload=cpu_offload)
    from amg.model import load_pipeline

    return load_pipeline(settings.model, adapters=settings.adapters, device=device, dtype=dtype,
                         low_memory=low_memory, cpu_offload=cpu_offload)


def generate(source: Scene | str | os.PathLike, settings: GenerateSettings, output: str | os.PathLike,
             pipe=None, progress: Callable[[Progress], None] | None = None,
             should_cancel: Callable[[], bool] | None = None, log: Callable[[str], None] | None = None,
             condition_path: str | os.PathLike | None = None, side_by_side: bool = False,
             load_options: dict | None = None) -> GenerationResult:
    """Render the condition of `source` (a Scene, or a condition video file), run the route's
    pipeline and write the files: OUTPUT (the video), OUTPUT_STEM.condition.mp4 (what the model
    saw), OUTPUT_STEM.scene.json (a scene's exact settings), OUTPUT_STEM.json (the result),
    and for VACE OUTPUT_STEM.references.png. Nothing is written until the video is complete.
    """
    import torch

    from amg.video import write_mp4

    start = time.time()
    say = log or (lambda msg: None)
    report = progress or (lambda p: None)
    cancelled = should_cancel or (lambda: False)
    output = Path(output)
    if output.suffix.lower() != ".mp4":
        raise AmgError(f"output {str(output)!r}: must be an .mp4 file")
    # every file this writes must be writable before the slow work (and before the first is replaced)
    stem = output.with_suffix("")
    for extra in (output, condition_path or f"{stem}.condition.mp4", f"{stem}.scene.json", f"{stem}.json",
                  *([output.with_name(f"{output.stem}_side_by_side.mp4")] if side_by_side else [])):
        check_output(extra)
    scene = source if isinstance(source, Scene) else None
    prompt = settings.prompt if settings.prompt is not None else (scene.prompt if scene else None)
    negative = settings.negative_prompt if settings.negative_prompt is not None else (
        scene.negative_prompt if scene else None)
    if not (prompt or "").strip():
        where = "the scene has no prompt; set \"prompt\" in it or pass one" if scene else \
            "a condition video has no prompt of its own; pass one"
        raise AmgError(f"prompt: empty; {where}")
    from amg.model.pipeline import check_settings

    family = settings.check()
    from amg.model import demo

    native = demo.native_size(settings.model)  # amg-demo: videos of its own size only
    # steps 0 is refused here (None = the route's default); the pipeline checks the rest again
    check_settings(prompt, negative or None, settings.steps if settings.steps is not None else 1,
                   settings.guidance if settings.guidance is not None else 1.0, settings.avatar_guidance, family=family)
    video_in = None if scene is not None else Path(source)
    p = plan(scene, settings, "scene" if scene is not None else str(video_in)) if scene is not None else None
    for note in (p.notes if p else []):
        say(f"note: {note}")

    if pipe is None:
        report(Progress("loading model", 0, 1))
        say(f"loading model {settings.model}" + (f" with adapters {settings.adapters}" if settings.adapters else ""))
        pipe = load_route(settings, **(load_options or {}))
    if getattr(pipe, "family", None) != family:
        raise AmgError(f"model {settings.model}: the loaded pipeline is {getattr(pipe, 'family', '?')}, not {family}")
    status = pipe.weights_status
    say(f"{'WARNING' if not status.trained else 'weights'}: {status.message}")  # what made this video, always

    references = None
    if scene is not None:
        report(Progress("rendering", 0, 1))
        say("rendering the condition video (" + ("the avatars" if family != "wan2.1-vace"
                                                else f"the {settings.control} control pass") + ")")
        condition, references, fps = _scene_condition(scene, settings, family, p, say)
        report(Progress("rendering", 1, 1))
    else:
        from amg.video import read_video

        condition, fps = read_video(video_in)
        fps = (native or {}).get("fps") or settings.fps or fps or SIZE_RULES[family].fps
    if cancelled():
        from amg.model.pipeline import GenerationCancelled

        raise GenerationCancelled("generation cancelled")

    generator = torch.Generator(device="cpu").manual_seed(settings.seed)
    guidance, avatar_guidance = settings.guidance, settings.avatar_guidance
    if native:  # amg-demo was trained and measured at its own scales
        own = demo.sampling_defaults(settings.model)
        guidance = own["guidance"] if guidance is None else guidance
        avatar_guidance = own["avatar_guidance"] if avatar_guidance is None else avatar_guidance
    if family == "wan2.1-vace":
        out = pipe(prompt=prompt, control=condition, negative_prompt=negative or None,
                   reference_images=references, conditioning_scale=settings.control_strength,
                   num_inference_steps=settings.steps, guidance_scale=settings.guidance, generator=generator,
                   callback=report, should_cancel=should_cancel)
    else:
        out = pipe(prompt=prompt, condition=condition, negative_prompt=negative or None,
                   num_inference_steps=settings.steps, guidance_scale=guidance,
                   avatar_guidance_scale=avatar_guidance, generator=generator,
                   **_condition_size(scene, settings, native), callback=report, should_cancel=should_cancel)

    metadata = {"title": prompt[:200], **status.metadata()}
    stem = output.with_suffix("")
    video = write_mp4(out.frames, output, fps, metadata=metadata)
    cond_path = write_mp4(out.condition, condition_path or f"{stem}.condition.mp4", fps)
    result = GenerationResult(video=video, condition=Path(cond_path), frames=int(out.frames.shape[0]),
                              width=int(out.frames.shape[2]), height=int(out.frames.shape[1]), fps=float(fps),
                              seed=settings.seed, route=family, weights=status,
                              settings={**asdict(settings), **out.settings}, seconds=0.0,
                              notes=p.notes if p else [])
    if references is not None:
        import imageio.v3 as iio

        from amg.files import atomic_write_bytes

        result.references = Path(f"{stem}.references.png")
        atomic_write_bytes(result.references,
                                               iio.imwrite("<bytes>", np.concatenate(list(references), axis=1),
                                                           extension=".png"))
    if scene is not None:
        from amg.files import atomic_write_text

        result.scene = Path(f"{stem}.scene.json")
        atomic_write_text(result.scene, scene.to_json() + "\n")
    if side_by_side:
        side = output.with_name(f"{output.stem}_side_by_side.mp4")
        write_mp4(np.concatenate([out.condition, out.frames], axis=2), side, fps, metadata=metadata)
        say(f"wrote {side}: condition | result")
    result.seconds = round(time.time() - start, 2)
    from amg.files import atomic_write_text

    result.result = Path(f"{stem}.json")
    atomic_write_text(result.result, json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    return result


def _condition_size(scene: Scene | None, settings: GenerateSettings, native: dict | None) -> dict:
    """Size arguments of the AMG pipeline: a scene's condition is rendered at the right size already;
    a condition video is checked against the asked size, or fitted to amg-demo's own."""
    if scene is not None:
        return dict(num_frames=None, height=None, width=None, resample_condition=settings.resample_condition)
    if native:
        return dict(num_frames=native["frames"], height=native["height"], width=native["width"],
                    resample_condition=True)
    return dict(num_frames=settings.frames, height=settings.height, width=settings.width,
                resample_condition=settings.resample_condition)


def _scene_condition(scene: Scene, settings: GenerateSettings, family: str, p: Plan, say):
    """(condition video (T, H, W, 3) uint8, reference images (P, H, W, 3) or None, fps)."""
    from amg.render.passes import passes_from_render, reference_images, visible_people
    from amg.render.scene_render import render_scene

    rendered = render_scene(scene, frames=p.frames, width=p.width, height=p.height, fps=p.fps,
                            progress=lambda msg: say(f"  {msg}..."))
    if family != "wan2.1-vace":
        return rendered.rgb, None, rendered.fps
    control = passes_from_render(rendered, [settings.control])[settings.control]
    refs = None
    if settings.references:
        seen = visible_people(rendered.masks)
        missing = [scene.people[i].id for i in np.flatnonzero(~seen)]
        if missing:
            raise AmgError(f"person {', '.join(repr(m) for m in missing)}: never on screen (outside the camera's view "
                           f"in all {p.frames} frames), so no reference image can stand for them in the video; move "
                           "the camera or the person, or generate without reference images (--no-references)")
        refs = reference_images(scene, p.width, p.height)
    return control, refs, rendered.fps
