"""Camera tab: preset and its parameters, keyframed paths, camera files, and the live preview."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from amg.errors import AmgError
from amg.scene import ASPECTS, SIZE_RULES, CameraRef, nearest_aspect
from app import engine
from app.context import Ctx, user_errors
from app.preview import render_preview, scene_joints
from app.session import Session

#: Parameters that are not a single number or choice (edited through the keyframe table instead).
SKIPPED = {"target"}
KEY_COLUMNS = ["time (s)", "camera x", "camera y", "camera z", "look at x", "look at y", "look at z", "fov (deg)"]
DEFAULT_KEYS = [[0.0, -2.5, 1.5, 4.0, 0.0, 1.0, 0.0, 40.0], [2.0, 2.5, 1.5, 4.0, 0.0, 1.0, 0.0, 40.0]]
#: The sizes offered for each aspect: (label, short side, size rule family); the rule's native size
#: where it has that aspect.
SIZE_OFFERS = (("ModelScope, the paper's model", None, "modelscope"), ("Wan2.1", None, "wan2.1"),
               ("small, quick previews", 128, "modelscope"))


def size_choices(aspect: str) -> list[tuple[str, str]]:
    """(label, "WxH") for each size offered at `aspect`, without repeats."""
    out, seen = [], set()
    for label, short, family in SIZE_OFFERS:
        w, h = SIZE_RULES[family].size_for(aspect, short)
        if f"{w}x{h}" not in seen:
            seen.add(f"{w}x{h}")
            out.append((f"{w}x{h} ({label})", f"{w}x{h}"))
    return out


def size_for_aspect(aspect: str, short: int) -> tuple[int, int]:
    """A size of `aspect` near the current one: Wan's when the short side is Wan's, else ModelScope's rule."""
    family = "wan2.1" if short == min(SIZE_RULES["wan2.1"].width, SIZE_RULES["wan2.1"].height) else "modelscope"
    rule = SIZE_RULES[family]
    native = min(rule.width, rule.height)
    return rule.size_for(aspect, None if short == native else max(16, short // 8 * 8))


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
        return w, h
    except ValueError:
        raise AmgError(f"size {text!r}: give it as WIDTHxHEIGHT, e.g. 456x256") from None


def _presets():
    if engine.has("camera_presets"):
        from amg.camera import presets

        return presets
    return None


# A shot edit: the render settings it changes, from the current ones and the control's value.
def _shot_seconds(r, value) -> dict:  # the length is kept in frames at the scene's fps
    return {"frames": max(1, round(float(value) * r.fps))}


def _shot_fps(r, value) -> dict:  # a new frame rate keeps the length in seconds
    return {"fps": float(value), "frames": max(1, round(r.frames / r.fps * float(value)))}


def _shot_aspect(r, value) -> dict:
    return dict(zip(("width", "height"), size_for_aspect(value, min(r.width, r.height))))


def _shot_size(r, value) -> dict:
    return dict(zip(("width", "height"), parse_size(value)))


class ParamControl:
    """One preset parameter as a control; `auto` (a checkbox) stands for 'no value: frame the people'."""

    def __init__(self, p, preset: str | None):
        self.name, self.param, self.preset = p.name, p, preset
        self.auto = None
        label = p.name.replace("_", " ")
        if p.choices:
            self.control = gr.Radio(list(p.choices), label=label, info=p.help, value=p.default)
            self.kind = "choice"
        elif isinstance(p.default, bool):
            self.control = gr.Checkbox(label=label, info=p.help, value=p.default)
            self.kind = "bool"
        else:
            lo, hi = p.low if p.low is not None else 0.0, p.high if p.high is not None else 1.0
            step = 1.0 if p.name == "seed" or hi - lo >= 90 else 0.05
            if p.default is None:
                with gr.Row():
                    self.control = gr.Slider(lo, hi, step=step, label=label, info=p.help, scale=4,
                                             value=min(max(2.5, lo), hi), elem_id=f"cam-{preset or 'common'}-{p.name}")
                    self.auto = gr.Checkbox(label="auto", value=True, scale=1, min_width=60)
            else:
                self.control = gr.Slider(lo, hi, step=step, label=label, info=p.help, value=p.default,
                                         elem_id=f"cam-{preset or 'common'}-{p.name}")
            self.kind = "number"

    def auto_of(self, params: dict):
        return params.get(self.name) is None and self.param.default is None


class CameraTab:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.presets = _presets()

    # ---- layout ------------------------------------------------------------------------
    def build(self) -> None:
        with gr.Row():
            with gr.Column(scale=3):
                if self.presets is None:
                    gr.Markdown(f"**Camera presets unavailable:** {engine.missing('camera_presets')}. "
                                "The scene's camera stays as it is.")
                    self.preset = gr.Dropdown(visible=False)
                    self.groups, self.own, self.common = {}, {}, []
                else:
                    self.preset = gr.Dropdown(list(self.presets.PRESETS), label="Camera preset", value="static",
                                              elem_id="camera-preset")
                    self.file_note = gr.Markdown(visible=False)
                    self.groups, self.own = {}, {}
                    for name in self.presets.PRESETS:
                        own = [p for p in self.presets.PRESET_PARAMS[name] if p.name not in SKIPPED]
                        if not own:
                            continue
                        with gr.Group(visible=name == "static") as group:
                            self.own[name] = [ParamControl(p, name) for p in own]
                        self.groups[name] = group
                    with gr.Accordion("Framing (all presets)", open=True):
                        self.common = [ParamControl(p, None) for p in self.presets.COMMON if p.name not in SKIPPED]
                with gr.Accordion("Shot: length, frame rate, shape, floor", open=True):
                    with gr.Row():
                        self.seconds = gr.Slider(0.25, 30, step=0.125, label="length (s)", value=2.0,
                                                 elem_id="shot-seconds")
                        self.fps = gr.Slider(1, 30, step=1, label="frames per second", value=8, elem_id="shot-fps")
                    with gr.Row():
                        self.aspect = gr.Radio(list(ASPECTS), value="1:1", label="aspect ratio", elem_id="shot-aspect")
                        self.size = gr.Dropdown(size_choices("1:1"), value="256x256", elem_id="shot-size",
                                                label="size (those each video model takes)", allow_custom_value=True)
                    with gr.Row():
                        self.shot_note = gr.Markdown(elem_id="shot-note")
                        self.floor = gr.Checkbox(label="floor grid (shows camera motion)", elem_id="floor-grid")
                with gr.Accordion("Custom path: keyframes", open=False):
                    gr.Markdown("One row per keyframe: where the camera is and what it looks at (metres, "
                                "Y up). The path is stretched over the video.")
                    self.keys = gr.Dataframe(value=DEFAULT_KEYS, headers=KEY_COLUMNS, datatype="number",
                                             column_count=len(KEY_COLUMNS), interactive=True, row_count=2)
                    with gr.Row():
                        self.use_keys = gr.Button("Use these keyframes")
                        self.use_preset = gr.Button("Back to the preset")
                with gr.Accordion("Camera files (nerfstudio, AMG, RealEstate10K, MotionCtrl, TUM)", open=False):
                    if engine.has("camera_files"):
                        self.cam_upload = gr.File(label="Import a camera path", file_types=[".json", ".txt"],
                                                  elem_id="camera-upload")
                        self.fit = gr.Checkbox(label="fit the imported path onto the people", value=True)
                        with gr.Row():
                            self.export_fmt = gr.Dropdown(["nerfstudio", "amg", "re10k", "motionctrl", "tum"],
                                                          value="nerfstudio", label="export format")
                            self.export_btn = gr.Button("Export the camera path")
                        self.export_file = gr.File(label="Exported camera path", interactive=False)
                    else:
                        gr.Markdown(f"**Unavailable:** {engine.missing('camera_files')}")
            with gr.Column(scale=2):
                self.video = gr.Video(label="Live preview (avatar condition video)", autoplay=True, loop=True,
                                      interactive=False, elem_id="preview-video", height=300)
                self.sketch = gr.Image(label="From above: people and camera path", type="pil", interactive=False,
                                       elem_id="preview-sketch", height=300)
                self.status = gr.Markdown(elem_id="preview-status")
                self.render_btn = gr.Button("Render preview", elem_id="render-preview")
                if not engine.has("render"):
                    gr.Markdown(f"**Preview unavailable:** {engine.missing('render')}")
                with gr.Accordion("The whole scene in 3D (all people, animated; the camera's path and frustum)",
                                  open=True, visible=engine.has("export")):
                    self.scene3d = gr.Model3D(label="Scene in 3D: drag to turn, scroll to zoom", height=380,
                                              elem_id="scene-3d", clear_color=(0.93, 0.93, 0.9, 1.0))
                    self.scene3d_btn = gr.Button("Show the scene in 3D", elem_id="show-scene-3d", size="sm")

    def all_params(self) -> list[ParamControl]:
        return [c for cs in self.own.values() for c in cs] + list(self.common)

    def outputs(self) -> list:
        out = [self.preset, *self.shot_outputs(), self.floor]
        if self.presets is not None:
            out.append(self.file_note)
        out += list(self.groups.values())
        for c in self.all_params():
            out.append(c.control)
            if c.auto is not None:
                out.append(c.auto)
        return out

    def shot_outputs(self) -> list:
        return [self.seconds, self.fps, self.aspect, self.size, self.shot_note]

    def shot_values(self, s: Session) -> list:
        """The shot as the scene has it: length, fps, aspect and size (with that aspect's sizes)."""
        r = s.scene.render
        aspect = nearest_aspect(r.width, r.height)
        size = f"{r.width}x{r.height}"
        choices = size_choices(aspect)
        if size not in [v for _, v in choices]:
            choices.append((f"{size} (this scene's)", size))
        return [round(r.frames / r.fps, 3), r.fps, aspect, gr.update(choices=choices, value=size),
                f"{r.frames} frames at {r.fps:g} fps, {r.width}x{r.height}"]

    def preview_if_stale(self, s: Session, shown_in: str = "camera"):
        """The preview again when the scene changed since it was drawn (edits in other tabs); else no update."""
        if not s.stale(shown_in):
            return gr.skip(), gr.skip(), gr.skip()
        return self.preview(s, shown_in)

    def values(self, s: Session) -> list:
        cam, r = s.scene.camera, s.scene.render
        preset = cam.preset if self.presets is not None and cam.preset in self.presets.PRESETS else "static"
        vals = [gr.update(value=preset), *self.shot_values(s), r.floor]
        if self.presets is not None:
            note = (f"The camera follows the path file **{Path(cam.file).name}** (the preset below is not used; "
                    "'Back to the preset' under Custom path returns to it)." if cam.file else "")
            vals.append(gr.update(value=note, visible=bool(cam.file)))
        vals += [gr.update(visible=name == preset) for name in self.groups]
        own_names = {c.name for c in self.own.get(preset, [])}
        for c in self.all_params():
            if c.preset not in (None, preset):
                vals.append(gr.skip())
            else:
                v = cam.params.get(c.name, c.param.default)
                upd = {} if v is None else {"value": v}
                if c.preset is None:
                    upd["visible"] = c.name not in own_names
                vals.append(gr.update(**upd))
            if c.auto is not None:
                vals.append(c.auto_of(cam.params) if c.preset in (None, preset) else gr.skip())
        return vals

    # ---- events ------------------------------------------------------------------------
    def preview(self, s: Session, shown_in: str = "camera"):
        """Render the session's scene: (video, sketch, status); `shown_in` names the preview it fills
        (so a tab can tell later whether what it shows is still the scene)."""
        if not engine.has("render"):
            return gr.skip(), gr.skip(), engine.missing("render")
        with s.lock:
            scene = s.scene_for_engine()
        pv = render_preview(scene, s.new_file("previews", "preview", ".mp4"))
        s.mark_shown(shown_in, scene)
        r = scene.render
        status = (f"{len(scene.people)} {'person' if len(scene.people) == 1 else 'people'}, {r.frames} frames at "
                  f"{r.width}x{r.height}, rendered in {pv.seconds:.2f} s")
        return str(pv.video), pv.sketch, status

    def scene_view(self, s: Session) -> str:
        """The scene as animated glTF for the 3D view: every person, the camera's path and frustum."""
        with s.lock:
            scene = s.scene_for_engine()
        path = s.new_file("previews", "scene3d", ".glb")
        engine.get("export")(scene, path, floor=False, camera_gizmo=0.4)
        s.mark_shown("scene3d", scene)
        return str(path)

    def wire(self, preview_outputs: list) -> None:
        ctx = self.ctx

        @user_errors
        def render(cid):
            return self.preview(ctx.session(cid))

        self.render_btn.click(render, [ctx.client], preview_outputs, **self._previewing())
        self._wire_scene3d()
        self._wire_shot(preview_outputs)
        if self.presets is not None:
            self._wire_presets(preview_outputs)
            self._wire_paths(preview_outputs)

    def _previewing(self) -> dict:
        """How a camera edit's render is queued: the previews' own line, the latest edit wins."""
        return dict(concurrency_id="preview", concurrency_limit=self.ctx.config.max_previews,
                    trigger_mode="always_last", show_progress="minimal", api_visibility="private")

    def change(self, cid, mutate):
        """Apply `mutate(session)` to the scene and render the preview; a change the scene or the
        engine refuses is undone (the last good scene stays) and said."""
        s = self.ctx.session(cid)
        with s.lock:
            backup = s.scene.model_copy(deep=True)
            try:
                mutate(s)
                s.save()
            except AmgError:
                s.scene = backup
                raise
        try:
            return self.preview(s)
        except AmgError:
            with s.lock:
                s.scene = backup
                s.save()
            raise

    def _with_controls(self, cid, preview) -> list:
        """The preview and every camera control, read back from the scene (what it will render)."""
        return [*preview, *self.values(self.ctx.session(cid))]

    def _wire_scene3d(self) -> None:
        """The whole scene in 3D: drawn on request, then redrawn whenever the preview is (if stale)."""
        if not engine.has("export"):
            return
        ctx, client = self.ctx, self.ctx.client

        @user_errors
        def show(cid):
            s = ctx.session(cid)
            s.remember("camera.scene3d", True)
            return self.scene_view(s)

        def follow(cid):
            s = ctx.session(cid) if cid else None
            if s is None or not s.recall("camera.scene3d") or not s.stale("scene3d"):
                return gr.skip()
            try:
                return self.scene_view(s)
            except AmgError:
                return gr.skip()  # the preview's status already says what is wrong

        self.scene3d_btn.click(show, [client], [self.scene3d], api_visibility="private",
                               concurrency_id="export", concurrency_limit=1)
        self.video.change(follow, [client], [self.scene3d], api_visibility="private", concurrency_id="export",
                          concurrency_limit=1, trigger_mode="always_last", show_progress="hidden")

    def _wire_shot(self, preview_outputs: list) -> None:
        """Length, fps, aspect, size and floor: each renders and shows the shot as the scene has it."""
        ctx, client, previewing = self.ctx, self.ctx.client, self._previewing()

        def set_shot(shape):
            @user_errors
            def fn(cid, value):
                def mutate(s):
                    r = s.scene.render
                    s.scene.render = r.with_overrides(**shape(r, value))
                return [*self.change(cid, mutate), *self.shot_values(ctx.session(cid))]
            return fn

        shot_out = [*preview_outputs, *self.shot_outputs()]
        self.seconds.release(set_shot(_shot_seconds), [client, self.seconds], shot_out, **previewing)
        self.fps.release(set_shot(_shot_fps), [client, self.fps], shot_out, **previewing)
        self.aspect.input(set_shot(_shot_aspect), [client, self.aspect], shot_out, **previewing)
        self.size.input(set_shot(_shot_size), [client, self.size], shot_out, **previewing)

        @user_errors
        def set_floor(cid, value):
            return self.change(cid, lambda s: setattr(s.scene.render, "floor", bool(value)))

        self.floor.input(set_floor, [client, self.floor], preview_outputs, **previewing)

    def _remember_preset(self, s: Session) -> None:
        """Keep the current preset's parameters (a later switch back, or 'Back to the preset' after a
        camera file, returns to them; the scene holds only the preset in use)."""
        cam = s.scene.camera
        if not cam.file:
            memory = dict(s.recall("camera.params", {}))
            memory[cam.preset] = dict(cam.params)
            s.remember("camera.params", memory)

    def _preset_camera(self, s: Session, name: str) -> CameraRef:
        """Preset `name` with its remembered own parameters and the current framing (common ones)."""
        own = {p.name for p in self.presets.PRESET_PARAMS.get(name, ())}
        common = {p.name for p in self.presets.preset_params(name)} - own
        on_file = bool(s.scene.camera.file)
        current = {} if on_file else s.scene.camera.params
        remembered = s.recall("camera.params", {}).get(name, {})
        params = {k: v for k, v in remembered.items() if k in own or (k in common and on_file)}
        params.update({k: v for k, v in current.items() if k in common})
        return CameraRef(preset=name, params=params)

    def _file_camera(self, s: Session, file: str, params: dict) -> CameraRef:
        """The camera following `file`; the preset stays named in the scene for 'Back to the preset'."""
        self._remember_preset(s)
        return CameraRef(preset=s.scene.camera.preset, params=params, file=file)

    def _wire_presets(self, preview_outputs: list) -> None:
        """The preset (its controls read back from the scene) and each parameter's slider or choice."""
        client, previewing = self.ctx.client, self._previewing()

        @user_errors
        def set_preset(cid, name):
            def mutate(s):
                self._remember_preset(s)
                s.scene.camera = self._preset_camera(s, name)
            return self._with_controls(cid, self.change(cid, mutate))

        def set_param(name, auto=False):
            @user_errors
            def fn(cid, value):
                def mutate(s):
                    params = dict(s.scene.camera.params)
                    if auto and value:
                        params.pop(name, None)
                    elif not auto:
                        params[name] = value
                    cam = s.scene.camera
                    s.scene.camera = CameraRef(preset=cam.preset, params=params, file=cam.file)
                return self.change(cid, mutate)
            return fn

        self.preset.input(set_preset, [client, self.preset], [*preview_outputs, *self.outputs()], **previewing)
        for c in self.all_params():
            event = c.control.release if c.kind == "number" else c.control.input
            deps = event(set_param(c.name), [client, c.control], preview_outputs, **previewing)
            if c.auto is not None:
                deps.then(lambda: False, None, [c.auto], show_progress="hidden")
                c.auto.input(set_param(c.name, auto=True), [client, c.auto], preview_outputs, **previewing)

    def _wire_paths(self, preview_outputs: list) -> None:
        """Keyframed paths, 'Back to the preset', camera files in and out."""
        ctx, client, previewing = self.ctx, self.ctx.client, self._previewing()
        controls_out = [*preview_outputs, *self.outputs()]

        def follow_file(cid, file: str, params: dict):
            return self._with_controls(cid, self.change(cid, lambda s: setattr(
                s.scene, "camera", self._file_camera(s, file, params))))

        @user_errors
        def use_keys(cid, table):
            return follow_file(cid, self.keyframes_file(ctx.session(cid), table), {"retime": True})

        @user_errors
        def use_preset(cid):
            return self._with_controls(cid, self.change(cid, lambda s: setattr(
                s.scene, "camera", self._preset_camera(s, s.scene.camera.preset))))

        self.use_keys.click(use_keys, [client, self.keys], controls_out, **previewing)
        self.use_preset.click(use_preset, [client], controls_out, **previewing)
        if not engine.has("camera_files"):
            return

        @user_errors
        def import_file(cid, file, fit):
            if not file:
                return [gr.skip()] * len(controls_out)
            s = ctx.session(cid)
            src = Path(file)
            from amg.camera.formats import load_camera_path

            load_camera_path(src)  # refuse a bad file before it becomes the scene's camera
            dst = s.new_file("cameras", src.stem[:40], src.suffix or ".json")
            dst.write_bytes(src.read_bytes())
            return follow_file(cid, str(dst.relative_to(s.dir)), {"retime": True, "fit": bool(fit)})

        @user_errors
        def export(cid, fmt):
            return str(self.export_path(ctx.session(cid), fmt))

        self.cam_upload.upload(import_file, [client, self.cam_upload, self.fit], controls_out, **previewing)
        self.export_btn.click(export, [client, self.export_fmt], [self.export_file], api_visibility="private")

    # ---- engine calls --------------------------------------------------------------------
    def keyframes_file(self, s: Session, table) -> str:
        """Write the keyframe table as an AMG camera path in the session; its relative path."""
        from amg.camera import look_at
        from amg.camera.formats import save_camera_path
        from amg.camera.path import CameraPath, Keyframe

        rows = np.asarray(table.values if hasattr(table, "values") else table, dtype=object)
        keys = []
        for i, row in enumerate(rows):
            try:
                t, cx, cy, cz, tx, ty, tz, fov = (float(v) for v in row[:8])
            except (TypeError, ValueError):
                raise AmgError(f"keyframe table row {i + 1}: every cell must be a number") from None
            eye, target = np.array([cx, cy, cz]), np.array([tx, ty, tz])
            if np.linalg.norm(eye - target) < 1e-6:
                raise AmgError(f"keyframe table row {i + 1}: the camera cannot look at its own position")
            keys.append(Keyframe(t, look_at(eye, target), fov, target=target))
        if len(keys) < 2:
            raise AmgError("keyframe table: a path needs at least two keyframes")
        path = CameraPath(sorted(keys, key=lambda k: k.time), source="keyframe table", name="keyframes")
        file = s.new_file("cameras", "keyframes", ".json")
        save_camera_path(path, file, "amg")
        return str(file.relative_to(s.dir))

    def export_path(self, s: Session, fmt: str) -> Path:
        """The scene's camera path as a file in `fmt`, sampled at the video's frames."""
        from amg.camera.formats import save_camera_path
        from amg.camera.scene_camera import scene_camera_path
        from amg.camera.subjects import Subjects

        scene = s.scene_for_engine()
        joints = scene_joints(scene)  # (no frames rendered: at the scene limits they are GBs)
        r = scene.render
        subjects = Subjects.from_joints(joints, aspect=r.width / r.height)  # framed as the render frames them
        path, _ = scene_camera_path(scene.camera, subjects, r.frames, r.fps, scene.resolve_path)
        suffix = ".txt" if fmt in ("re10k", "tum") else ".json"
        out = s.new_file("exports", f"camera_path_{fmt}", suffix)
        save_camera_path(path, out, fmt, fps=r.fps, width=r.width, height=r.height, retime_frames=r.frames)
        return out
