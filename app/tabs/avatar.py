"""Avatar tab: the people of the scene, how each looks, and a 3D preview of the posed avatar."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import gradio as gr
import numpy as np

from amg.errors import AmgError
from amg.scene import Person, Scene
from app import engine
from app.context import Ctx, user_errors
from app.session import Session

BODY_SLIDERS = ("gender", "age", "weight", "muscle", "height")
SLIDER_HELP = {"gender": "0 male .. 1 female", "age": "0 baby, 0.33 child, 0.67 adult, 1 old",
               "weight": "0 thin .. 1 heavy", "muscle": "0 soft .. 1 muscular", "height": "0 short .. 1 tall"}
COLOUR_REGIONS = ("top", "bottom", "shoes", "hair", "skin")
GARMENT_FROM_PROMPT = "from the prompt"
GARMENTS = (GARMENT_FROM_PROMPT, "trousers", "shorts", "skirt", "dress")
STYLES = ("mesh", "gaussians")


def _resolved(session: Session, person: Person):
    """The appearance the engine will paint (prompt + explicit controls), or None without the engine."""
    if not engine.has("avatar"):
        return None
    from amg.avatar.avatar import resolve_appearance

    index = session.person_ids().index(person.id)
    return resolve_appearance(person.avatar, index)


def with_people(scene: Scene, people: list[Person]) -> Scene:
    """A validated copy of `scene` with other people (unique ids, 1-8 people)."""
    data = scene.model_dump()
    data["people"] = [p.model_dump() for p in people]
    return Scene.from_dict(data, "scene")


def _new_id(scene: Scene, base: str = "person") -> str:
    ids = {p.id for p in scene.people}
    base = re.sub(r"\d+$", "", base) or "person"
    n = 1
    while f"{base}{n}" in ids:
        n += 1
    return f"{base}{n}"


def _add_person(s: Session) -> None:
    person = Person(id=_new_id(s.scene))
    person.placement.x = 0.8 * len(s.scene.people)  # stand beside the others, not inside them
    s.add_person(person)


def _duplicate_person(s: Session) -> None:
    src = s.person()
    copy = Person.model_validate({**src.model_dump(), "id": _new_id(s.scene, src.id)})
    copy.placement.x = src.placement.x + 0.8
    s.add_person(copy)


def _remove_person(s: Session) -> None:
    if len(s.scene.people) <= 1:
        raise AmgError("a scene needs at least one person; add another before removing this one")
    people = [p for p in s.scene.people if p.id != s.selected]
    s.selected = people[0].id
    s.set_scene(with_people(s.scene, people))


def _rename_person(s: Session, name: str) -> None:
    name = (name or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        raise AmgError(f"person name {name!r}: use 1-64 letters, digits, '-' or '_'")
    if name in s.person_ids():
        raise AmgError(f"person name {name!r} is already taken")
    s.person().id = name
    s.selected = name
    s.set_scene(Scene.model_validate(s.scene.model_dump()))


def _set_entry(spec, field: str, key: str, value) -> None:
    """spec.<field>[key] = value (a new dict, so the model validates it)."""
    setattr(spec, field, {**getattr(spec, field), key: value})


def _set_garment(spec, value) -> None:
    spec.garment = None if value == GARMENT_FROM_PROMPT else value


def _reset_look(spec) -> None:
    spec.phenotype, spec.colors, spec.garment = {}, {}, None


def _set_style(spec, value) -> None:
    spec.style = "gaussians" if value == "gaussians" else "mesh"
    if spec.style == "mesh":
        spec.gaussians = None  # a worn splat is a gaussian avatar: back to mesh drops it


class AvatarTab:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx

    # ---- layout ------------------------------------------------------------------------
    def build(self) -> None:
        gr.Markdown("Each person gets an avatar from an appearance prompt; the sliders and colours "
                    "override what the prompt says.")
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Row():
                    self.people = gr.Dropdown(label="Person", choices=[], interactive=True, scale=3,
                                              elem_id="avatar-person")
                    self.add = gr.Button("Add person", scale=1, elem_id="add-person")
                    self.duplicate = gr.Button("Duplicate", scale=1)
                    self.remove = gr.Button("Remove", scale=1, variant="stop")
                with gr.Row():
                    self.new_name = gr.Textbox(label="Rename to", scale=3, max_lines=1,
                                               placeholder="letters, digits, - and _")
                    self.rename = gr.Button("Rename", scale=1)
                self.prompt = gr.Textbox(label="Appearance prompt", lines=2, elem_id="appearance-prompt",
                                         placeholder="e.g. a tall woman in a red dress with long black hair")
                # what a person change sends to the prompt box, and what the box held when it began:
                # the box takes the new text only if the user did not type meanwhile
                self.prompt_next = gr.Textbox(visible=False)
                self.prompt_sent = gr.Textbox(visible=False)
                self.build_btn = gr.Button("Build avatar", variant="primary", elem_id="build-avatar")
                self.parsed = gr.Markdown()
                with gr.Accordion("Body and colours (override the prompt)", open=True):
                    self.sliders = {k: gr.Slider(0, 1, step=0.01, label=k.capitalize(), info=SLIDER_HELP[k],
                                                 elem_id=f"avatar-{k}") for k in BODY_SLIDERS}
                    with gr.Row():
                        self.colours = {r: gr.ColorPicker(label=r.capitalize(), min_width=80) for r in COLOUR_REGIONS}
                    self.garment = gr.Dropdown(label="Lower garment", choices=list(GARMENTS))
                    self.reset = gr.Button("Reset to the prompt", size="sm")
                with gr.Accordion("Gaussian splat (3DGS avatar)", open=True, visible=engine.has("gaussians")):
                    self.style = gr.Radio(list(STYLES), label="Avatar style", elem_id="avatar-style",
                                          info="gaussians: the same person as a 3D gaussian splat, the paper's "
                                               "kind of avatar (rendered with gsplat on CUDA, a torch rasteriser on CPU)")
                    with gr.Row():
                        self.splat_upload = gr.File(label="Wear a 3DGS .ply (placed on the body)", file_types=[".ply"],
                                                    elem_id="splat-upload", scale=3, height=90)
                        self.splat_clear = gr.Button("Stop wearing it", size="sm", scale=1)
                    self.splat_info = gr.Markdown(elem_id="splat-info")
            with gr.Column(scale=2):
                if engine.has("avatar"):
                    self.model3d = gr.Model3D(label="Avatar (posed at the first frame of its motion)",
                                              height=420, elem_id="avatar-3d", clear_color=(0.93, 0.93, 0.9, 1.0),
                                              camera_position=(None, None, 2.7))  # whole body in view
                    self.glb = gr.File(label="Download the avatar (GLB, or 3DGS .ply for a splat)", interactive=False,
                                       elem_id="avatar-glb")
                else:
                    gr.Markdown(f"**3D preview unavailable:** {engine.missing('avatar')}")
                    self.model3d = gr.Model3D(visible=False)
                    self.glb = gr.File(visible=False)
                self.splat_view = gr.Image(label="The splat as the condition video draws it, over its body "
                                                 "(front, side)", interactive=False, visible=False,
                                           elem_id="splat-view", height=260)
        #: What build3d fills: the 3D view, the download, the splat's picture and its fit.
        self.preview_outputs = [self.model3d, self.glb, self.splat_view, self.splat_info]

    def outputs(self) -> list:
        return [self.people, self.new_name, self.prompt, self.parsed, *self.sliders.values(),
                *self.colours.values(), self.garment, self.style]

    def edit_outputs(self) -> list:
        """What an edit of the selected person's look changes: never the prompt box the user types in."""
        return [self.parsed, *self.sliders.values(), *self.colours.values(), self.garment, self.style]

    def edit_values(self, session: Session) -> list:
        people, _, _, *rest = self.values(session)
        return rest

    def values(self, session: Session) -> list:
        person = session.person()
        app = _resolved(session, person)
        spec = person.avatar
        ids = session.person_ids()
        people = gr.update(choices=ids, value=person.id)
        if app is None:
            sliders = [spec.phenotype.get(k, 0.5) for k in BODY_SLIDERS]
            colours = [spec.colors.get(r, "#808080") for r in COLOUR_REGIONS]
            parsed = ""
        else:
            from amg.colors import rgb_to_hex

            sliders = [round(float(app.phenotype.get(k, 0.5)), 3) for k in BODY_SLIDERS]
            colours = [rgb_to_hex(getattr(app, r)) for r in COLOUR_REGIONS]
            fixed = [k for k in BODY_SLIDERS if k in spec.phenotype] + list(spec.colors)
            parsed = (f"Read from the prompt: **{app.lower}**, {app.sleeves} sleeves"
                      + (f"; set by hand: {', '.join(fixed)}" if fixed else ""))
        garment = spec.garment or GARMENT_FROM_PROMPT
        style = "gaussians" if spec.gaussians or spec.style == "gaussians" else "mesh"
        return [people, "", spec.prompt, parsed, *sliders, *colours, garment, style]

    # ---- events ------------------------------------------------------------------------
    def wire(self, refresh_all, refresh_outputs: list, preview_outputs: list) -> None:
        self._wire_people(refresh_all, refresh_outputs)
        self._wire_prompt()
        self._wire_look()

    def build3d(self, cid):
        """The selected person's 3D view and download (see export_preview); a failure as a message."""
        return user_errors(self.export_preview)(self.ctx.session(cid))

    def _then_build3d(self, event) -> None:
        event.then(self.build3d, [self.ctx.client], self.preview_outputs, api_visibility="private")

    def _wire_people(self, refresh_all, refresh_outputs: list) -> None:
        """Pick, add, duplicate, remove, rename people. These change the person shown, so they send the
        prompt to prompt_next; the box takes it only if it still holds what it held when the event
        began (no "late" reply overwrites typing)."""
        ctx, client = self.ctx, self.ctx.client
        guarded = [self.prompt_next if c is self.prompt else c for c in refresh_outputs] + [self.prompt_sent]
        take_prompt = dict(fn=None, inputs=[self.prompt_next, self.prompt_sent, self.prompt], outputs=[self.prompt],
                           js="(next, sent, now) => (now === sent ? next : now)", show_progress="hidden",
                           queue=False)

        def people_event(change):
            @user_errors
            def handler(cid, shown_prompt, *args):
                s = ctx.session(cid)
                change(s, *args)
                return [*refresh_all(s), shown_prompt]
            return handler

        def wire(event, fn, extra=()):
            done = event(people_event(fn), [client, self.prompt, *extra], guarded, show_progress="hidden",
                         api_visibility="private").success(**take_prompt)
            self._then_build3d(done)

        wire(self.people.input, lambda s, pid: s.select(pid), [self.people])
        wire(self.add.click, _add_person)
        wire(self.duplicate.click, _duplicate_person)
        wire(self.remove.click, _remove_person)
        wire(self.rename.click, _rename_person, [self.new_name])
        wire(self.new_name.submit, _rename_person, [self.new_name])

    def _wire_prompt(self) -> None:
        """The appearance prompt: saved as it changes (typed, pasted, or filled from a sentence) for the
        person the page shows; "Build avatar" (or Enter) reads it into the controls and the 3D view."""
        ctx, client = self.ctx, self.ctx.client

        def save_prompt(cid, pid, text):
            if not cid:
                return
            s = ctx.session(cid)
            with s.lock:
                if pid in s.person_ids():
                    s.person(pid).avatar.prompt = text or ""
                    s.save()

        @user_errors
        def set_prompt(cid, pid, text):
            save_prompt(cid, pid, (text or "").strip())
            return self.edit_values(ctx.session(cid))

        self.prompt.change(save_prompt, [client, self.people, self.prompt], None, show_progress="hidden",
                           trigger_mode="always_last", api_visibility="private")
        for event in (self.prompt.submit, self.build_btn.click):
            self._then_build3d(event(set_prompt, [client, self.people, self.prompt], self.edit_outputs(),
                                     api_visibility="private"))

    def _wire_look(self) -> None:
        """Sliders, colours, lower garment, reset, style and a worn splat: each edits the selected person's
        avatar spec and refreshes what it changes (never the prompt box)."""
        ctx, client, out = self.ctx, self.ctx.client, self.edit_outputs()

        def edit(change):
            @user_errors
            def handler(cid, *value):
                s = ctx.session(cid)
                with s.lock:
                    change(s.person().avatar, *value)
                    s.save()
                return self.edit_values(s)
            return handler

        for key, slider in self.sliders.items():
            self._then_build3d(slider.release(edit(lambda spec, v, key=key: _set_entry(spec, "phenotype", key,
                                                                                        float(v))),
                                              [client, slider], out, show_progress="hidden", api_visibility="private"))
        for region, picker in self.colours.items():
            self._then_build3d(picker.input(edit(lambda spec, v, region=region: _set_entry(spec, "colors", region, v)),
                                            [client, picker], out, show_progress="hidden", trigger_mode="always_last",
                                            api_visibility="private"))
        self._then_build3d(self.garment.input(edit(_set_garment), [client, self.garment], out,
                                              api_visibility="private"))
        self._then_build3d(self.reset.click(edit(_reset_look), [client], out, api_visibility="private"))
        self._then_build3d(self.style.input(edit(_set_style), [client, self.style], out, api_visibility="private"))
        self._then_build3d(self.splat_clear.click(edit(lambda spec: setattr(spec, "gaussians", None)), [client], out,
                                                  api_visibility="private"))

        def upload_splat(cid, file):
            """Check the .ply, keep a copy in the session and wear it; say in plain words why not."""
            if not file:
                return [gr.skip()] * len(out)
            s = ctx.session(cid)
            try:
                self.wear_splat(s, Path(file))
            except AmgError as e:
                gr.Warning(str(e), title="Splat not used")
                return [gr.skip()] * len(out)
            return self.edit_values(s)

        uploaded = self.splat_upload.upload(upload_splat, [client, self.splat_upload], out, api_visibility="private")
        uploaded.then(self.build3d, [client], self.preview_outputs, api_visibility="private").then(
            lambda: None, None, [self.splat_upload], api_visibility="private")

    # ---- engine ------------------------------------------------------------------------
    def wear_splat(self, s: Session, src: Path) -> None:
        """Keep a checked copy of an uploaded 3DGS .ply in the session and put it on the selected person."""
        if src.suffix.lower() != ".ply":
            raise AmgError(f"{src.name}: a 3D gaussian splat is a .ply file")
        from amg.avatar.gaussians import read_ply

        try:
            read_ply(src)
        except AmgError as e:  # the engine names the server's temp path: name the user's file instead
            raise AmgError(str(e).replace(str(src), src.name)) from None
        dest = s.subdir("uploads") / f"{src.stem[:60]}-{uuid.uuid4().hex[:6]}.ply"
        shutil.copyfile(src, dest)
        spec = s.person().avatar
        spec.gaussians = f"uploads/{dest.name}"
        spec.style = "gaussians"
        s.save()

    @staticmethod
    def shown_key(s: Session) -> str:
        """The name under which the session records what the 3D view shows (per selected person)."""
        return f"avatar:{s.selected}"

    def export_preview(self, s: Session):
        """The selected person's avatar posed at the first frame of its motion: 3D view, download,
        and for a splat its picture over the body and how it was placed."""
        if not engine.has("avatar"):
            return [gr.skip()] * len(self.preview_outputs)
        with s.lock:
            key, shown = self.shown_key(s), s.scene.model_copy(deep=True)
        path, avatar, motion = self._export_avatar(s)
        s.mark_shown(key, shown)
        if not hasattr(avatar, "gaussians"):
            return (gr.update(value=str(path), camera_position=(None, None, _view_radius(path))), str(path),
                    gr.update(value=None, visible=False), "")
        from amg.render.splat_scene import fit_preview

        image = fit_preview(avatar, size=256)
        view = _splat_for_viewer(path, s.new_file("avatars", f"{s.person().id}-view", ".ply"))
        spec = s.person().avatar
        if avatar.fit is not None:
            info = f"Wearing **{Path(spec.gaussians).name}** ({len(avatar):,} gaussians): {avatar.fit.summary()}."
        else:
            info = f"A splat of {len(avatar):,} gaussians made from the mesh avatar (its colours, its body)."
        return str(view), str(path), gr.update(value=image, visible=True), info

    def _export_avatar(self, s: Session):
        """Build the selected person's avatar, posed at the first frame of its motion, as GLB
        (a gaussian avatar as a 3DGS .ply, which the 3D view shows as a splat)."""
        scene = s.scene_for_engine()
        person = s.person()
        index = s.person_ids().index(person.id)
        try:
            from amg.render.scene_render import scene_avatars  # cached, same avatars as the video

            avatar = scene_avatars(scene)[index]
        except ImportError:
            from amg.avatar.avatar import build_avatar

            avatar = build_avatar(person.avatar, index)
        motion = None
        if engine.has("motion_library"):
            from amg.motion.library import scene_motion

            # its own frame (no placement): the viewer looks at the avatar from the front
            at_origin = Person(id=person.id, avatar=person.avatar, motion=person.motion)
            motion = scene_motion(at_origin, scene, 1, scene.render.fps)
        if hasattr(avatar, "gaussians"):
            path = s.new_file("avatars", person.id, ".ply")
            avatar.export_ply(path, motion, frame=0)
        else:
            path = s.new_file("avatars", person.id, ".glb")
            avatar.export_glb(path, motion, frame=0)
        return path, avatar, motion


def _view_radius(glb: Path) -> float:
    """How far the 3D view's camera stands so the whole posed avatar is in view (tall ones too):
    the viewer's ~46 degree field of view frames 0.84 x distance, with a margin."""
    import trimesh

    try:
        size = float(np.max(trimesh.load(glb, force="scene").extents))
    except (ValueError, OSError, TypeError):
        size = 1.8
    return round(max(2.7, 1.45 * size), 2)


def _splat_for_viewer(src: Path, dest: Path) -> Path:
    """A centred copy turned upside down for the 3D view: splat viewers take the capture convention
    (y down), the download keeps AMG's (y up, like SMPL-X)."""
    from amg.avatar.gaussian_avatar import quat_multiply
    from amg.avatar.gaussians import Gaussians, read_ply, write_ply

    g = read_ply(src)
    flip = [1.0, -1.0, -1.0]  # 180 degrees about x
    quats = quat_multiply(np.array([0.0, 1.0, 0.0, 0.0]), g.quats.astype(np.float64))
    means = (g.means - np.median(g.means, axis=0)) * flip  # centred: the viewer looks at the origin
    return write_ply(Gaussians(means, quats, g.log_scales, g.opacity_logits, g.sh_dc, g.sh_rest), dest)

