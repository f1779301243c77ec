"""Generate tab: prompts and settings, a background job with progress and Cancel, results and history."""

from __future__ import annotations

import html
import time

import gradio as gr

from amg.errors import AmgError
from app import engine
from app.context import Ctx, user_errors
from app.generation import GenerateSettings, expected_status, run_generation
from app.session import Session

#: The three routes: label, the models offered (test model first), and what the route needs in words.
ROUTES = {
    "modelscope": ("AMG on ModelScopeT2V (the paper)", ["tiny-random", "modelscope", "modelscope-random"]),
    "wan2.1": ("AMG on Wan2.1 T2V", ["wan-tiny-random", "wan2.1-t2v-1.3b", "wan2.1-t2v-14b"]),
    "wan2.1-vace": ("Wan VACE control: no training", ["vace-tiny-random", "wan2.1-vace-1.3b", "wan2.1-vace-14b"]),
}
MODEL_CHOICES = [m for _, models in ROUTES.values() for m in models]


def route_models(route: str) -> list[str]:
    """The models a route offers; the ModelScope route also offers amg-demo when its weights ship."""
    models = ROUTES[route][1]
    if route == "modelscope" and engine.has("model"):
        from amg.model import demo

        if demo.available():
            return [demo.DEMO_MODEL, *models]
    return models


def default_model() -> str:
    """The model selected first: the paper's base when its weights are here, else the shipped
    amg-demo (a small model trained here on synthetic renders), else the tiny random model."""
    if not engine.has("model"):
        return "tiny-random"
    from amg.model.demo import default_model as engine_default

    return engine_default()


def model_guidance(model: str) -> float:
    """The text guidance a model is meant to run at: amg-demo's own, else its route's default."""
    if not engine.has("model"):
        return 9.0
    from amg.model import backbone_class, demo, resolve_model

    if demo.is_demo(model):
        return demo.sampling_defaults(model)["guidance"]
    try:
        family = resolve_model(model).family
    except AmgError:
        return 9.0
    return 5.0 if family == "wan2.1-vace" else float(backbone_class(family).default_guidance)


def own_avatar_guidance(model: str) -> float | None:
    """The avatar guidance a model samples with of its own (amg-demo's), else None."""
    if not engine.has("model"):
        return None
    from amg.model import demo

    return demo.sampling_defaults((model or "").strip()).get("avatar_guidance")


def avatar_guidance_update(model: str, vace: bool = False) -> tuple:
    """(checkbox, slider) updates: on for amg-demo at the avatar guidance its results were measured at, which
    it also uses when the box is off; off (the paper's text-only guidance) for other models."""
    own = None if vace else own_avatar_guidance(model)
    note = (f"amg-demo samples with avatar guidance {own:g} (what its results were measured at) unless you set one"
            if own is not None else "off: text guidance only (the paper's sampling)")
    box = gr.update(value=own is not None, info=note, interactive=not vace)
    return box, (gr.update(value=own) if own is not None else gr.update())


HISTORY_COLUMNS = ["#", "finished", "prompt", "seed", "steps", "weights", "seconds"]
POLL_S = 0.4


def status_html(text: str, fraction: float | None = None) -> str:
    """The job's state in words, with a progress bar while it runs."""
    bar = ""
    if fraction is not None:
        bar = (f"<div class='amg-progress' role='progressbar' aria-valuenow='{100 * fraction:.0f}' "
               f"aria-valuemin='0' aria-valuemax='100'><div style='width:{100 * fraction:.1f}%'></div></div>")
    return f"<div class='amg-status'>{html.escape(text)}{bar}</div>"


def banner_html(status) -> str:
    """The weights banner: loud when the output cannot be a real generation."""
    if status is None:
        return ""
    return weights_html(status.trained, status.message)


def weights_html(trained: bool, message: str) -> str:
    """What made (or will make) the video: a quiet note for trained weights, a loud banner otherwise."""
    if trained:
        return f"<div class='amg-ok' id='weights-ok'>{html.escape(message)}</div>"
    return f"<div class='amg-banner' id='untrained-banner'>&#9888; {html.escape(message)}</div>"


class GenerateTab:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx

    def build(self) -> None:
        if not engine.has("model"):
            gr.Markdown(f"**Generation unavailable:** {engine.missing('model')}")
        self.banner = gr.HTML(elem_id="weights-banner")
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Row():
                    self.sentence = gr.Textbox(label="Describe the video in one sentence", scale=4, lines=2,
                                               elem_id="sentence",
                                               placeholder="a woman in a yellow dress and a man in a white "
                                                           "shirt dance on a beach at sunset")
                    self.fill = gr.Button("Fill the prompts", scale=1, elem_id="fill-prompts")
                self.fill_note = gr.Markdown()
                self.prompt = gr.Textbox(label="Scene prompt (what the video model reads)", lines=2,
                                         elem_id="scene-prompt")
                self.negative = gr.Textbox(label="Negative prompt", lines=1)
                self.route = gr.Radio([(label, key) for key, (label, _) in ROUTES.items()], value="modelscope",
                                      label="Route", elem_id="route")
                self.route_note = gr.Markdown(self._route_note("modelscope"), elem_id="route-note")
                with gr.Row():
                    self.steps = gr.Slider(1, 100, value=20, step=1, label="steps (DDIM)", elem_id="steps")
                    self.guidance = gr.Slider(1.0, 20.0, value=model_guidance(default_model()), step=0.5,
                                              label="text guidance")
                with gr.Row(visible=False) as self.control_row:
                    self.control = gr.Radio([("pose skeleton over depth", "pose+depth"), ("pose skeleton", "pose"),
                                             ("depth", "depth")], value="pose+depth", label="control pass",
                                            elem_id="control-pass")
                    self.strength = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="control strength")
                    self.references = gr.Checkbox(value=True, label="avatar reference images (identity, clothing)")
                with gr.Row():
                    self.frames = gr.Number(None, precision=0, label="frames (0: the scene's, fitted to the model)",
                                            elem_id="gen-frames")
                    self.width = gr.Number(None, precision=0, label="width (0: the scene's)",
                                           elem_id="gen-width")
                    self.height = gr.Number(None, precision=0, label="height (0: the scene's)",
                                            elem_id="gen-height")
                with gr.Row():
                    box, slider = avatar_guidance_update(default_model())
                    self.use_avatar_guidance = gr.Checkbox(label="separate avatar guidance", value=box["value"],
                                                           info=box["info"], elem_id="use-avatar-guidance")
                    self.avatar_guidance = gr.Slider(1.0, 10.0, value=slider.get("value", 1.5), step=0.1,
                                                     label="avatar guidance")
                with gr.Row():
                    self.seed = gr.Number(value=0, precision=0, label="seed", minimum=0, maximum=2**31 - 1,
                                          elem_id="gen-seed")
                    self.random_seed = gr.Checkbox(label="random seed", value=False)
                with gr.Row():
                    self.model = gr.Dropdown(route_models("modelscope"), value=default_model(), allow_custom_value=True,
                                             label="model (a name, hub id or local folder of this route's family)",
                                             elem_id="model-choice", scale=2)
                    self.adapters = gr.Textbox(label="AMG adapters folder (optional)", scale=2, max_lines=1,
                                               elem_id="adapters-folder")
                with gr.Row():
                    self.go = gr.Button("Generate", variant="primary", elem_id="generate",
                                        interactive=engine.has("model"))
                    self.cancel = gr.Button("Cancel", variant="stop", elem_id="cancel")
                self.status = gr.HTML(elem_id="job-status")
            with gr.Column(scale=3):
                with gr.Row():
                    self.result = gr.Video(label="Generated video", interactive=False, autoplay=True, loop=True,
                                           elem_id="result-video")
                    self.condition = gr.Video(label="Its avatar condition video", interactive=False, autoplay=True,
                                              loop=True, elem_id="condition-video")
                self.files = gr.File(label="Downloads (MP4, condition MP4, scene JSON, result JSON)",
                                     file_count="multiple",
                                     interactive=False, elem_id="result-files")
        with gr.Accordion("This session's results", open=True):
            self.history = gr.Dataframe(headers=HISTORY_COLUMNS, interactive=False, elem_id="history",
                                        column_count=len(HISTORY_COLUMNS))
            with gr.Row():
                self.pick = gr.Dropdown(label="Show result", choices=[], scale=3)

    def outputs(self) -> list:
        return [self.prompt, self.negative, self.banner, self.control_row]

    def values(self, s: Session) -> list:
        route = self.route_of(s)
        return [s.scene.prompt, s.scene.negative_prompt,
                banner_html(self._expected(self.model_of(s), "" if route == "wan2.1-vace" else
                                           s.recall("generate.adapters") or "")),
                gr.update(visible=route == "wan2.1-vace")]

    #: Fields kept per session (a reload shows them as the user left them).
    REMEMBERED = ["sentence", "steps", "guidance", "use_avatar_guidance", "avatar_guidance", "seed", "random_seed",
                  "route", "model", "adapters", "control", "strength", "references", "frames", "width", "height"]

    @staticmethod
    def route_of(s: Session) -> str:
        route = s.recall("generate.route", "modelscope")
        return route if route in ROUTES else "modelscope"

    def model_of(self, s: Session) -> str:
        route = self.route_of(s)
        return s.recall("generate.model") or (default_model() if route == "modelscope" else route_models(route)[0])

    def restorers(self) -> dict:
        """The fields whose restored state depends on the route: the model list, what VACE disables."""
        def vace(s):
            return self.route_of(s) == "wan2.1-vace"

        def steps(s):
            sampler = "DDIM" if self.route_of(s) == "modelscope" else "flow matching"
            return gr.update(label=f"steps ({sampler})", **({"value": s.ui["generate.steps"]}
                                                             if "generate.steps" in s.ui else {}))

        return {"model": lambda s: gr.update(choices=route_models(self.route_of(s)), value=self.model_of(s)),
                "adapters": lambda s: gr.update(interactive=not vace(s), **({"value": s.ui["generate.adapters"]}
                                                                           if "generate.adapters" in s.ui else {})),
                "use_avatar_guidance": lambda s: gr.update(
                    interactive=not vace(s), value=not vace(s) and bool(
                        s.recall("generate.use_avatar_guidance", own_avatar_guidance(self.model_of(s)) is not None))),
                "steps": steps}

    @staticmethod
    def _route_note(route: str) -> str:
        from amg.generate import ROUTE_NOTES
        from amg.scene import SIZE_RULES

        rule = SIZE_RULES[route]
        return (f"{ROUTE_NOTES[route]}. Frames: {rule.frames_rule()}; sides multiples of "
                f"{rule.multiple}. The `*-random` models have random weights: they test the flow on a CPU in "
                "seconds, the video is noise.")

    @staticmethod
    def _expected(model, adapters):
        try:
            return expected_status(model, adapters or None)
        except AmgError:
            return None

    def result_outputs(self) -> list:
        return [self.result, self.condition, self.files, self.history, self.pick, self.banner]

    def show_result(self, s: Session, result: dict | None):
        rows = [[i + 1, r["finished"], r["prompt"][:60], r["seed"], r["settings"]["steps"],
                 "trained" if r["trained"] else "UNTRAINED", r["seconds"]] for i, r in enumerate(s.history)]
        picks = [f"{i + 1}: {r['prompt'][:40]}" for i, r in enumerate(s.history)]
        if result is None:
            return gr.skip(), gr.skip(), gr.skip(), rows, gr.update(choices=picks), gr.skip()
        banner = weights_html(result["trained"], result["weights"])
        files = [result[k] for k in ("video", "condition", "scene", "references", "result") if result.get(k)]
        return (result["video"], result["condition"], files,
                rows, gr.update(choices=picks, value=picks[-1] if picks else None), banner)

    # ---- events ------------------------------------------------------------------------
    def wire(self, refresh_all, refresh_outputs) -> None:
        self._refresh_all, self._refresh_outputs = refresh_all, refresh_outputs
        self._wire_prompts()
        self._wire_route()
        self._wire_job()
        self._wire_history()

    @user_errors
    def set_prompts(self, cid, prompt, negative):
        """The prompts saved into the session's scene as typed."""
        if not cid:
            return  # the page's session is not known yet (its first values are arriving)
        s = self.ctx.session(cid)
        s.scene.prompt, s.scene.negative_prompt = (prompt or "").strip(), (negative or "").strip()
        s.save()

    def _wire_prompts(self) -> None:
        """The prompts as typed, and filling them from one sentence."""
        ctx, client, refresh_all = self.ctx, self.ctx.client, self._refresh_all

        # saved as typed (the scene is what a reload shows), never sent back into the box being typed in
        # (.change: typing, pasting and the app's own updates alike)
        for box in (self.prompt, self.negative):
            box.change(self.set_prompts, [client, self.prompt, self.negative], None, show_progress="hidden",
                       trigger_mode="always_last", api_visibility="private")

        @user_errors
        def fill(cid, sentence):
            s = ctx.session(cid)
            sentence = (sentence or "").strip()
            if not sentence:
                raise AmgError("sentence: empty; describe the people and the scene in one sentence")
            if not engine.has("prompts"):
                s.scene.prompt = sentence
                s.save()
                return [*refresh_all(s), f"Scene prompt set; per-person prompts need: {engine.missing('prompts')}"]
            parts = engine.get("prompts")(sentence, "sentence")
            appearances = [p.text for p in parts.people]
            for person, text in zip(s.scene.people, appearances):
                if text:
                    person.avatar.prompt = text
            s.scene.prompt = parts.scene or sentence
            s.save()
            note = (f"Filled the scene prompt and {min(len(appearances), len(s.scene.people))} appearance "
                    f"prompt(s); edit them freely.")
            if len(appearances) > len(s.scene.people):
                note += f" The sentence describes {len(appearances)} people; add people in the Avatar tab."
            return [*refresh_all(s), note]

        self.fill.click(fill, [client, self.sentence], [*self._refresh_outputs, self.fill_note])

    def _wire_route(self) -> None:
        """The route, the model and the adapters: their defaults and the weights banner."""
        @user_errors
        def show_banner(model, adapters):
            return banner_html(self._expected((model or "").strip(), (adapters or "").strip()))

        def pick_model(model, adapters):
            """The banner, and the guidance the model was made for (amg-demo's own; the route's otherwise)."""
            return (show_banner(model, adapters), gr.update(value=model_guidance((model or "").strip())),
                    *avatar_guidance_update(model))

        # .input: the user's pick only (a restored or route-set model keeps the guidance it came with)
        self.model.input(pick_model, [self.model, self.adapters],
                         [self.banner, self.guidance, self.use_avatar_guidance, self.avatar_guidance],
                         show_progress="hidden", api_visibility="private")

        @user_errors
        def pick_route(route, adapters):
            """Models, step/guidance defaults and the control controls of the chosen route."""
            from amg.model import backbone_class

            models = route_models(route)
            vace = route == "wan2.1-vace"
            steps, guidance = (50, 5.0) if vace else (backbone_class(route).default_steps,
                                                      backbone_class(route).default_guidance)
            sampler = "DDIM" if route == "modelscope" else "flow matching"
            first = default_model() if route == "modelscope" else models[0]
            guidance = guidance if vace else model_guidance(first)  # amg-demo's own scale when it comes first
            return (gr.update(choices=models, value=first), self._route_note(route),
                    gr.update(value=steps, label=f"steps ({sampler})"), gr.update(value=guidance),
                    gr.update(visible=vace), gr.update(interactive=not vace),
                    *avatar_guidance_update(first, vace),
                    banner_html(self._expected(first, "" if vace else adapters)))

        self.route.input(pick_route, [self.route, self.adapters],
                          [self.model, self.route_note, self.steps, self.guidance, self.control_row, self.adapters,
                           self.use_avatar_guidance, self.avatar_guidance, self.banner], show_progress="hidden",
                          api_visibility="private")
        self.adapters.blur(show_banner, [self.model, self.adapters], [self.banner], show_progress="hidden",
                           api_visibility="private")

    def _wire_job(self) -> None:
        """Generate (a background job followed by watch) and Cancel."""
        ctx, client = self.ctx, self.ctx.client

        @user_errors
        def start(cid, prompt, negative, steps, guidance, use_ag, ag, seed, rand, model, adapters, route, control,
                  strength, references, frames, width, height):
            s = ctx.session(cid)
            current = ctx.jobs.get(s.job_id)
            if current is not None and current.active:
                raise AmgError("a generation of this session is already running: wait for it or press Cancel")
            self.set_prompts(cid, prompt, negative)
            model = (model or "").strip() or (default_model() if route == "modelscope" else route_models(route)[0])
            from amg.model import resolve_model

            resolve_model(model, route)  # a model of another family on this route: say so before any work
            vace = route == "wan2.1-vace"
            settings = GenerateSettings(
                model=model, adapters=None if vace else (adapters or "").strip() or None, steps=int(steps),
                guidance=float(guidance), avatar_guidance=float(ag) if use_ag and not vace else None,
                seed=None if rand else int(seed or 0), negative_prompt=(negative or "").strip(),
                control=control, control_strength=float(strength), references=bool(references),
                frames=int(frames) if frames else None, width=int(width) if width else None,
                height=int(height) if height else None)
            settings.check()
            scene = s.scene_for_engine()
            if not scene.prompt:
                raise AmgError("scene prompt: empty; describe the video to generate")
            jobs_dir = ctx.store.root / "jobs"
            job = ctx.jobs.submit(lambda job: run_generation(job, scene, settings, jobs_dir / job.id,
                                                             ctx.config.device), owner=s.id)
            s.job_id = job.id
            return status_html(f"Started (job {job.id[:8]}).", 0.0)

        @user_errors
        def stop(cid):
            s = ctx.session(cid)
            job = ctx.jobs.cancel(s.job_id)
            if job is None or job.status not in ("queued", "running"):
                return status_html("Nothing is running.")
            return status_html("Cancelling: the job stops after the current step.", job.fraction)

        inputs = [client, self.prompt, self.negative, self.steps, self.guidance, self.use_avatar_guidance,
                  self.avatar_guidance, self.seed, self.random_seed, self.model, self.adapters, self.route,
                  self.control, self.strength, self.references, self.frames, self.width, self.height]
        self.go.click(start, inputs, [self.status], api_visibility="private").success(
            self.watch, [client], [self.status, *self.result_outputs()], show_progress_on=[self.result],
            concurrency_limit=None, api_visibility="private")
        self.cancel.click(stop, [client], [self.status], concurrency_limit=None, queue=False,
                          api_visibility="private")

    def _wire_history(self) -> None:
        """Show an earlier result of this session."""
        ctx = self.ctx

        @user_errors
        def pick(cid, choice):
            s = ctx.session(cid)
            try:
                i = int(str(choice).split(":")[0]) - 1
                result = s.history[i]
            except (ValueError, IndexError):
                return tuple(gr.skip() for _ in self.result_outputs())
            return self.show_result(s, result)

        self.pick.input(pick, [ctx.client, self.pick], self.result_outputs(), api_visibility="private")

    def watch(self, cid, progress=gr.Progress()):
        """Follow the session's job until it ends (also called on page load to re-attach)."""
        s = self.ctx.session(cid)
        job = self.ctx.jobs.get(s.job_id)
        # a reloaded page starts empty: show this session's results before following the job
        yield ("", *self.show_result(s, s.history[-1] if s.history else None))
        if job is None:
            return
        last = None
        while job.active:
            fraction = job.fraction
            if job.status == "queued":
                place = self.ctx.jobs.place_in_line(job)
                text = f"Waiting for a free worker: place {place} in line (one generation runs at a time)."
                progress(0.0, desc=text)
                fraction = None
            else:
                left = f", about {job.seconds_left:.0f} s left" if job.seconds_left is not None else ""
                text = f"Generating: {job.message}{left}."
                progress(fraction, desc=f"{job.message}{left}")
            shown = status_html(text, fraction)
            if shown != last:
                yield (shown, *(gr.skip() for _ in self.result_outputs()))
                last = shown
            time.sleep(POLL_S)
        if job.status == "done":
            if not any(r.get("video") == job.result["video"] for r in s.history):
                s.history.append(job.result)
            r = job.result
            text = (f"Done in {r['seconds']:.1f} s: {r['frames']} frames at {r['width']}x{r['height']}, "
                    f"seed {r['seed']}.")
            yield (status_html(text), *self.show_result(s, r))
        elif job.status == "cancelled":
            yield (status_html("Cancelled: nothing was written; the scene is unchanged."),
                   *(gr.skip() for _ in self.result_outputs()))
        else:
            yield (status_html(f"Failed: {job.error}"), *(gr.skip() for _ in self.result_outputs()))
