"""The AMG Studio page: scene bar, tabs, session start-up and re-attachment, API endpoints."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import gradio as gr

from amg.bundle import BUNDLE_SUFFIX, describe_missing, open_scene_file, save_bundle
from amg.errors import AmgError
from amg.scene import Scene
from app import engine
from app.api import ApiEndpoints
from app.context import MAX_UPLOAD, AppConfig, Ctx, user_errors
from app.fields import RememberedFields
from app.session import confine_file_refs
from app.tabs.advanced import AdvancedTab
from app.tabs.avatar import AvatarTab
from app.tabs.camera import CameraTab
from app.tabs.generate import GenerateTab
from app.tabs.motion import MotionTab

TITLE = "AMG Studio"
CSS = """
.amg-banner { background: #fff3cd; border: 2px solid #d39e00; color: #533f03; padding: 10px 14px;
              border-radius: 8px; font-size: 0.95em; }
.amg-ok { background: #e7f5ea; border: 1px solid #5aa469; padding: 8px 12px; border-radius: 8px; }
.amg-progress { height: 10px; background: #e5e7eb; border-radius: 5px; overflow: hidden; margin-top: 6px; }
.amg-progress > div { height: 100%; background: #f97316; transition: width 0.3s; }
"""
#: The page keeps its client id in sessionStorage: per tab, kept across reloads.
STORAGE_KEY = "amg-studio-client"
READ_CLIENT_JS = f"() => [window.sessionStorage.getItem('{STORAGE_KEY}') || '']"
SAVE_CLIENT_JS = f"(cid) => {{ window.sessionStorage.setItem('{STORAGE_KEY}', cid); return []; }}"
FIRST_EXAMPLE = "two_people"


def file_stem_of(name: str) -> str:
    """`name` as a safe file stem (letters, digits, - and _; at most 40 characters)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40] or "scene"


def example_scenes(folder: Path) -> dict[str, Path]:
    """Label -> file for the shipped example scenes (label: the scene's name, else the file name)."""
    out = {}
    for f in sorted(folder.glob("*.json")):
        try:
            label = Scene.load(f).name or f.stem
        except AmgError:
            continue  # a broken example is left out rather than breaking the page
        out[f"{label} ({f.stem})"] = f
    return out


#: The named API endpoints the README documents; every other event of the page is internal.
PUBLIC_ENDPOINTS = ("render_preview", "generate", "import_motion", "export_scene", "open_scene")


def hide_internal_events(demo: gr.Blocks) -> None:
    """Only the documented endpoints are public API ("Use via API", gradio_client); the page's own
    events stay callable by the page but are neither listed nor offered to clients."""
    for fn in demo.fns.values():
        if fn.api_name not in PUBLIC_ENDPOINTS:
            fn.api_visibility = "private"


#: Advanced-tab fields kept per session (a reload shows them as the user left them).
ADVANCED_REMEMBERED = ["prompt", "tracker", "clip_model", "dataset", "frames", "size", "fps", "motion_preset",
                       "camera", "start", "caption", "model", "steps", "lr", "every", "adapters_name", "processes",
                       "validate_every", "validation_clips"]


def build_app(config: AppConfig | None = None) -> gr.Blocks:
    config = config or AppConfig()
    ctx = Ctx(config)
    ctx.start_sweeping()  # API results, uploads and job folders nobody holds are deleted
    examples = example_scenes(config.scenes_dir)
    first = next((k for k, f in examples.items() if f.stem == FIRST_EXAMPLE), next(iter(examples), None))

    # Gradio's copies of served files are dropped after a day (checked hourly)
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 24 * 3600)) as demo:
        ctx.client = gr.State("")
        client_box = gr.Textbox(visible=False)
        gr.Markdown(f"# {TITLE}\nDescribe people, give them motions, frame the shot, and generate the video "
                    "(AMG: avatar motion guided video generation).")
        with gr.Row(equal_height=True):
            example = gr.Dropdown(list(examples), value=first, label="Example scenes", scale=3,
                                  elem_id="example-scene")
            with gr.Column(scale=2, min_width=200):
                with gr.Row():  # one line: the tabs below stay where they were
                    load_example = gr.Button("Load example", elem_id="load-example", scale=1)
                    # the whole scene as animated glTF for Blender: skinned people, floor, the scene camera
                    export_glb = gr.Button("Export .glb", elem_id="export-glb", min_width=100, scale=1,
                                           visible=engine.has("export"))
                with gr.Row():
                    scene_upload = gr.UploadButton("Open scene…", file_types=[".amgscene", ".json"],
                                                   elem_id="scene-upload", size="md")
                    save = gr.Button("Save scene", elem_id="save-scene", size="md")
            saved = gr.File(label="Saved scene (.amgscene: the scene with its files)", interactive=False, scale=2,
                            height=80, elem_id="scene-file", visible=False)
            exported = gr.File(label="Scene for Blender (.glb)", interactive=False, scale=2, height=80,
                               elem_id="scene-glb", visible=False)
        scene_note = gr.Markdown(elem_id="scene-note")

        avatar, motion, camera = AvatarTab(ctx), MotionTab(ctx), CameraTab(ctx)
        generate, advanced = GenerateTab(ctx), AdvancedTab(ctx)
        with gr.Tabs():
            with gr.Tab("Avatars", id="avatars") as avatars_tab:
                avatar.build()
            with gr.Tab("Motion", id="motion") as motion_tab:
                motion.build()
            with gr.Tab("Camera", id="camera") as camera_tab:
                camera.build()
            with gr.Tab("Generate", id="generate"):
                generate.build()
            with gr.Tab("Advanced", id="advanced"):
                advanced.build(generate.adapters, generate.model)
        ApiEndpoints(ctx).build()

        tabs = (avatar, motion, camera, generate)
        refresh_outputs = [c for t in tabs for c in t.outputs()]
        preview_outputs = [camera.video, camera.sketch, camera.status]

        def refresh_all(s):
            return [v for t in tabs for v in t.values(s)]

        avatar.wire(refresh_all, refresh_outputs, preview_outputs)
        motion.wire(refresh_all, refresh_outputs, lambda s: camera.preview(s, "motion"))
        camera.wire(preview_outputs)
        generate.wire(refresh_all, refresh_outputs)

        previewing = dict(concurrency_id="preview", concurrency_limit=config.max_previews, show_progress="minimal",
                          api_visibility="private")

        def render(cid):
            try:
                return camera.preview(ctx.session(cid))
            except AmgError as e:
                return gr.skip(), gr.skip(), f"Preview failed: {e}"

        # a tab shows the current scene when it is opened: its preview is drawn again if edits elsewhere
        # (another tab, a scene opened, a person added) changed the scene since
        @user_errors
        def render_motion(cid):
            s = ctx.session(cid)
            return [*camera.preview_if_stale(s, "motion"), motion.timelines(s)]

        @user_errors
        def render_camera(cid):
            return camera.preview_if_stale(ctx.session(cid), "camera")

        motion_tab.select(render_motion, [ctx.client], [motion.video, motion.sketch, motion.status, motion.timeline],
                          **previewing)
        camera_tab.select(render_camera, [ctx.client], preview_outputs, **previewing)
        glb_out = avatar.preview_outputs

        def build3d_if_stale(cid):
            s = ctx.session(cid)
            return build3d(cid) if s.stale(avatar.shown_key(s)) else [gr.skip()] * len(glb_out)

        avatars_tab.select(build3d_if_stale, [ctx.client], glb_out, api_visibility="private", show_progress="hidden")

        def build3d(cid):
            try:
                return avatar.build3d(cid)
            except gr.Error:
                return [gr.skip()] * len(glb_out)

        def load_scene(s, scene: Scene, note: str):
            s.set_scene(scene)
            s.selected = scene.people[0].id
            return [*refresh_all(s), note]

        @user_errors
        def open_example(cid, label):
            s = ctx.session(cid)
            if label not in examples:
                raise AmgError(f"example scene {label!r} is not available")
            return load_scene(s, Scene.load(examples[label]), f"Loaded the example **{label}**.")

        @user_errors
        def open_upload(cid, file):
            """Open a scene bundle (the scene with its files) or a plain scene JSON; a JSON whose files
            are not in this session opens with the list of what is missing."""
            if not file:
                return [gr.skip() for _ in refresh_outputs] + [gr.skip()]
            s = ctx.session(cid)
            path = Path(file)
            folder = s.subdir("bundles") / f"{file_stem_of(path.stem)}-{uuid.uuid4().hex[:6]}"
            try:
                scene, missing = open_scene_file(path, folder, s.dir)
                confine_file_refs(scene, s.dir, path.name, "a file uploaded in this session")
            except AmgError as e:
                shutil.rmtree(folder, ignore_errors=True)
                raise AmgError(f"{e} (the current scene is unchanged)") from None
            for p in scene.people:  # a bundle's motions join this session's uploads
                if p.motion.source.startswith("bundles/"):
                    s.motions.setdefault(Path(p.motion.source).name, p.motion.source)
            if missing:
                note = (f"Opened **{path.name}**, but {len(missing)} file(s) it uses are not here: "
                        f"{describe_missing(missing)}. Upload them (Motion, Camera or Avatars tab) and assign "
                        "them again, or open the scene's .amgscene bundle, which carries its files; until then "
                        "the preview cannot be drawn.")
            else:
                note = f"Opened **{path.name}**."
            return load_scene(s, scene, note)

        def file_stem(s) -> str:
            return file_stem_of(s.scene.name or "scene")

        @user_errors
        def save_scene(cid):
            """The scene as one bundle: its JSON with every motion, camera and splat file it uses."""
            s = ctx.session(cid)
            path = s.new_file("exports", file_stem(s), BUNDLE_SUFFIX)
            save_bundle(s.scene_for_engine(), path)
            return gr.update(value=str(path), visible=True)

        scene_out = [*refresh_outputs, scene_note]
        load_example.click(open_example, [ctx.client, example], scene_out, api_visibility="private").success(
            render, [ctx.client], preview_outputs, **previewing).then(build3d, [ctx.client], glb_out)
        scene_upload.upload(open_upload, [ctx.client, scene_upload], scene_out, api_visibility="private",
                            show_progress="hidden").success(
            render, [ctx.client], preview_outputs, **previewing).then(build3d, [ctx.client], glb_out)
        save.click(save_scene, [ctx.client], [saved], api_visibility="private")

        @user_errors
        def export_scene_glb(cid, progress=gr.Progress()):
            s = ctx.session(cid)
            path = s.new_file("exports", file_stem(s), ".glb")
            engine.get("export")(s.scene, path, progress=lambda msg: progress(None, desc=msg))
            return gr.update(value=str(path), visible=True)

        export_glb.click(export_scene_glb, [ctx.client], [exported], api_visibility="private",
                         concurrency_id="export", concurrency_limit=1)  # never queued behind previews

        # Generate and Advanced settings: saved as they change, put back by a reload
        fields = RememberedFields(ctx)
        fields.add("generate", generate, GenerateTab.REMEMBERED, generate.restorers())
        fields.add("advanced", advanced, ADVANCED_REMEMBERED)
        fields.wire()

        def start(browser_cid):
            s = ctx.session(browser_cid)
            fresh = not (s.dir / ".started").exists()
            note = ""
            if fresh:
                (s.dir / ".started").touch()
                if first is not None:
                    s.set_scene(Scene.load(examples[first]))
                    note = f"Started with the example **{first}**; pick another above or build your own."
            elif browser_cid == s.id:
                note = "Welcome back: your scene is as you left it."
            return [s.id, s.id, *refresh_all(s), note, *fields.values(s)]

        loaded = demo.load(start, [client_box], [ctx.client, client_box, *scene_out, *fields.components()],
                           js=READ_CLIENT_JS,
                           api_visibility="private", show_progress="hidden")
        loaded.then(
            None, [client_box], None, js=SAVE_CLIENT_JS).then(
            render, [ctx.client], preview_outputs, **previewing).then(
            build3d, [ctx.client], glb_out, show_progress="hidden").then(
            generate.watch, [ctx.client], [generate.status, *generate.result_outputs()],
            show_progress_on=[generate.result], concurrency_limit=None, api_visibility="private")
        if engine.has("train"):  # a fine-tune started before a reload: follow it again
            loaded.then(advanced.watch_training, [ctx.client], [advanced.train_status, advanced.train_result,
                                                                advanced.use, *advanced.curve_outputs],
                        concurrency_limit=None, api_visibility="private", show_progress="hidden")

        hide_internal_events(demo)

    demo.ctx = ctx  # for tests and benchmarks: the server-side sessions and jobs
    return demo


def launch_kwargs() -> dict:
    """What `launch()` needs besides host/port (theme/css moved to launch() in Gradio 6)."""
    return dict(css=CSS, max_file_size=MAX_UPLOAD, footer_links=["api"], show_error=True)
