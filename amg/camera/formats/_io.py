"""Reading helpers shared by the camera-path formats: every failure names the file."""

from __future__ import annotations

import os

import numpy as np

from amg import files
from amg.errors import AmgError

#: OpenCV camera axes (x right, y down, z forward) <-> OpenGL (x right, y up, -z forward).
CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


def read_text(path: str | os.PathLike) -> str:
    return files.read_text(path, "camera")


def numbers(values, where: str, count: int | None = None) -> np.ndarray:
    """A flat float64 array from a JSON list (or nested lists); AmgError on anything else."""
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise AmgError(f"{where}: expected a list of numbers, got {str(values)[:60]!r}") from None
    if count is not None and arr.size != count:
        raise AmgError(f"{where}: expected {count} numbers, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise AmgError(f"{where}: contains NaN or infinite values")
    return arr


def text_rows(text: str, source: str, comment: str = "#") -> list[tuple[int, list[float]]]:
    """(line number, numbers) for each non-empty, non-comment line that is all numbers."""
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(comment):
            continue
        try:
            rows.append((lineno, [float(x) for x in line.replace(",", " ").split()]))
        except ValueError:
            rows.append((lineno, None))
    return rows


def w2c_cv_to_c2w_gl(w2c: np.ndarray) -> np.ndarray:
    """(3, 4) or (4, 4) world-to-camera, OpenCV axes -> (4, 4) camera-to-world, OpenGL axes."""
    m = np.eye(4)
    m[:3, :4] = np.asarray(w2c, dtype=np.float64).reshape(-1, 4)[:3]
    r, t = m[:3, :3], m[:3, 3]
    c2w = np.eye(4)
    c2w[:3, :3], c2w[:3, 3] = r.T, -r.T @ t
    return c2w @ CV_TO_GL


def c2w_gl_to_w2c_cv(c2w: np.ndarray) -> np.ndarray:
    """(4, 4) camera-to-world, OpenGL axes -> (4, 4) world-to-camera, OpenCV axes."""
    cv = np.asarray(c2w, dtype=np.float64) @ CV_TO_GL
    r, t = cv[:3, :3], cv[:3, 3]
    w2c = np.eye(4)
    w2c[:3, :3], w2c[:3, 3] = r.T, -r.T @ t
    return w2c
