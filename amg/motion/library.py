"""The motion library: presets shipped in presets/motions/, and motions for a Scene.

One source of truth for the CLI and the UI: `list_presets()`, `load_preset(name)`,
`search(text)` (amg.motion.search) and `scene_motion(person, scene, ...)`, the one
function the renderer calls to get the motion each person performs.

presets/motions/index.json lists each preset: name, file (our .npz, a person axis for
pairs), description, tags, credit, people, fps, duration.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from amg.errors import AmgError
from amg.motion import edit
from amg.motion.formats import load_motion_file
from amg.motion.motion import Motion

LIBRARY_FORMAT = "amg-motion-library"


def presets_dir() -> Path:
    """presets/motions of this checkout, or $AMG_MOTION_PRESETS."""
    env = os.environ.get("AMG_MOTION_PRESETS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "presets" / "motions"


@dataclass(frozen=True)
class PresetInfo:
    name: str
    file: str
    description: str
    tags: tuple[str, ...] = ()
    credit: str = ""
    people: int = 1
    fps: float = 30.0
    duration: float = 0.0
    source: str = ""

    @property
    def path(self) -> Path:
        return presets_dir() / self.file

    def search_text(self) -> str:
        """What text search matches against."""
        who = "two people together" if self.people == 2 else ("a group" if self.people > 2 else "one person")
        return f"{self.name.replace('_', ' ')}: {self.description} ({who}; {', '.join(self.tags)})"


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    index: tuple | None = None      # (mtime, presets)
    files: dict = field(default_factory=dict)  # (path, mtime, size, fps) -> list[Motion]


_cache = _Cache()


def list_presets() -> list[PresetInfo]:
    """Every preset of the library, in index order."""
    index = presets_dir() / "index.json"
    try:
        mtime = index.stat().st_mtime
    except OSError:
        raise AmgError(f"{index}: the motion library index is missing (run "
                       f"`PYTHONPATH=. python tools/build_presets.py` to build it)") from None
    with _cache.lock:
        if _cache.index and _cache.index[0] == mtime:
            return list(_cache.index[1])
    try:
        data = json.loads(index.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise AmgError(f"{index}: cannot read the motion library index ({e})") from None
    if data.get("format") != LIBRARY_FORMAT:
        raise AmgError(f"{index}: not a motion library index (format {data.get('format')!r})")
    presets = [PresetInfo(**{**p, "tags": tuple(p.get("tags", ()))}) for p in data["presets"]]
    with _cache.lock:
        _cache.index = (mtime, presets)
    return list(presets)


def preset_names() -> list[str]:
    return [p.name for p in list_presets()]


def get_preset(name: str) -> PresetInfo:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    for p in list_presets():
        if p.name == key:
            return p
    raise AmgError(f"unknown motion preset {name!r}; presets: {', '.join(preset_names())}")


def load_preset(name: str) -> list[Motion]:
    """The Motion of every person of preset `name` (one for solo presets, two for pairs)."""
    info = get_preset(name)
    motions = _load_cached(info.path)
    for m in motions:
        m.meta.update(preset=info.name, credit=info.credit)
    return motions


def _load_cached(path: Path, fps: float | None = None) -> list[Motion]:
    """Loaded motions of a file, kept while the file is unchanged (IK is not free)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, fps)
    with _cache.lock:
        hit = _cache.files.get(key)
    if hit is None:
        hit = load_motion_file(path, fps=fps)
        with _cache.lock:
            if len(_cache.files) > 32:
                _cache.files.clear()
            _cache.files[key] = hit
    return [_copy(m) for m in hit]


def _copy(m: Motion) -> Motion:
    return Motion(m.global_orient.copy(), m.body_pose.copy(), m.transl.copy(), fps=m.fps,
                  betas=None if m.betas is None else m.betas.copy(), gender=m.gender, name=m.name,
                  meta=dict(m.meta))


def load_source(source: str, scene=None) -> list[Motion]:
    """A preset by name, else a motion file (relative paths resolved against the scene)."""
    source = (source or "").strip()
    if not source:
        raise AmgError("motion source is empty: give a preset name or a motion file")
    names = preset_names() if (presets_dir() / "index.json").exists() else []
    key = source.lower().replace(" ", "_").replace("-", "_")
    if key in names:
        return load_preset(key)
    path = scene.resolve_path(source) if scene is not None else Path(source).expanduser()
    if not path.exists():
        raise AmgError(f"motion {source!r} is neither a preset ({', '.join(names)}) nor an existing file")
    from amg.motion.formats import check_file

    return _load_cached(check_file(path))


def scene_motion(person, scene, num_frames: int, fps: float) -> Motion:
    """The motion `person` (amg.scene.Person) performs in `scene`: `num_frames` frames at `fps`.

    Loads the MotionRef's source (preset or file), grounds it (one offset per clip),
    applies trim, speed, mirror and loop (else the last pose is held), resamples with
    slerp, then turns and moves it on the floor by the person's Placement.
    """
    ref, place = person.motion, person.placement
    where = f"person {person.id!r} motion"
    try:
        motions = load_source(ref.source, scene)
    except AmgError as e:
        raise AmgError(f"{where}: {e}") from None
    if ref.person >= len(motions):
        raise AmgError(f"{where}: person {ref.person} requested but {ref.source!r} holds "
                       f"{len(motions)} {'person' if len(motions) == 1 else 'people'} (0-based)")
    m = edit.ground(motions[ref.person])
    if ref.start > 0 or ref.end is not None:
        if ref.start >= m.duration:
            raise AmgError(f"{where}: start {ref.start} s is past the end of {ref.source!r} ({m.duration:.2f} s)")
        if ref.end is not None and ref.end <= ref.start:
            raise AmgError(f"{where}: end {ref.end} s must come after start {ref.start} s")
        m = edit.trim(m, ref.start, ref.end)
    if ref.speed != 1.0:
        m = edit.speed(m, ref.speed)
    if ref.mirror:
        m = edit.mirror(m)
    m = edit.retime(m, fps, num_frames, loop=ref.loop, offset=ref.offset)
    m = edit.place(m, place.x, place.z, place.heading)
    m.name = person.id
    return m
