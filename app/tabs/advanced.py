"""Advanced tab: training data from videos, fine-tuning the adapters, evaluation, and what this install has."""

from __future__ import annotations

import re
import time
from pathlib import Path

import gradio as gr

from amg.errors import AmgError
from app import capture, engine
from app.context import Ctx, user_errors
from app.tabs.generate import POLL_S, status_html

SIZES = ["64x64", "128x128", "256x256", "320x320", "384x384", "512x512"]
TRAINING_HELP = (
    "**Training data.** Each clip is a video of people, the avatars performing the same motion and a caption. "
    "Give the video alone and every person in it is captured here (BlazePose; the camera's turning measured), "
    "their avatars coloured like them; the overlay beside the clip shows how well the avatars fit before you "
    "train. Or give their motion: a pose estimator's output (TRACE, 4D-Humans, GVHMR, WHAM...) or a preset for "
    "synthetic pairs. Clips are resampled to the dataset's size; a clip where a person is lost is refused. "
    "**Fine-tuning** trains the LoRA and avatar-condition weights on a dataset (the base model stays frozen); "
    "cancelling keeps the last checkpoint and starting again resumes from it.")


def _name(text: str, what: str) -> str:
    name = (text or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", name):
        raise AmgError(f"{what} {name!r}: use 1-40 letters, digits, - or _")
    return name


class AdvancedTab:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx

    def build(self, generate_adapters: gr.Textbox | None = None, generate_model=None) -> None:
        if engine.has("train"):
            self.build_training(generate_adapters, generate_model)
        else:
            gr.Markdown(f"**Training unavailable:** {engine.missing('train')}")
        with gr.Accordion("Engine parts in this installation", open=False):
            gr.Dataframe(self.status_rows(), headers=["part", "status"], interactive=False, wrap=True)
        with gr.Accordion("Evaluate a generated video (CLIP score, Motion Fidelity Score)", open=True):
            if not engine.has("eval"):
                gr.Markdown(f"**Unavailable:** {engine.missing('eval')}")
                return
            from amg.eval import TRACKERS

            gr.Markdown("Motion Fidelity compares point tracks of the generated video with those of its "
                        "avatar video (the paper's Table 1, 0-100). The CLIP score needs CLIP weights "
                        "(a hub id or local folder); without them it is reported as unavailable, never guessed.")
            with gr.Row():
                self.generated = gr.Video(label="Generated video", sources=["upload"], elem_id="eval-generated")
                self.reference = gr.Video(label="Reference (its avatar video)", sources=["upload"],
                                          elem_id="eval-reference")
            with gr.Row():
                self.use_last = gr.Button("Use this session's latest result")
                self.prompt = gr.Textbox(label="Prompt for the CLIP score (optional)", scale=3)
            with gr.Row():
                self.tracker = gr.Dropdown(list(TRACKERS), value="auto", label="tracker")
                self.clip_model = gr.Textbox(label="CLIP model (hub id or folder; empty = the default)", scale=2)
            self.run = gr.Button("Evaluate", variant="primary", elem_id="evaluate")
            self.report = gr.JSON(label="Result", elem_id="eval-result")

        ctx, client = self.ctx, self.ctx.client

        @user_errors
        def use_last(cid):
            s = ctx.session(cid)
            if not s.history:
                raise AmgError("no result yet in this session: generate a video first (Generate tab)")
            r = s.history[-1]
            return r["video"], r["condition"], r["prompt"]

        @user_errors
        def evaluate(generated, reference, prompt, tracker, clip_model, progress=gr.Progress()):
            from amg.eval import EvalConfig, evaluate_pair

            if not generated or not reference:
                raise AmgError("evaluation: give both the generated video and its reference video")
            kwargs = {"tracker": tracker}
            if (clip_model or "").strip():
                kwargs["clip_model"] = clip_model.strip()
            result = evaluate_pair(Path(generated), Path(reference), prompt=(prompt or "").strip() or None,
                                   config=EvalConfig(**kwargs),
                                   progress=lambda f, msg: progress(f, desc=msg))
            return result.to_dict()

        self.use_last.click(use_last, [client], [self.generated, self.reference, self.prompt])
        self.run.click(evaluate, [self.generated, self.reference, self.prompt, self.tracker, self.clip_model],
                       [self.report], concurrency_id="heavy", concurrency_limit=1)

    # ---- training data and fine-tuning ------------------------------------------------------
    def build_training(self, generate_adapters, generate_model=None) -> None:
        ctx, client = self.ctx, self.ctx.client
        gr.Markdown(TRAINING_HELP)
        with gr.Accordion("Training data: add clips from videos", open=True):
            with gr.Row():
                self.dataset = gr.Textbox("dataset", label="Dataset name", elem_id="train-dataset")
                self.frames = gr.Number(16, label="frames per clip (new dataset)", precision=0, minimum=1, maximum=128,
                                        elem_id="train-frames")
                self.size = gr.Dropdown(SIZES, value="256x256", label="size (new dataset)", elem_id="train-size")
                self.fps = gr.Number(8, label="fps (new dataset)", minimum=1, maximum=60)
            with gr.Row():
                self.video = gr.Video(label="Video of the people", sources=["upload"], elem_id="train-video")
                with gr.Column():
                    self.motion_file = gr.File(label="Their motion (optional: empty = captured from the video; "
                                                     "or a pose estimator's output, BVH, AMASS...)",
                                               elem_id="train-motion")
                    self.motion_preset = gr.Dropdown([""] + self.preset_names(), value="",
                                                     label="... or a motion preset (synthetic pairs)",
                                                     elem_id="train-preset")
                    self.camera = gr.Dropdown(self.camera_presets(), value="static",
                                              label="camera of the avatars (with a motion given; a capture uses "
                                                    "the video's)")
                    self.start = gr.Number(0, label="start (s into the video)", minimum=0)
            self.caption = gr.Textbox(label="Caption (what the video shows)", elem_id="train-caption")
            self.add = gr.Button("Add clip", variant="primary", elem_id="train-add")
            self.summary = gr.Markdown(elem_id="train-summary")
            self.clips = gr.Dataframe(headers=["clip", "caption", "video", "motion"], interactive=False,
                                      wrap=True, elem_id="train-clips")
            with gr.Row():
                self.clip_video = gr.Video(label="Clip: video", interactive=False, elem_id="train-clip-video")
                self.clip_condition = gr.Video(label="Clip: avatars", interactive=False,
                                               elem_id="train-clip-condition")
                self.clip_overlay = gr.Video(label="Clip: avatars over the video (captured clips)",
                                             interactive=False, elem_id="train-clip-overlay")
        with gr.Accordion("Fine-tune the adapters", open=True):
            with gr.Row():
                self.model = gr.Textbox("tiny-random", label="base model (hub id, local folder, tiny-random)",
                                        elem_id="train-model")
                self.steps = gr.Number(200, label="steps", precision=0, minimum=1, elem_id="train-steps")
                self.lr = gr.Number(1e-4, label="learning rate", minimum=1e-7, maximum=0.1)
                self.every = gr.Number(50, label="checkpoint every (steps)", precision=0, minimum=1,
                                       elem_id="train-every")
                self.adapters_name = gr.Textbox("adapters", label="adapters name")
            with gr.Row():
                self.processes = gr.Number(1, label="processes (GPUs; on a CPU, cores)", precision=0, minimum=1,
                                           elem_id="train-processes")
                self.validate_every = gr.Number(0, label="validate every (steps; 0 = never)", precision=0, minimum=0,
                                                elem_id="train-validate-every")
                self.validation_clips = gr.Number(0, label="validation clips (the dataset's last N, held out)",
                                                  precision=0, minimum=0, elem_id="train-validation-clips")
            with gr.Row():
                self.train_go = gr.Button("Start fine-tuning", variant="primary", elem_id="train-start")
                self.train_stop = gr.Button("Cancel", variant="stop", elem_id="train-cancel")
            self.train_status = gr.HTML(elem_id="train-status")
            self.train_result = gr.Markdown(elem_id="train-result")
            self.use = gr.Button("Use these adapters in the Generate tab", interactive=False, elem_id="train-use")
            self.build_downloads()
            self.build_curves()

        def dataset_dir(s, name):
            return s.subdir("datasets") / _name(name, "dataset name")

        @user_errors
        def add_clip(cid, name, frames, size, fps, video, motion_file, preset, camera, start, caption,
                     progress=gr.Progress()):
            from amg.train import PrepareConfig, TrainingData, prepare_clip
            from app.training import dataset_summary

            s = ctx.session(cid)
            if not video:
                raise AmgError("training clip: upload the video of the people first")
            motion = motion_file or (preset or None)
            if motion is None and capture.unavailable():
                raise AmgError(f"training clip: give the people's motion (a motion file or a preset); capturing it "
                               f"from the video is unavailable: {capture.unavailable()}")
            width, height = (int(v) for v in size.split("x"))
            data = TrainingData.create(dataset_dir(s, name), frames=int(frames), width=width, height=height,
                                       fps=float(fps))
            progress(0.1, desc="capturing the people" if motion is None else "preparing the clip")
            clip = prepare_clip(data, Path(video), motion, caption,
                                PrepareConfig(start=float(start or 0), camera=camera),
                                progress=lambda msg: progress(0.5, desc=msg))
            text, rows = dataset_summary(data)
            overlay = clip.folder(data.root) / "overlay.mp4"
            return (text, rows, str(clip.video_path(data.root)), str(clip.condition_path(data.root)),
                    str(overlay) if overlay.is_file() else None)

        self.add.click(add_clip, [client, self.dataset, self.frames, self.size, self.fps, self.video,
                                  self.motion_file, self.motion_preset, self.camera, self.start, self.caption],
                       [self.summary, self.clips, self.clip_video, self.clip_condition, self.clip_overlay],
                       concurrency_id="heavy", concurrency_limit=1, api_visibility="private")

        @user_errors
        def show_dataset(cid, name):
            from amg.train import TrainingData
            from app.training import dataset_summary

            folder = dataset_dir(ctx.session(cid), name)
            if not (folder / "amg_dataset.json").exists():
                return f"**{folder.name}**: no clips yet (the first added clip sets its size).", []
            return dataset_summary(TrainingData.open(folder))

        self.dataset.blur(show_dataset, [client, self.dataset], [self.summary, self.clips], api_visibility="private")

        @user_errors
        def start_training(cid, name, model, steps, lr, every, adapters_name, processes, validate_every,
                           validation_clips):
            from app.training import TrainSettings, run_training

            s = ctx.session(cid)
            current = ctx.jobs.get(s.train_job_id)
            if current is not None and current.active:
                raise AmgError("a fine-tune of this session is already running: wait for it or press Cancel")
            folder = dataset_dir(s, name)
            if not (folder / "amg_dataset.json").exists():
                raise AmgError(f"dataset {name!r}: has no clips yet; add clips above first")
            output = s.subdir("adapters") / _name(adapters_name, "adapters name")
            settings = TrainSettings(model=(model or "").strip() or "tiny-random", steps=int(steps),
                                     learning_rate=float(lr), checkpoint_every=int(every),
                                     processes=int(processes or 1), validate_every=int(validate_every or 0),
                                     validation_clips=int(validation_clips or 0))
            settings.check()
            job = ctx.jobs.submit(lambda job: run_training(job, folder, output, settings, ctx.config.device),
                                  owner=s.id, kind="train")
            s.train_job_id = job.id
            self._outputs[job.id] = output
            return status_html(f"Started (job {job.id[:8]}).", 0.0)

        @user_errors
        def stop_training(cid):
            job = ctx.jobs.cancel(ctx.session(cid).train_job_id)
            if job is None or job.status not in ("queued", "running"):
                return status_html("Nothing is running.")
            return status_html("Cancelling: a checkpoint is written after the current step.", job.fraction)

        train_outputs = [self.train_status, self.train_result, self.use] + self.curve_outputs
        self.train_go.click(start_training, [client, self.dataset, self.model, self.steps, self.lr, self.every,
                                             self.adapters_name, self.processes, self.validate_every,
                                             self.validation_clips], [self.train_status],
                            api_visibility="private").success(
            self.watch_training, [client], train_outputs, concurrency_limit=None, api_visibility="private")
        self.train_stop.click(stop_training, [client], [self.train_status], concurrency_limit=None, queue=False,
                              api_visibility="private")
        if generate_adapters is not None:
            targets = [generate_adapters] + ([generate_model] if generate_model is not None else [])

            def use(cid):
                job = ctx.jobs.get(ctx.session(cid).train_job_id)
                if job is None or not job.result:
                    return [gr.skip()] * len(targets)
                # adapters fit only the base they were trained on: select that base too
                return [job.result["adapters"], job.result["settings"]["model"]][:len(targets)]

            self.use.click(use, [client], targets, api_visibility="private")

    # ---- training curves: loss, validation metric, latest validation video ---------------------
    def build_curves(self) -> None:
        self._outputs: dict[str, Path] = {}  # job id -> its output folder
        gr.Markdown("**Training curves** (TensorBoard logs of the run, in ADAPTERS/logs: "
                    "`tensorboard --logdir ADAPTERS/logs` shows the same). Validation generates the held-out clips "
                    "with fixed seeds through the inference pipeline and scores their Motion Fidelity (0-100) "
                    "against their avatar videos.")
        with gr.Row():
            self.loss_plot = gr.LinePlot(x="step", y="value", title="training loss", elem_id="train-loss-plot")
            self.metric_plot = gr.LinePlot(x="step", y="value", title="validation Motion Fidelity (0-100)",
                                           y_lim=[0, 100], elem_id="train-metric-plot")
        with gr.Row():
            self.val_video = gr.Video(label="latest validation video", interactive=False, elem_id="train-val-video")
            self.val_avatar = gr.Video(label="its avatar video", interactive=False, elem_id="train-val-avatar")
        self.curve_outputs = [self.loss_plot, self.metric_plot, self.val_video, self.val_avatar]

    def curves(self, output: Path | None) -> list:
        """Values for curve_outputs from a run's folder."""
        from app.training import training_plots

        if output is None:
            return [gr.skip()] * 4
        c = training_plots(output)
        label = (f"latest validation video (step {c['step']}, Motion Fidelity "
                 f"{c['score']:.1f})" if c["score"] is not None else "latest validation video") if c["step"] else None
        return [c["loss"], c["motion_fidelity"],
                gr.update(value=c["video"], label=label) if c["video"] else gr.skip(),
                c["avatar"] if c["avatar"] else gr.skip()]

    def watch_training(self, cid):
        """Follow the session's fine-tune until it ends (also on page load, to re-attach)."""
        job = self.ctx.jobs.get(self.ctx.session(cid).train_job_id)
        if job is None:
            yield ("", "", gr.update(interactive=False), *[gr.skip()] * 4)
            return
        output = self._outputs.get(job.id)
        last, drawn, last_step = None, 0.0, None
        while job.active:
            if job.status == "queued":
                text = f"Waiting for a free worker: place {self.ctx.jobs.place_in_line(job)} in line."
            else:
                left = f", about {job.seconds_left:.0f} s left" if job.seconds_left is not None else ""
                text = f"Fine-tuning: {job.message}{left}."
            shown = status_html(text, job.fraction if job.status == "running" else None)
            redraw = job.step != last_step and time.monotonic() - drawn > 3.0  # the curves, every few seconds
            if shown != last or redraw:
                curves = self.curves(output) if redraw else [gr.skip()] * 4
                if redraw:
                    drawn, last_step = time.monotonic(), job.step
                yield (shown, gr.skip(), gr.skip(), *curves)
                last = shown
            time.sleep(POLL_S)
        curves = self.curves(output)
        if job.status == "done":
            r = job.result
            losses = r["losses"]
            tail = losses[-20:]
            note = (" The base model has **random weights**: these adapters only fit it (a flow check)."
                    if r["random_base"] else "")
            done = (f"trained {r['steps']} steps" if not r["resumed_from"]
                    else f"trained to step {r['steps']}, resumed at step {r['resumed_from']}")
            procs = r.get("processes", 1)
            on = f" on {procs} processes" if procs > 1 else ""
            yield (status_html(f"Done: step {r['steps']} reached in {r['seconds']:.0f} s{on}."),
                   f"Adapters in `{r['adapters']}` ({done}; mean loss of the last {len(tail)} steps "
                   f"{sum(tail) / max(1, len(tail)):.4f}).{note}",
                   gr.update(interactive=True), *curves)
        elif job.status == "cancelled":
            yield (status_html("Cancelled: the last checkpoint is kept; Start again to resume from it."),
                   gr.skip(), gr.update(interactive=False), *curves)
        else:
            yield (status_html(f"Failed: {job.error}"), gr.skip(), gr.update(interactive=False), *curves)

    @staticmethod
    def preset_names() -> list[str]:
        if not engine.has("motion_library"):
            return []
        from amg.motion.library import preset_names

        return preset_names()

    @staticmethod
    def camera_presets() -> list[str]:
        if not engine.has("camera_presets"):
            return ["static"]
        from amg.camera.presets import PRESETS

        return list(PRESETS)

    def status_rows(self) -> list[list[str]]:
        return [[name, why] for name, why in engine.status_table()]

    # ---- downloads ----------------------------------------------------------------------------
    def build_downloads(self) -> None:
        """The dataset and the trained adapters named above, each as one .zip."""
        ctx, client = self.ctx, self.ctx.client
        with gr.Row():
            dataset = gr.Button("Download the dataset (.zip)", size="sm", elem_id="download-dataset")
            adapters = gr.Button("Download the adapters (.zip)", size="sm", elem_id="download-adapters")
        self.download = gr.File(label="Download", interactive=False, elem_id="train-download")

        def zipped(kind: str, what: str):
            @user_errors
            def fn(cid, name):
                s = ctx.session(cid)
                folder = s.subdir(kind) / _name(name, f"{what} name")
                if not folder.is_dir() or not any(folder.iterdir()):
                    raise AmgError(f"{what} {name!r}: nothing here yet (add clips / fine-tune first)")
                return zip_folder(folder, s.new_file("exports", folder.name, ".zip"))
            return fn

        dataset.click(zipped("datasets", "dataset"), [client, self.dataset], [self.download],
                      concurrency_id="heavy", concurrency_limit=1)
        adapters.click(zipped("adapters", "adapters"), [client, self.adapters_name], [self.download],
                       concurrency_id="heavy", concurrency_limit=1)


def zip_folder(folder: Path, dest: Path) -> str:
    """`folder` as a zip at `dest` (its files under the folder's name); the path as a string."""
    import shutil

    made = shutil.make_archive(str(dest.with_suffix("")), "zip", root_dir=folder.parent, base_dir=folder.name)
    return made
