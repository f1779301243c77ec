"""Motion tab: the preset library (search, thumbnails, credits), uploads, motion from a video, and
per-person editing."""

from __future__ import annotations

import shutil
from pathlib import Path

import gradio as gr

from amg.errors import AmgError
from amg.motion.preview import stick_figures
from amg.scene import CameraRef, MotionRef, Person, Placement
from app import capture, engine
from app.context import Ctx, user_errors
from app.session import Session
from app.tabs.avatar import with_people

UPLOAD_TYPES = [".npz", ".npy", ".bvh"]


def _field(item, name, default=None):
    return item.get(name, default) if isinstance(item, dict) else getattr(item, name, default)


def library_entries(items) -> list[dict]:
    """The library's presets as plain dicts: name, description, tags, credit, people."""
    out = []
    for it in items:
        if isinstance(it, tuple):  # (preset, score) from a search
            it = it[0]
        if isinstance(it, str):
            out.append(dict(name=it, description="", tags=[], credit="", people=1))
            continue
        out.append(dict(name=_field(it, "name"), description=_field(it, "description", "") or "",
                        tags=list(_field(it, "tags", []) or []), credit=_field(it, "credit", "") or "",
                        people=int(_field(it, "people", 1) or 1)))
    return out


class MotionTab:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.thumb_dir = ctx.store.root / "thumbnails"
        self.entries: list[dict] = []
        self.unavailable = engine.missing("motion_library")
        if self.unavailable is None:
            try:
                self.entries = library_entries(engine.get("motion_library")())
            except AmgError as e:
                self.unavailable = f"the motion library cannot be read: {e}"
        self.by_name = {e["name"]: e for e in self.entries}
        self.items, self.shown = self.gallery_items(self.entries) if self.entries else ([], [])

    # ---- library ------------------------------------------------------------------------
    def thumbnail(self, name: str) -> str:
        """A PNG of a few poses of the preset, drawn once per version of its file."""
        import numpy as np
        from amg.motion.library import get_preset, load_preset
        from amg.motion.skeleton import motion_joints

        stamp = get_preset(name).path.stat().st_mtime_ns
        path = self.thumb_dir / f"{name}-{stamp}.png"
        if not path.is_file():
            motions = load_preset(name)
            n = min(m.num_frames for m in motions)
            joints = np.stack([motion_joints(m)[:n] for m in motions])
            path.parent.mkdir(parents=True, exist_ok=True)
            stick_figures(joints).save(path)
        return str(path)

    def gallery_items(self, entries: list[dict]) -> tuple[list[tuple[str, str]], list[dict]]:
        """Gallery (image, caption) pairs and the entries they show, in the same order."""
        items, shown = [], []
        for e in entries:
            try:
                thumb = self.thumbnail(e["name"])
            except (AmgError, OSError, ValueError):
                continue  # a preset that cannot be read is left out rather than breaking the gallery
            people = " (two people)" if e["people"] > 1 else ""
            items.append((thumb, f"{e['name']}{people}"))
            shown.append(e)
        return items, shown

    # ---- layout ------------------------------------------------------------------------
    def build(self) -> None:
        with gr.Row():
            with gr.Column(scale=3):
                if self.unavailable is None:
                    with gr.Row():
                        self.query = gr.Textbox(label="Search motions by sentence", scale=4, max_lines=1,
                                                placeholder="e.g. two people greet each other", elem_id="motion-search")
                        self.search_btn = gr.Button("Search", scale=1)
                    self.gallery = gr.Gallery(value=self.items, label="Motion library",
                                              columns=4, height=330, allow_preview=False, elem_id="motion-gallery",
                                              object_fit="contain")
                    self.details = gr.Markdown("Pick a motion to see its description and credit.",
                                               elem_id="motion-details")
                    self.assign_preset = gr.Button("Assign the picked motion", variant="primary",
                                                   elem_id="assign-preset")
                else:
                    gr.Markdown(f"**Motion library unavailable:** {self.unavailable}")
                with gr.Accordion("Upload a motion file", open=True):
                    if engine.has("motion_import"):
                        from amg.motion.formats import ACCEPTED_FORMATS

                        gr.Markdown(ACCEPTED_FORMATS[0].upper() + ACCEPTED_FORMATS[1:] + ".")
                        self.upload = gr.File(label="Motion file", file_types=UPLOAD_TYPES, elem_id="motion-upload")
                        self.upload_note = gr.Markdown(elem_id="upload-note")
                        with gr.Row():
                            self.uploads = gr.Dropdown(label="Uploaded motions", choices=[], scale=3,
                                                       elem_id="uploaded-motions")
                            self.assign_upload = gr.Button("Assign to the person", scale=1, elem_id="assign-upload")
                    else:
                        gr.Markdown(f"**Unavailable:** {engine.missing('motion_import')}")
                self.build_capture()
            with gr.Column(scale=2):
                self.people = gr.Dropdown(label="Person", choices=[], elem_id="motion-person")
                self.current = gr.Markdown(elem_id="motion-current")
                with gr.Row():
                    self.start = gr.Slider(0, 30, step=0.1, label="trim start (s)")
                    self.end = gr.Slider(0, 30, step=0.1, label="trim end (s, 0 = to the end)")
                with gr.Row():
                    self.speed = gr.Slider(0.25, 4.0, step=0.05, value=1.0, label="speed")
                    self.loop = gr.Checkbox(label="loop", value=True)
                    self.mirror = gr.Checkbox(label="mirror (left/right)")
                self.offset = gr.Slider(-10, 10, step=0.1, value=0.0, elem_id="motion-offset",
                                        label="starts at (s into the shot; before: first pose held; "
                                              "negative: the shot starts into the clip)")
                self.timeline = gr.Image(label="What the shot plays of each person's motion (after trim, speed, "
                                               "offset; a loop shows each pass)", type="pil", interactive=False,
                                         elem_id="motion-timeline", height=150, buttons=[])
                gr.Markdown("Placement on the floor (metres; heading in degrees, counter-clockwise from above)")
                with gr.Row():
                    self.x = gr.Slider(-5, 5, step=0.05, label="x")
                    self.z = gr.Slider(-5, 5, step=0.05, label="z")
                    self.heading = gr.Slider(-180, 180, step=1, label="heading")
                self.video = gr.Video(label="Preview", autoplay=True, loop=True, interactive=False, height=260,
                                      elem_id="motion-preview")
                self.sketch = gr.Image(label="From above", type="pil", interactive=False, height=220)
                self.status = gr.Markdown()

    def build_capture(self) -> None:
        """Motion from a video: upload, capture (BlazePose, offline), see the people over it."""
        self.capture_unavailable = capture.unavailable()
        with gr.Accordion("Motion from a video", open=False, elem_id="capture"):
            if self.capture_unavailable:
                gr.Markdown(f"**Unavailable:** {self.capture_unavailable}")
                return
            gr.Markdown("Upload a video of people: each person's motion and the camera are captured (BlazePose, "
                        "on this machine). The overlay shows the avatars over the video, numbered; then assign "
                        "a captured person to each avatar (the list above, or all in order below). The camera's "
                        "turning is measured (its position is taken as fixed); the focal length is assumed "
                        "(26 mm, a phone) unless you give it.")
            self.cap_video = gr.Video(label="Video of people", sources=["upload"], height=320, elem_id="capture-video")
            with gr.Row():
                self.cap_people = gr.Number(1, label="people", precision=0, minimum=1, maximum=4)
                self.cap_start = gr.Number(0, label="start (s)", minimum=0)
                self.cap_end = gr.Number(0, label="end (s, 0 = to the end)", minimum=0)
                self.cap_focal = gr.Number(0, label="focal length (mm, 35 mm equiv.; 0 = assume)", minimum=0)
            self.cap_go = gr.Button("Capture the motion", variant="primary", elem_id="capture-go")
            self.cap_status = gr.Markdown(elem_id="capture-status")
            self.cap_overlay = gr.Video(label="The captured people over the video", interactive=False,
                                        autoplay=True, loop=True, height=360, elem_id="capture-overlay")
            with gr.Row():
                self.cap_camera = gr.Checkbox(True, label="see them through the video's camera")
                self.cap_assign = gr.Button("Drive the scene's people with them, in order", elem_id="capture-assign")

    def outputs(self) -> list:
        out = [self.people, self.current, self.start, self.end, self.speed, self.loop, self.mirror,
               self.x, self.z, self.heading, self.offset, self.timeline]
        if engine.has("motion_import"):
            out.append(self.uploads)
        return out

    def values(self, s: Session) -> list:
        person = s.person()
        m, pl = person.motion, person.placement
        src = m.source
        label = src if src in self.by_name else f"file {Path(src).name}"
        extra = f" (person {m.person + 1} of the file)" if m.person else ""
        duration = self.duration(s, person)
        span = f" ({duration:.1f} s)" if duration else ""
        top = round(max(duration or 30.0, m.start, m.end or 0.0) + 0.05, 1)
        vals = [gr.update(choices=s.person_ids(), value=person.id),
                f"**{person.id}** performs **{label}**{extra}{span}.",
                gr.update(value=m.start, maximum=top), gr.update(value=m.end or 0.0, maximum=top),
                m.speed, m.loop, m.mirror, pl.x, pl.z, pl.heading, m.offset, self.timelines(s)]
        if engine.has("motion_import"):
            vals.append(gr.update(choices=self.upload_choices(s)))
        return vals

    @staticmethod
    def duration(s: Session, person: Person) -> float | None:
        """Seconds of the person's source clip (for the trim sliders), None when unknown."""
        if not engine.has("motion_library"):
            return None
        from amg.motion.library import load_source

        try:
            motions = load_source(person.motion.source, s.scene_for_engine())
            return float(motions[min(person.motion.person, len(motions) - 1)].duration)
        except (AmgError, OSError):
            return None

    def timelines(self, s: Session):
        """The timeline strips of every person of the scene (which part of their clip the shot plays)."""
        from amg.motion.timeline import clip_use

        from app.preview import PERSON_COLOURS
        from app.timeline import draw_timelines

        r = s.scene.render
        rows = []
        for i, person in enumerate(s.scene.people):
            duration = self.duration(s, person)
            m = person.motion
            use = None if duration is None else clip_use(duration, m.start, m.end, m.speed, m.loop, m.offset,
                                                         r.frames, r.fps)
            rows.append((person.id, PERSON_COLOURS[i % len(PERSON_COLOURS)], use))
        return draw_timelines(rows)

    @staticmethod
    def upload_choices(s: Session) -> list[str]:
        out = []
        for name, rel in s.motions.items():
            count = s.motion_people.get(name, 1)
            out += [name] if count == 1 else [f"{name} :: person {k + 1}" for k in range(count)]
        return out

    # ---- events ------------------------------------------------------------------------
    def wire(self, refresh_all, refresh_outputs, preview) -> None:
        self._refresh_all, self._refresh_outputs, self._preview = refresh_all, refresh_outputs, preview
        self.motion_preview = [self.video, self.sketch, self.status, self.timeline]
        self._wire_edits()
        if self.unavailable is None:
            self._wire_library()
        if engine.has("motion_import"):
            self._wire_uploads()
        if not self.capture_unavailable and engine.has("motion_import"):
            self._wire_capture()

    def _previewing(self) -> dict:
        return dict(concurrency_id="preview", concurrency_limit=self.ctx.config.max_previews,
                    trigger_mode="always_last", show_progress="minimal", api_visibility="private")

    @user_errors
    def _render(self, cid):
        """The Motion tab's preview and timelines of the session's scene."""
        s = self.ctx.session(cid)
        return [*self._preview(s), self.timelines(s)]

    def _wire_edits(self) -> None:
        """The person shown, and their trim, speed, loop, offset, mirror and placement."""
        ctx, client, refresh_all, preview = self.ctx, self.ctx.client, self._refresh_all, self._preview
        motion_preview, previewing = self.motion_preview, self._previewing()

        @user_errors
        def select(cid, pid):
            s = ctx.session(cid)
            s.select(pid)
            return refresh_all(s)

        self.people.input(select, [client, self.people], self._refresh_outputs, show_progress="hidden")

        def edit(setter):
            @user_errors
            def fn(cid, value):
                s = ctx.session(cid)
                with s.lock:
                    backup = s.scene.model_copy(deep=True)
                    setter(s.person(), value)
                    s.save()
                try:
                    return [*preview(s), self.timelines(s)]
                except AmgError:
                    with s.lock:  # the engine refused the edit (e.g. trim past the end): undo it
                        s.scene = backup
                        s.save()
                    raise
            return fn

        def set_motion(key, convert):
            def setter(person: Person, value):
                setattr(person.motion, key, convert(value))
            return setter

        def set_place(key):
            def setter(person: Person, value):
                setattr(person.placement, key, float(value))
            return setter

        controls = [(self.start, set_motion("start", float)),
                    (self.end, set_motion("end", lambda v: float(v) if v and float(v) > 0 else None)),
                    (self.speed, set_motion("speed", float)), (self.loop, set_motion("loop", bool)),
                    (self.offset, set_motion("offset", float)),
                    (self.mirror, set_motion("mirror", bool)), (self.x, set_place("x")),
                    (self.z, set_place("z")), (self.heading, set_place("heading"))]
        for comp, setter in controls:
            event = comp.release if isinstance(comp, gr.Slider) else comp.input
            event(edit(setter), [client, comp], motion_preview, **previewing)

    def _wire_library(self) -> None:
        """Search, pick and assign a preset of the motion library."""
        ctx, client = self.ctx, self.ctx.client
        refresh_all, refresh_outputs, render = self._refresh_all, self._refresh_outputs, self._render
        motion_preview, previewing = self.motion_preview, self._previewing()
        @user_errors
        def search(cid, text):
            s = ctx.session(cid)
            text = (text or "").strip()
            if not text:
                items, s.found = self.items, None
                note = "All motions."
            else:
                if not engine.has("motion_search"):  # (its keyword ranking needs no model)
                    raise AmgError(engine.missing("motion_search"))
                found = library_entries(engine.get("motion_search")(text))
                items, s.found = self.gallery_items(found)
                note = f"{len(items)} motion(s) for “{text}”, best first."
            return gr.update(value=items, selected_index=None), note

        def pick(cid, evt: gr.SelectData):
            s = ctx.session(cid)
            shown = s.found if s.found is not None else self.shown
            e = shown[evt.index] if evt.index is not None and evt.index < len(shown) else None
            if e is None:
                return gr.skip()
            s.picked = e["name"]
            tags = ", ".join(e["tags"])
            people = "two people: assigns the first two people of the scene" if e["people"] > 1 else "one person"
            return (f"**{e['name']}** ({people}). {e['description']}"
                    + (f"  \nTags: {tags}" if tags else "") + (f"  \nCredit: {e['credit']}" if e["credit"] else ""))

        @user_errors
        def assign_preset(cid):
            s = ctx.session(cid)
            name = s.picked
            if not name:
                raise AmgError("motion library: pick a motion in the gallery first")
            entry = self.by_name.get(name)
            if entry is None:
                raise AmgError(f"motion preset {name!r} is no longer in the library; search again")
            with s.lock:
                if entry["people"] > 1:
                    self.assign_pair(s, name, entry["people"])
                else:
                    s.person().motion = MotionRef(source=name)
                s.save()
            return refresh_all(s)

        self.search_btn.click(search, [client, self.query], [self.gallery, self.details])
        self.query.submit(search, [client, self.query], [self.gallery, self.details])
        self.gallery.select(pick, [client], [self.details], show_progress="hidden")
        self.assign_preset.click(assign_preset, [client], refresh_outputs).then(
            render, [client], motion_preview, **previewing)

    def _wire_uploads(self) -> None:
        """Upload a motion file and assign it to the person shown."""
        ctx, client = self.ctx, self.ctx.client
        refresh_all, refresh_outputs, render = self._refresh_all, self._refresh_outputs, self._render
        motion_preview, previewing = self.motion_preview, self._previewing()
        def upload(cid, file):
            """Import, or say in plain words why not; the drop zone is emptied either way."""
            if not file:
                return gr.skip(), gr.skip(), gr.skip()
            s = ctx.session(cid)
            try:
                summary, name, count = self.import_upload(s, Path(file))
            except AmgError as e:
                gr.Warning(str(e), title="Motion file not imported")
                return f"**Not imported:** {e}", gr.skip(), None
            choices = self.upload_choices(s)
            pick = name if count == 1 else f"{name} :: person 1"
            return summary, gr.update(choices=choices, value=pick), None

        @user_errors
        def assign_upload(cid, choice):
            s = ctx.session(cid)
            if not choice:
                raise AmgError("uploaded motions: upload a motion file first, then pick it")
            name, _, who = str(choice).partition(" :: person ")
            if name not in s.motions:
                raise AmgError(f"uploaded motion {name!r} is not in this session any more; upload it again")
            with s.lock:
                s.person().motion = MotionRef(source=s.motions[name], person=int(who) - 1 if who else 0)
                s.save()
            return refresh_all(s)

        self.upload.upload(upload, [client, self.upload], [self.upload_note, self.uploads, self.upload],
                           api_visibility="private")
        self.assign_upload.click(assign_upload, [client, self.uploads], refresh_outputs).then(
            render, [client], motion_preview, **previewing)

    def _wire_capture(self) -> None:
        """Capture people's motion from a video and drive the scene's people with it."""
        ctx, client = self.ctx, self.ctx.client
        refresh_all, refresh_outputs, render = self._refresh_all, self._refresh_outputs, self._render
        motion_preview, previewing = self.motion_preview, self._previewing()
        @user_errors
        def run_capture(cid, video, people, start, end, focal, progress=gr.Progress()):
            if not video:
                raise AmgError("motion from a video: upload a video first")
            s = ctx.session(cid)
            done = capture.capture_video(s, Path(video), int(people or 1), float(start or 0),
                                         float(end or 0) or None, float(focal or 0) or None,
                                         progress=lambda frac, msg: progress(frac, desc=msg))
            s.last_capture = done
            choices = self.upload_choices(s)
            pick = done.name if done.people == 1 else f"{done.name} :: person 1"
            return done.summary, str(done.overlay), gr.update(choices=choices, value=pick)

        @user_errors
        def assign_captured(cid, use_camera):
            s = ctx.session(cid)
            done = s.last_capture
            if done is None or done.name not in s.motions:
                raise AmgError("motion from a video: capture a video first")
            with s.lock:
                self.assign_capture(s, done, bool(use_camera))
                s.save()
            return refresh_all(s)

        self.cap_go.click(run_capture, [client, self.cap_video, self.cap_people, self.cap_start, self.cap_end,
                                        self.cap_focal], [self.cap_status, self.cap_overlay, self.uploads],
                          concurrency_id="heavy", concurrency_limit=1, api_visibility="private")
        self.cap_assign.click(assign_captured, [client, self.cap_camera], refresh_outputs).then(
            render, [client], motion_preview, **previewing)

    # ---- engine calls --------------------------------------------------------------------
    def assign_capture(self, s: Session, done, use_camera: bool) -> None:
        """Captured person k drives the scene's person k (people added when missing), where
        they were in the video (no placement offset), optionally seen by the video's camera."""
        new = list(s.scene.people)
        ids = s.person_ids()
        while len(new) < done.people:
            n = len(new) + 1
            while f"person{n}" in ids:
                n += 1
            new.append(Person(id=f"person{n}"))
            ids.append(f"person{n}")
        for k in range(done.people):
            new[k] = Person(id=new[k].id, avatar=new[k].avatar,
                            motion=MotionRef(source=s.motions[done.name], person=k, loop=False), placement=Placement())
        s.scene = with_people(s.scene, new)
        if use_camera:
            s.scene.camera = CameraRef(preset="static", file=done.camera)
        s.selected = new[0].id

    def assign_pair(self, s: Session, name: str, people: int) -> None:
        """A multi-person preset drives the first `people` people (added when missing)."""
        scene = s.scene
        ids = s.person_ids()
        new = list(scene.people)
        while len(new) < people:
            n = len(new) + 1
            while f"person{n}" in ids:
                n += 1
            new.append(Person(id=f"person{n}"))
            ids.append(f"person{n}")
        for k in range(people):
            # The pair file carries the partners' relative placement: both get the same placement,
            # which turns the pair as one. Pairs face each other along Z, i.e. along the default
            # camera's line of sight; a quarter turn shows them side by side.
            new[k] = Person(id=new[k].id, avatar=new[k].avatar, motion=MotionRef(source=name, person=k),
                            placement=Placement(heading=90.0))
        s.scene = with_people(scene, new)
        s.selected = new[0].id  # show the pair's first person

    def import_upload(self, s: Session, src: Path) -> tuple[str, str, int]:
        """Check an uploaded file with the engine's importer and keep it in the session."""
        if src.suffix.lower() not in UPLOAD_TYPES:
            raise AmgError(f"{src.name}: {src.suffix or 'no extension'} is not a motion file type; "
                           f"accepted: {', '.join(UPLOAD_TYPES)}")
        from amg.motion.formats import load_motion_file

        try:
            motions = load_motion_file(src)
        except AmgError as e:
            # the engine names the server's temp path: name the user's file instead
            raise AmgError(str(e).replace(str(src), src.name)) from None
        dest_dir = s.subdir("uploads")
        name = src.name
        stem, suffix = Path(name).stem[:60], Path(name).suffix.lower()
        k = 1
        while (dest_dir / name).exists():
            k += 1
            name = f"{stem}-{k}{suffix}"
        shutil.copyfile(src, dest_dir / name)
        with s.lock:
            s.motions[name] = f"uploads/{name}"
            s.motion_people[name] = len(motions)
        m = motions[0]
        who = f"{len(motions)} people, " if len(motions) > 1 else ""
        summary = (f"Imported **{name}**: {who}{m.num_frames} frames at {m.fps:g} fps ({m.duration:.1f} s). "
                   "Pick it below and assign it to a person.")
        return summary, name, len(motions)
