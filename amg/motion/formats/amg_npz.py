"""AMG's own motion `.npz`: `format`="amg-motion" (or `fps` + `body_pose` (T,63) without a
`format`), `global_orient` (T,3), `body_pose` (T,63), `transl` (T,3) pelvis positions, with
a leading person axis for several people."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from amg.errors import AmgError
from amg.files import atomic_write_bytes
from amg.motion.formats._io import as_finite, as_number, as_text, gender_of, npz_bytes
from amg.motion.motion import Motion


def load(data: dict, path: Path) -> list[Motion]:
    fps = as_number(data.get("fps"), "'fps'", path)
    orient = as_finite(data["global_orient"], "global_orient", path)
    body = as_finite(data["body_pose"], "body_pose", path)
    transl = as_finite(data["transl"], "transl", path)
    if orient.ndim == 2:
        orient, body, transl = orient[None], body[None], transl[None]
    if not (orient.ndim == 3 and orient.shape[-1] == 3 and body.shape[:2] == orient.shape[:2]
            and body.shape[-1] == 63 and transl.shape == orient.shape):
        raise AmgError(f"{path}: expected global_orient (T,3), body_pose (T,63), transl (T,3) "
                       f"(optionally with a leading person axis), got {orient.shape}, {body.shape}, {transl.shape}")
    betas = as_finite(data["betas"], "betas", path) if "betas" in data else None
    names = np.atleast_1d(data["names"]) if "names" in data else None
    out = []
    for p in range(orient.shape[0]):
        b = None if betas is None else (betas[p] if betas.ndim == 2 else betas)
        name = as_text(names[p]) if names is not None and p < len(names) else as_text(data.get("name"), path.stem)
        out.append(Motion(orient[p], body[p], transl[p], fps=fps, betas=b, gender=gender_of(data), name=name,
                          meta={"source_format": "amg npz", "person": p}))
    return out


def save(motions: Motion | list[Motion], path: str | os.PathLike, dtype=np.float32) -> Path:
    """Our `.npz` (atomically). Several motions need equal lengths and fps: a person axis."""
    motions = [motions] if isinstance(motions, Motion) else list(motions)
    if not motions:
        raise AmgError(f"{path}: nothing to save")
    first = motions[0]
    if any(m.num_frames != first.num_frames or abs(m.fps - first.fps) > 1e-9 for m in motions):
        raise AmgError(f"{path}: people of one file must share frame count and fps")
    stack = (lambda key: getattr(first, key)) if len(motions) == 1 else \
        (lambda key: np.stack([getattr(m, key) for m in motions]))
    arrays = {"format": np.array("amg-motion"), "fps": np.array(first.fps),
              "global_orient": stack("global_orient").astype(dtype), "body_pose": stack("body_pose").astype(dtype),
              "transl": stack("transl").astype(dtype), "gender": np.array(first.gender),
              "name": np.array(first.name), "names": np.array([m.name for m in motions])}
    if first.betas is not None:
        arrays["betas"] = np.asarray(first.betas, dtype=dtype)
    path = Path(path)
    atomic_write_bytes(path, npz_bytes(arrays))
    return path
