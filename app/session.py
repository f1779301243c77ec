"""Per-browser-tab sessions: each holds its own Scene and its own folder of files.

A session is found by a random client id that the page keeps in the tab's sessionStorage,
so a reload finds the same scene, uploads and running job, while another tab (or another
user) never sees them. The scene is saved to the session folder after every edit, so a
crash or a reload loses nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from amg.errors import AmgError
from amg.files import atomic_write_text, parse_json
from amg.scene import MAX_PEOPLE, Person, Scene

#: Sessions untouched for this long are removed with their files.
SESSION_TTL_S = 24 * 3600
#: Preview videos and avatar files kept per session (older ones are deleted).
KEEP_GENERATED_FILES = 24
_PRUNED = ("previews", "avatars")
_CLIENT_ID = re.compile(r"^[0-9a-f]{32}$")


def default_root() -> Path:
    """Under the system temp dir, which Gradio serves files from without extra settings."""
    return Path(tempfile.gettempdir()) / "amg-studio"


def default_scene() -> Scene:
    return Scene(name="untitled", people=[Person(id="person1")])


@dataclass
class Session:
    """One tab's working state. `dir` holds scene.json, uploads/, previews/, avatars/."""

    id: str
    dir: Path
    scene: Scene
    #: Uploaded motion files of this session: display name -> path inside `dir`.
    motions: dict[str, str] = field(default_factory=dict)
    #: People in each uploaded motion file (files of pairs hold two).
    motion_people: dict[str, int] = field(default_factory=dict)
    #: The last video captured in the Motion tab (app.capture.Captured), for "drive them in order".
    last_capture: object | None = None
    #: Motion library: the presets the last search found (None: all) and the one picked.
    found: list[dict] | None = None
    picked: str | None = None
    #: Results of this session's generations, newest last (dicts from the generate job).
    history: list[dict] = field(default_factory=list)
    #: The generation job this session started last (re-attached after a reload).
    job_id: str | None = None
    #: The fine-tune job this session started last (Advanced tab).
    train_job_id: str | None = None
    #: Person whose controls are shown in the Avatar and Motion tabs.
    selected: str = ""
    #: What the user set outside the Scene (Generate and Advanced fields, each camera preset's own
    #: parameters), key -> JSON value; kept in ui.json beside scene.json so a reload finds it.
    ui: dict = field(default_factory=dict)
    #: The scene each preview last showed (its JSON), by preview name: a tab re-renders when stale.
    shown: dict[str, str] = field(default_factory=dict)
    touched: float = field(default_factory=time.time)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _counter: int = 0

    def subdir(self, name: str) -> Path:
        p = self.dir / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    def new_file(self, folder: str, stem: str, suffix: str) -> Path:
        """A fresh file name, so the browser never shows a cached older file."""
        with self.lock:
            self._counter += 1
            n = self._counter
        target = self.subdir(folder)
        if folder in _PRUNED:
            old = sorted(target.glob("*"), key=lambda f: f.stat().st_mtime)[:-KEEP_GENERATED_FILES]
            for f in old:
                f.unlink(missing_ok=True)
        return target / f"{stem}-{n:04d}-{uuid.uuid4().hex[:6]}{suffix}"

    def person(self, person_id: str | None = None) -> Person:
        pid = person_id or self.selected
        for p in self.scene.people:
            if p.id == pid:
                return p
        return self.scene.people[0]

    def person_ids(self) -> list[str]:
        return [p.id for p in self.scene.people]

    def select(self, person_id: str) -> None:
        """Make `person_id` the person the tabs edit (unknown ids are ignored)."""
        if person_id in self.person_ids():
            self.selected = person_id

    def add_person(self, person: Person) -> None:
        """Append `person` to the scene and select it."""
        if len(self.scene.people) >= MAX_PEOPLE:
            raise AmgError(f"a scene holds at most {MAX_PEOPLE} people")
        data = self.scene.model_dump()
        data["people"] = [*data["people"], person.model_dump()]
        self.set_scene(Scene.from_dict(data, "scene"))
        self.selected = person.id

    def set_scene(self, scene: Scene) -> None:
        with self.lock:
            self.scene = scene
            if self.selected not in self.person_ids():
                self.selected = scene.people[0].id
            self.save()

    def save(self) -> None:
        """Persist the scene (atomically) so a reload or restart finds it intact."""
        self.touched = time.time()
        atomic_write_text(self.dir / "scene.json", self.scene.to_json() + "\n")

    def remember(self, key: str, value) -> None:
        """Keep a UI field's value for this session (saved at once: a reload finds it)."""
        with self.lock:
            self.ui[key] = value
            atomic_write_text(self.dir / "ui.json", json.dumps(self.ui, indent=1, default=str) + "\n")

    def recall(self, key: str, default=None):
        return self.ui.get(key, default)

    def stale(self, preview: str) -> bool:
        """Whether the preview `preview` shows another scene than the current one."""
        with self.lock:
            return self.shown.get(preview) != self.scene.to_json()

    def mark_shown(self, preview: str, scene: Scene) -> None:
        with self.lock:
            self.shown[preview] = scene.to_json()

    def scene_for_engine(self) -> Scene:
        """A copy whose relative file references resolve inside this session's folder."""
        scene = self.scene.model_copy(deep=True)
        scene._base_dir = self.dir
        return scene


def confine_file_refs(scene: Scene, root: Path, source: str, hint: str) -> None:
    """Refuse a scene whose motion, camera or splat files lie outside `root` (a session's or the API's
    upload folder): a scene from a browser must not make the server read its other files,
    nor another session's uploads. Preset names pass."""
    refs = [(f"people[{i}].motion.source", p.motion.source) for i, p in enumerate(scene.people)]
    refs += [(f"people[{i}].avatar.gaussians", p.avatar.gaussians) for i, p in enumerate(scene.people)
             if p.avatar.gaussians]
    if scene.camera.file:
        refs.append(("camera.file", scene.camera.file))
    base = scene._base_dir
    scene._base_dir = root
    try:
        for where, ref in refs:
            if where.endswith("motion.source") and not any(c in ref for c in "/\\.:"):
                continue  # a preset name: the engine looks it up in its library
            try:
                inside = scene.resolve_path(ref).resolve().is_relative_to(root.resolve())
            except (ValueError, OSError):  # a NUL byte, a name too long: no file of ours
                inside = False
            if not inside:
                raise AmgError(f"{source} {where}: {ref[:80]!r} is neither a preset nor {hint}")
    finally:
        scene._base_dir = base


class SessionStore:
    """All sessions of this server, keyed by client id, backed by folders under `root`."""

    def __init__(self, root: str | Path | None = None, ttl_s: float = SESSION_TTL_S):
        self.root = Path(root) if root else default_root()
        self.ttl_s = ttl_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        (self.root / "sessions").mkdir(parents=True, exist_ok=True)

    def get(self, client_id: str | None) -> Session:
        """The session of `client_id`; a new one when the id is unknown, expired or malformed."""
        self.sweep()
        cid = client_id if client_id and _CLIENT_ID.match(client_id) else None
        with self._lock:
            if cid and cid in self._sessions:
                s = self._sessions[cid]
                s.touched = time.time()
                return s
            if cid is None:
                cid = uuid.uuid4().hex
            s = self._restore(cid)
            self._sessions[cid] = s
            return s

    def _restore(self, cid: str) -> Session:
        folder = self.root / "sessions" / cid
        folder.mkdir(parents=True, exist_ok=True)
        scene = default_scene()
        saved = folder / "scene.json"
        if saved.is_file():
            try:
                scene = Scene.load(saved)
            except AmgError:
                pass  # a damaged autosave must not block the page; the user starts afresh
        motions = {}
        for f in sorted((folder / "uploads").glob("*")) if (folder / "uploads").is_dir() else []:
            if f.is_file() and not f.name.startswith("."):
                motions[f.name] = str(f.relative_to(folder))
        ui = {}
        if (folder / "ui.json").is_file():
            try:
                ui = parse_json((folder / "ui.json").read_text(), "ui.json")
            except (AmgError, OSError, UnicodeDecodeError):
                ui = {}  # damaged: the fields start at their defaults, the scene is unaffected
        s = Session(id=cid, dir=folder, scene=scene, motions=motions, selected=scene.people[0].id,
                    ui=ui if isinstance(ui, dict) else {})
        s.save()
        return s

    def sweep(self) -> None:
        """Forget and delete sessions idle for longer than the TTL."""
        now = time.time()
        with self._lock:
            for cid, s in list(self._sessions.items()):
                if now - s.touched > self.ttl_s:
                    del self._sessions[cid]
                    shutil.rmtree(s.dir, ignore_errors=True)
        for folder in (self.root / "sessions").glob("*"):
            if folder.name in self._sessions or not folder.is_dir():
                continue
            try:
                if now - folder.stat().st_mtime > self.ttl_s:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                pass

    def __len__(self) -> int:
        return len(self._sessions)
