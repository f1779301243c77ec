"""Reading and writing user files: errors name the file, writes are atomic; AMG's cache folder.

Atomic writes go to a temporary file beside the target and are renamed over it, so a
crash or Ctrl-C never leaves a half-written file that looks like a good one, and an
existing file stays intact until the new one is complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

from amg.errors import AmgError


def cache_dir() -> Path:
    """AMG's cache folder: $AMG_CACHE_DIR, else ~/.cache/amg."""
    return Path(os.environ.get("AMG_CACHE_DIR", Path.home() / ".cache" / "amg"))


def read_text(path: str | os.PathLike, kind: str) -> str:
    """The UTF-8 text of a `kind` file (e.g. "scene"); AmgError naming it otherwise."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise AmgError(f"{path}: cannot read {kind} file ({e.strerror})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise AmgError(f"{path}: not a UTF-8 text file (byte {e.start}); a {kind} file is text") from None


#: Deepest nesting of lists/objects accepted in a JSON file (the app's own files need < 10).
MAX_JSON_DEPTH = 100


def parse_json(text: str, source: str):
    """json.loads with every failure as an AmgError naming `source` (deep nesting and
    numbers of thousands of digits included: they would raise RecursionError/ValueError)."""
    depth = _nesting(text)
    if depth > MAX_JSON_DEPTH:
        raise AmgError(f"{source}: JSON nested {depth} levels deep (at most {MAX_JSON_DEPTH}); not a file this reads")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise AmgError(f"{source}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except (ValueError, RecursionError) as e:  # e.g. an integer of 5000 digits
        raise AmgError(f"{source}: not valid JSON ({str(e).split(';')[0]})") from None


def _nesting(text: str) -> int:
    """Deepest bracket nesting outside strings (a cheap pre-check; exact for valid JSON)."""
    import re

    depth = deepest = 0
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        c = token.group()
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def check_output(path: str | os.PathLike, what: str = "output") -> Path:
    """Refuse, before anything is made, an output `path` that cannot be written: an existing
    folder, a path under a file, a place this process may not write. Returns it as a Path."""
    path = Path(path)
    if str(path) in ("", ".") or path.is_dir():
        raise AmgError(f"{what} {str(path)!r}: is a folder; give a file name")
    parent = path.parent
    while not parent.exists():  # the nearest existing ancestor decides
        if parent == parent.parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise AmgError(f"{what} {str(path)!r}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise AmgError(f"{what} {str(path)!r}: cannot write in {parent} (permission denied)")
    if path.exists() and not os.access(path, os.W_OK) and not os.access(path.parent, os.W_OK):
        raise AmgError(f"{what} {str(path)!r}: cannot replace it (permission denied)")
    return path


#: A temporary file of a killed writer is removed by the next write beside it after this long
#: (sooner when the process that wrote it is gone).
STALE_PARTIAL_SECONDS = 24 * 3600


def _remove_stale_partials(folder: Path, stem: str, suffix: str) -> None:
    """Delete temporary files of earlier writes to the same target whose writer died (SIGKILL)."""
    now = time.time()
    for old in folder.glob(f".{stem}.*.partial{suffix}"):
        try:
            pid = int(old.name[len(stem) + 2:].split(".", 1)[0].split("-", 1)[0])
        except ValueError:
            pid = None
        try:
            alive = pid is not None and pid != os.getpid() and _alive(pid)
            if not alive and (pid is not None or now - old.stat().st_mtime > STALE_PARTIAL_SECONDS):
                old.unlink()
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        return True
    return True


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yields a temporary path beside `path` to write to; renamed onto `path` on success.
    A path that cannot be written is refused with one line (AmgError) before anything is made."""
    path = check_output(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(path.parent, path.stem, path.suffix)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.{os.getpid()}-",
                                   suffix=f".partial{path.suffix}")
    except OSError as e:
        raise AmgError(f"output {str(path)!r}: cannot write there ({e.strerror})") from None
    os.close(fd)
    try:
        yield Path(tmp)
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise AmgError(f"output {str(path)!r}: cannot be replaced ({e.strerror})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def npz_stream(path: str | os.PathLike, arrays: dict):
    """`with npz_stream(path, {"depth": ((T, H, W), np.float32), ...}) as write: write(depth=chunk)`:
    an .npz as np.savez_compressed writes it, whose arrays arrive in chunks along their first axis
    (any order, any sizes). Each array is spooled to an unnamed temporary file beside `path` and the
    archive is packed when the block ends, then renamed into place: memory holds one chunk, however
    long the arrays are. Arrays must arrive whole (their declared first-axis length)."""
    import shutil
    import zipfile

    import numpy as np

    path = check_output(path)
    arrays = {name: (tuple(int(n) for n in shape), np.dtype(dtype)) for name, (shape, dtype) in arrays.items()}
    got = dict.fromkeys(arrays, 0)
    with contextlib.ExitStack() as stack:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            spools = {name: stack.enter_context(tempfile.TemporaryFile(dir=path.parent)) for name in arrays}
        except OSError as e:
            raise AmgError(f"output {str(path)!r}: cannot write there ({e.strerror})") from None

        def write(**chunks) -> None:
            for name, chunk in chunks.items():
                shape, dtype = arrays[name]
                chunk = np.ascontiguousarray(chunk, dtype)
                if chunk.shape[1:] != shape[1:]:
                    raise ValueError(f"{name}: chunk of shape {chunk.shape}, the array is {shape}")
                spools[name].write(chunk.tobytes())
                got[name] += len(chunk)

        yield write
        short = {name: n for name, n in got.items() if n != arrays[name][0][0]}
        if short:
            raise ValueError(f"{path}: arrays not written whole: {short} of {arrays}")
        with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, (shape, dtype) in arrays.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array_header_1_0(member, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                                  "fortran_order": False, "shape": shape})
                    spools[name].seek(0)
                    shutil.copyfileobj(spools[name], member, 1 << 20)
