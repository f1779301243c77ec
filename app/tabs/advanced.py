"""Advanced tab: the home of preprocessing, training and evaluation, and what this install has."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from amg.errors import AmgError
from app import engine
from app.context import Ctx, user_errors

NOT_BUILT = ("**Preprocessing** (videos → clips → tracks → captions → avatar renders → dataset) and "
             "**training** (LoRA fine-tuning of the video model on avatar/video pairs) are not part of this "
             "version of AMG Studio: there is no engine for them yet, so this tab has no controls for them. "
             "Generation works with the base weights or with adapters trained elsewhere "
             "(Generate tab → AMG adapters folder).")


class AdvancedTab:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx

    def build(self) -> None:
        gr.Markdown(NOT_BUILT, elem_id="advanced-not-built")
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

    def status_rows(self) -> list[list[str]]:
        return [[name, why] for name, why in engine.status_table()]
