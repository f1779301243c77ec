"""Named endpoints for gradio_client: render_preview, generate, import_motion, export_scene, open_scene.

They take the scene as JSON text (the same form `amg` reads) and return files, without any
page session. Files a scene refers to must be presets or motions uploaded through
`import_motion` (each call gets its own folder): a caller cannot make the server read
arbitrary paths.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import gradio as gr

from amg.bundle import file_refs, open_scene_file
from amg.errors import AmgError
from amg.scene import Scene
from app import engine
from app.context import Ctx, user_errors
from app.generation import GenerateSettings, run_generation
from app.preview import preview_scene, render_preview
from app.session import confine_file_refs


def offered_models(config) -> tuple[str, ...]:
    """The models API callers may pick: the operator's list, else every registered model name."""
    if config.models:
        return tuple(config.models)
    if not engine.has("model"):
        return ("tiny-random",)
    from amg.model import registered_models
    from amg.model.demo import default_model

    first = default_model()  # the default: the real base when here, else the shipped amg-demo
    return (first,) + tuple(name for name in registered_models() if name != first)


def clip_seconds(frames: int, fps: float) -> float:
    """How long a clip of `frames` frames plays at `fps` (16 frames at 8 fps: 2.0 s)."""
    return round(frames / fps, 3)


class ApiEndpoints:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.root = ctx.store.root / "api"

    def _scene(self, scene_json: str) -> Scene:
        """Parse the caller's scene; file references may only point into the API's upload area."""
        scene = Scene.from_json(scene_json or "", "scene_json")
        confine_file_refs(scene, self.root, "scene_json", "a file uploaded through /import_motion (use the 'source' it returned)")
        scene._base_dir = self.root
        return scene

    def _weights(self, model, adapters) -> tuple[str, str | None]:
        """The caller's choice among the models and adapter folders the operator offers (by name:
        a caller never names a server path or a hub id of its own, so nothing else is probed)."""
        offered, folders = offered_models(self.ctx.config), self.ctx.config.adapters
        model = (model or "").strip() or offered[0]
        if model not in offered:
            raise AmgError(f"model {model[:80]!r} is not offered here; choose one of: {', '.join(offered)}")
        name = (adapters or "").strip()
        if name and name not in folders:
            choice = ", ".join(sorted(folders)) or "none are offered (the operator adds them with --adapters NAME=DIR)"
            raise AmgError(f"adapters {name[:80]!r} are not offered here; choose one of: {choice}")
        return model, (str(folders[name]) if name else None)

    def build(self) -> None:
        ctx = self.ctx
        with gr.Group(visible=False):
            scene_in = gr.Textbox(label="scene_json")
            preview_video = gr.Video(label="preview")
            preview_sketch = gr.Image(label="sketch", type="filepath")
            preview_info = gr.JSON(label="info")

            prompt_in = gr.Textbox(label="prompt")
            negative_in = gr.Textbox(label="negative_prompt")
            steps_in = gr.Number(label="steps", value=20, precision=0)
            guidance_in = gr.Number(label="guidance", value=9.0)
            avatar_in = gr.Number(label="avatar_guidance", value=0.0)
            seed_in = gr.Number(label="seed", value=-1, precision=0)
            model_in = gr.Textbox(label="model", value=offered_models(ctx.config)[0])
            adapters_in = gr.Textbox(label="adapters")  # a name the operator offers, or empty
            gen_video = gr.Video(label="generated")
            gen_condition = gr.Video(label="condition")
            gen_scene = gr.File(label="scene")
            gen_info = gr.JSON(label="result")

            motion_in = gr.File(label="motion_file", file_types=[".npz", ".npy", ".bvh"])
            motion_info = gr.JSON(label="motion")
            motion_file = gr.File(label="motion_npz")
            export_format = gr.Textbox(label="format", value="glb")
            export_file = gr.File(label="scene_file")
            bundle_in = gr.File(label="scene_file", file_types=[".amgscene", ".json"])
            opened_json = gr.Textbox(label="scene_json")
            opened_info = gr.JSON(label="info")
            # never shown or clicked: they only give each endpoint a trigger and a name
            render_btn, generate_btn, import_btn = gr.Button(), gr.Button(), gr.Button()
            export_btn, open_btn = gr.Button(), gr.Button()

        @user_errors
        def api_render_preview(scene_json):
            """Render a scene's avatar condition video. Returns (MP4, top-down sketch PNG, info)."""
            scene = self._scene(scene_json)
            out = self.root / "previews" / uuid.uuid4().hex
            pv = render_preview(scene, out / "preview.mp4")
            sketch = out / "sketch.png"
            pv.sketch.save(sketch)
            r = preview_scene(scene).render  # within the preview budget: smaller or sparser than the scene
            return str(pv.video), str(sketch), dict(frames=r.frames, width=r.width, height=r.height, fps=r.fps,
                                                    clip_seconds=clip_seconds(r.frames, r.fps),
                                                    render_seconds=round(pv.seconds, 3),
                                                    reduced=r != scene.render)

        @user_errors
        def api_generate(scene_json, prompt, negative_prompt, steps, guidance, avatar_guidance, seed, model,
                         adapters, progress=gr.Progress()):
            """Generate a video for a scene (runs in the job queue). Returns (MP4, condition MP4, scene, result)."""
            scene = self._scene(scene_json)
            if (prompt or "").strip():
                scene.prompt = prompt.strip()
            model, adapter_dir = self._weights(model, adapters)
            settings = GenerateSettings(
                model=model, adapters=adapter_dir,
                # None: the route's default; 0 or less is refused with a message (never silently 20)
                steps=None if steps is None else int(steps),
                guidance=None if guidance is None else float(guidance),
                avatar_guidance=float(avatar_guidance) if avatar_guidance else None,
                seed=None if seed is None or int(seed) < 0 else int(seed),
                negative_prompt=negative_prompt if (negative_prompt or "").strip() else None)
            jobs_dir = ctx.store.root / "jobs"
            job = ctx.jobs.submit(lambda job: run_generation(job, scene, settings, jobs_dir / job.id,
                                                             ctx.config.device), owner="api", kind="generate")
            try:
                while job.active:
                    if job.total:
                        progress((job.step, job.total), desc=job.message)
                    ctx.jobs.wait(job, timeout=0.5)
            except BaseException:
                ctx.jobs.cancel(job.id)  # the caller went away: free the worker
                raise
            if job.status != "done":
                raise AmgError(job.error or f"generation {job.status}")
            r = job.result
            # files go back as files (Gradio's cache, under hashed names); no server path in the JSON
            info = {k: (Path(v).name if isinstance(v, str) and Path(v).is_absolute() else v) for k, v in r.items()
                    if k != "seconds"}
            # the clip's length and the time it took, each under its own name (one "seconds" was ambiguous)
            info["clip_seconds"] = clip_seconds(r["frames"], r["fps"])
            info["generation_seconds"] = r["seconds"]
            info["model"], info["adapters"] = model, (adapters or "").strip() or None
            return r["video"], r["condition"], r["scene"], info

        @user_errors
        def api_import_motion(motion_file):
            """Import a motion file (AMASS/SMPL/AIST++/joints .npz/.npy, BVH). Returns (info, AMG .npz)."""
            if not engine.has("motion_import"):
                raise AmgError(engine.missing("motion_import"))
            if not motion_file:
                raise AmgError("motion_file: no file given")
            from amg.motion.formats import load_motion_file, save_npz

            src = Path(motion_file)
            try:
                motions = load_motion_file(src)
            except AmgError as e:
                raise AmgError(str(e).replace(str(src), src.name)) from None
            folder = self.root / "motions" / uuid.uuid4().hex
            folder.mkdir(parents=True, exist_ok=True)
            kept = folder / src.name
            shutil.copyfile(src, kept)
            npz = save_npz(motions, folder / (src.stem + ".amg.npz")) if len({m.num_frames for m in motions}) == 1 \
                else save_npz(motions[0], folder / (src.stem + ".amg.npz"))
            info = dict(source=str(kept.relative_to(self.root)), people=len(motions),
                        frames=[m.num_frames for m in motions], fps=motions[0].fps,
                        seconds=[round(m.duration, 3) for m in motions])
            return info, str(npz)

        @user_errors
        def api_export_scene(scene_json, fmt):
            """The scene as animated glTF ("glb" or "gltf"): skinned people, floor, the scene camera."""
            if not engine.has("export"):
                raise AmgError(engine.missing("export"))
            fmt = (fmt or "glb").strip().lower().lstrip(".")
            if fmt not in ("glb", "gltf"):
                raise AmgError(f"format {fmt!r}: the API exports glb or gltf")
            scene = self._scene(scene_json)
            out = self.root / "exports" / uuid.uuid4().hex / f"scene.{fmt}"
            return str(engine.get("export")(scene, out).path)

        @user_errors
        def api_open_scene(scene_file):
            """Open a scene bundle (.amgscene: a scene with its files) or a scene JSON. Returns (the scene as
            JSON for the other endpoints, its files now on the server, referred to by the scene; info)."""
            if not scene_file:
                raise AmgError("scene_file: no file given")
            src = Path(scene_file)
            folder = self.root / "motions" / uuid.uuid4().hex  # kept as long as /import_motion's uploads
            try:
                scene, missing = open_scene_file(src, folder, self.root)
                confine_file_refs(scene, self.root, src.name,
                                  "a file uploaded through /import_motion or /open_scene")
            except AmgError:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            r = scene.render
            info = dict(people=[p.id for p in scene.people], files=len(file_refs(scene)),
                        missing=[f"{m.where}: {Path(m.ref).name}" for m in missing],
                        frames=r.frames, fps=r.fps, clip_seconds=clip_seconds(r.frames, r.fps))
            return scene.to_json(), info

        open_btn.click(api_open_scene, [bundle_in], [opened_json, opened_info], api_name="open_scene",
                       concurrency_limit=4)
        export_btn.click(api_export_scene, [scene_in, export_format], [export_file], api_name="export_scene",
                         concurrency_id="preview", concurrency_limit=ctx.config.max_previews)
        render_btn.click(api_render_preview, [scene_in], [preview_video, preview_sketch, preview_info],
              api_name="render_preview", concurrency_id="preview", concurrency_limit=ctx.config.max_previews)
        generate_btn.click(api_generate, [scene_in, prompt_in, negative_in, steps_in, guidance_in, avatar_in, seed_in,
                                   model_in, adapters_in], [gen_video, gen_condition, gen_scene, gen_info],
              api_name="generate", concurrency_limit=None)
        import_btn.click(api_import_motion, [motion_in], [motion_info, motion_file], api_name="import_motion",
              concurrency_limit=4)

