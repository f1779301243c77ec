"""Reading and writing user files: errors name the file, writes are atomic.

Atomic writes go to a temporary file beside the target and are renamed over it, so a
crash or Ctrl-C never leaves a half-written file that looks like a good one, and an
existing file stays intact until the new one is complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from amg.errors import AmgError


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


def parse_json(text: str, source: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise AmgError(f"{source}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yields a temporary path beside `path` to write to; renamed onto `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".partial{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
