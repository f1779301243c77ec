"""Scene bundles (`.amgscene`): one zip file holding a scene and every file it uses.

A scene JSON refers to motion files, a camera path file and 3DGS splats by path; moved to
another machine (or opened after its session is gone) those paths lead nowhere. A bundle
carries them: `scene.json` plus `files/<name>` for each, the scene inside referring to them
as `files/<name>`. It opens anywhere through `load_scene` (hence every CLI command taking a
scene), the app and the API.

Reading a bundle is reading data: at most MAX_MEMBERS members of at most MAX_MEMBER_BYTES
each (MAX_TOTAL_BYTES in all, counted while reading, whatever the zip's header claims),
member names restricted to `scene.json` and `files/<safe name>` (no folders, no `..`, no
absolute paths, no links), and nothing in it is ever executed or unpickled: the scene is
JSON, and the files are read later by the same importers as any upload.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from amg.errors import AmgError
from amg.files import atomic_write_bytes
from amg.scene import Scene

BUNDLE_SUFFIX = ".amgscene"
SCENE_MEMBER = "scene.json"
FILES_DIR = "files"
MAX_MEMBERS = 64
MAX_MEMBER_BYTES = 256 * 2**20
MAX_TOTAL_BYTES = 1024 * 2**20
MAX_SCENE_BYTES = 5 * 2**20
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")


@dataclass(frozen=True)
class FileRef:
    """One file a scene uses: where in the scene (e.g. `people[0].motion.source`) and the path written there."""

    where: str
    ref: str


def file_refs(scene: Scene) -> list[FileRef]:
    """Every file reference of `scene` (motion preset names are not files and are left out)."""
    refs = [FileRef(f"people[{i}].motion.source", p.motion.source) for i, p in enumerate(scene.people)
            if not is_preset_name(p.motion.source)]
    refs += [FileRef(f"people[{i}].avatar.gaussians", p.avatar.gaussians) for i, p in enumerate(scene.people)
             if p.avatar.gaussians]
    if scene.camera.file:
        refs.append(FileRef("camera.file", scene.camera.file))
    return refs


def is_preset_name(source: str) -> bool:
    """A motion source with no path characters names a preset of the motion library."""
    return not any(c in source for c in "/\\.:")


def missing_files(scene: Scene) -> list[FileRef]:
    """The file references of `scene` that lead to no file (resolved against its folder)."""
    out = []
    for r in file_refs(scene):
        try:
            found = scene.resolve_path(r.ref).is_file()
        except (OSError, ValueError):  # a NUL byte, a name too long
            found = False
        if not found:
            out.append(r)
    return out


def describe_missing(missing: list[FileRef]) -> str:
    """One line naming each missing file and where the scene uses it."""
    return "; ".join(f"{r.where}: {Path(r.ref).name or r.ref}" for r in missing)


def _member_name(ref: str, taken: set[str]) -> str:
    stem, suffix = os.path.splitext(Path(ref).name)
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip("._-")[:80] or "file"
    suffix = re.sub(r"[^A-Za-z0-9.]", "", suffix)[:12]
    name, k = f"{stem}{suffix}", 1
    while name in taken:
        k += 1
        name = f"{stem}-{k}{suffix}"
    taken.add(name)
    return name


def save_bundle(scene: Scene, path: str | os.PathLike) -> Path:
    """Write `scene` and the files it uses as one zip at `path` (atomically). AmgError names a
    file the scene uses that is not there (a bundle never silently lacks a file)."""
    missing = missing_files(scene)
    if missing:
        raise AmgError(f"scene bundle: these files of the scene are missing: {describe_missing(missing)}")
    data = scene.model_dump()
    taken: set[str] = set()
    members: dict[str, Path] = {}
    by_source: dict[Path, str] = {}  # one member per file, however many people use it
    for r in file_refs(scene):
        src = scene.resolve_path(r.ref).resolve()
        if src not in by_source:
            by_source[src] = f"{FILES_DIR}/{_member_name(r.ref, taken)}"
            members[by_source[src]] = src
        _set_ref(data, r.where, by_source[src])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(SCENE_MEMBER, Scene.from_dict(data, "scene").to_json() + "\n")
        for name, src in members.items():
            z.write(src, name)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


def _set_ref(data: dict, where: str, value: str) -> None:
    """Set the reference at `where` (a FileRef's place) in a scene's dict."""
    if where == "camera.file":
        data["camera"]["file"] = value
        return
    i, field = re.fullmatch(r"people\[(\d+)\]\.(.+)", where).groups()
    section, key = field.split(".")
    data["people"][int(i)][section][key] = value


def is_bundle(path: str | os.PathLike) -> bool:
    """A zip file (by its first bytes, whatever its name)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def read_bundle(path: str | os.PathLike) -> tuple[dict, dict[str, bytes]]:
    """(scene JSON as a dict, {file name: bytes}) of a bundle, checked as described above; AmgError
    names the bundle and what is wrong."""
    from amg.files import parse_json

    path = Path(path)
    name = path.name
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise AmgError(f"{name}: not a scene bundle (a zip file): {e}") from None
    with z:
        infos = z.infolist()
        if len(infos) > MAX_MEMBERS:
            raise AmgError(f"{name}: {len(infos)} members; a scene bundle holds at most {MAX_MEMBERS}")
        scene_data, files, total = None, {}, 0
        for info in infos:
            member = info.filename
            if info.is_dir():
                continue
            kind = (info.external_attr >> 16) & 0o170000
            if kind and kind != 0o100000:  # a link or device, not a plain file
                raise AmgError(f"{name}: member {member[:80]!r} is not a plain file")
            folder, _, base = member.rpartition("/")
            if member == SCENE_MEMBER:
                limit = MAX_SCENE_BYTES
            elif folder == FILES_DIR and _SAFE_NAME.match(base) and ".." not in base:
                limit = MAX_MEMBER_BYTES
            else:
                raise AmgError(f"{name}: member {member[:80]!r} is not allowed (a bundle holds {SCENE_MEMBER} "
                               f"and {FILES_DIR}/<name> only)")
            data = _read_limited(z, info, min(limit, MAX_TOTAL_BYTES - total), name)
            total += len(data)
            if member == SCENE_MEMBER:
                try:
                    scene_data = parse_json(data.decode("utf-8"), f"{name}: {SCENE_MEMBER}")
                except UnicodeDecodeError:
                    raise AmgError(f"{name}: {SCENE_MEMBER} is not text") from None
            else:
                files[base] = data
    if scene_data is None:
        raise AmgError(f"{name}: no {SCENE_MEMBER} inside; not a scene bundle")
    if not isinstance(scene_data, dict):
        raise AmgError(f"{name}: {SCENE_MEMBER} must be a JSON object")
    return scene_data, files


def _read_limited(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, name: str) -> bytes:
    """The member's bytes, refusing it once more than `limit` come out (a zip's header can lie)."""
    if info.file_size > limit:
        raise AmgError(f"{name}: member {info.filename!r} is {info.file_size / 2**20:.0f} MB, over the "
                       f"{limit / 2**20:.0f} MB a bundle member may hold")
    out = bytearray()
    try:
        with z.open(info) as f:
            while chunk := f.read(2**20):
                out += chunk
                if len(out) > limit:
                    raise AmgError(f"{name}: member {info.filename!r} unpacks to more than "
                                   f"{limit / 2**20:.0f} MB")
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as e:
        raise AmgError(f"{name}: member {info.filename!r} cannot be read: {e}") from None
    return bytes(out)


def open_bundle(path: str | os.PathLike, folder: str | os.PathLike, base: str | os.PathLike | None = None) -> Scene:
    """The bundle's scene, its files written into `folder` (names kept, never outside it). The
    scene's references are relative to `base` (default: `folder`; `folder` must lie inside it),
    and the scene resolves them against `base`."""
    scene_data, files = read_bundle(path)
    name = Path(path).name
    folder = Path(folder)
    base = Path(base) if base is not None else folder
    scene = Scene.from_dict(scene_data, f"{name}: {SCENE_MEMBER}")
    members = {f"{FILES_DIR}/{k}" for k in files}
    data = scene.model_dump()
    for r in file_refs(scene):
        if r.ref not in members:
            raise AmgError(f"{name}: {r.where} refers to {r.ref[:80]!r}, which the bundle does not hold")
    folder.mkdir(parents=True, exist_ok=True)
    for base_name, content in files.items():
        atomic_write_bytes(folder / base_name, content)
    prefix = folder.resolve().relative_to(base.resolve())
    for r in file_refs(scene):
        _set_ref(data, r.where, str(prefix / Path(r.ref).name))
    scene = Scene.from_dict(data, f"{name}: {SCENE_MEMBER}")
    scene._base_dir = base.resolve()
    return scene


def bundle_cache_folder(path: str | os.PathLike) -> Path:
    """Where `Scene.load` unpacks a bundle: AMG's cache, one folder per bundle content."""
    from amg.files import cache_dir

    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:20]
    return cache_dir() / "bundles" / digest


def load_bundle(path: str | os.PathLike) -> Scene:
    """A bundle's scene with its files unpacked into AMG's cache (kept: the same bundle opens instantly)."""
    return open_bundle(path, bundle_cache_folder(path))


def load_scene(path: str | os.PathLike) -> Scene:
    """A scene file as any command takes it: a scene bundle (`.amgscene`, by its content) or a scene JSON."""
    return load_bundle(path) if is_bundle(path) else Scene.load(path)


def open_scene_file(path: str | os.PathLike, folder: str | os.PathLike, base: str | os.PathLike,
                    name: str | None = None) -> tuple[Scene, list[FileRef]]:
    """A scene a user hands over, bundle or plain JSON: (the scene resolving against `base`, the files
    it uses that are not there). A bundle's files go into `folder` (inside `base`); a plain JSON's
    references are kept as written, so its missing files can be named instead of failing later."""
    path = Path(path)
    name = name or path.name
    if is_bundle(path):
        try:
            scene = open_bundle(path, folder, base)
        except AmgError as e:
            raise AmgError(str(e).replace(path.name, name)) from None
    else:
        if path.stat().st_size > MAX_SCENE_BYTES:
            raise AmgError(f"{name}: {path.stat().st_size / 2**20:.0f} MB is far too large for a scene file "
                           "(scenes are a few KB of JSON; a bundle is a zip)")
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise AmgError(f"{name}: not a text file or a scene bundle; a scene is JSON") from None
        scene = Scene.from_json(text, name)
        scene._base_dir = Path(base).resolve()
    return scene, missing_files(scene)
