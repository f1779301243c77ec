"""AMG Studio's own camera-path JSON: everything a CameraPath holds, self-describing.

{"format": "amg-camera-path", "version": 1, "keyframes": [{"time": s, "c2w": 4x4 rows,
 "fov": deg, "target": [x, y, z] or null}], "tension", "constant_speed", "loop", "period",
 "shake": {"strength", "seed"} or null, "samples": {"times", "c2w", "fov"} or null,
 "anchor": {"target", "extent"} or null, "aspect", "name", "meta"}
Poses are camera-to-world, OpenGL camera axes, world Y up, metres; FOV is vertical.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from amg.files import parse_json
from amg.camera.path import Anchor, CameraPath, Keyframe, PoseSamples, Shake
from amg.errors import AmgError

NAME = "amg"
FORMAT = "amg-camera-path"
VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _KeyframeJson(_Strict):
    time: float
    c2w: list[list[float]]
    fov: float = 40.0
    target: list[float] | None = None
    name: str = ""


class _SamplesJson(_Strict):
    times: list[float]
    c2w: list[list[list[float]]]
    fov: list[float]


class _ShakeJson(_Strict):
    strength: float = Field(1.0, ge=0.0, le=10.0)
    seed: int = 0


class _AnchorJson(_Strict):
    target: list[float] = Field(min_length=3, max_length=3)
    extent: float = Field(gt=0.0)


class _PathJson(_Strict):
    format: Literal["amg-camera-path"]
    version: int
    name: str = ""
    keyframes: list[_KeyframeJson] = Field(default_factory=list)
    tension: float = 0.0
    constant_speed: bool = False
    loop: bool = False
    period: float | None = None
    shake: _ShakeJson | None = None
    samples: _SamplesJson | None = None
    anchor: _AnchorJson | None = None
    aspect: float | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


def load(text: str, source: str) -> CameraPath:
    data = parse_json(text, source)
    if not isinstance(data, dict):
        raise AmgError(f"{source}: a camera path is a JSON object, got {type(data).__name__}")
    if data.get("format") == FORMAT and data.get("version") != VERSION:
        raise AmgError(f"{source}: unsupported camera path version {data.get('version')!r}; "
                       f"this AMG Studio reads version {VERSION}")
    try:
        doc = _PathJson.model_validate(data)
    except ValidationError as e:
        raise AmgError(f"{source}: " + "; ".join(_describe(err) for err in e.errors())) from None
    keys = [Keyframe(k.time, _matrix(k.c2w, f"{source}: keyframes[{i}].c2w"), k.fov,
                     target=None if k.target is None else _vec3(k.target, f"{source}: keyframes[{i}].target"),
                     name=k.name) for i, k in enumerate(doc.keyframes)]
    samples = None
    if doc.samples is not None:
        s = doc.samples
        samples = PoseSamples(np.asarray(s.times), np.stack([_matrix(m, f"{source}: samples.c2w[{i}]")
                                                             for i, m in enumerate(s.c2w)]) if s.c2w else
                              np.zeros((0, 4, 4)), np.asarray(s.fov))
    return CameraPath(
        keys, tension=doc.tension, constant_speed=doc.constant_speed, loop=doc.loop, period=doc.period,
        shake=None if doc.shake is None else Shake(doc.shake.strength, doc.shake.seed), samples=samples,
        anchor=None if doc.anchor is None else Anchor(doc.anchor.target, doc.anchor.extent),
        aspect=doc.aspect, name=doc.name, source=source, meta=doc.meta)


def dump(path: CameraPath) -> str:
    doc = {
        "format": FORMAT, "version": VERSION, "name": path.name,
        "keyframes": [{"time": k.time, "c2w": k.c2w.tolist(), "fov": k.fov_y_deg,
                       "target": None if k.target is None else k.target.tolist(), "name": k.name}
                      for k in path.keyframes],
        "tension": path.tension, "constant_speed": path.constant_speed, "loop": path.loop,
        "period": path.period if path.loop else None,
        "shake": None if path.shake is None else {"strength": path.shake.strength, "seed": path.shake.seed},
        "samples": None if path.samples is None else {"times": path.samples.times.tolist(),
                                                      "c2w": path.samples.c2w.tolist(),
                                                      "fov": path.samples.fov_y_deg.tolist()},
        "anchor": None if path.anchor is None else {"target": path.anchor.target.tolist(),
                                                    "extent": path.anchor.extent},
        "aspect": path.aspect,
        "meta": path.meta,
    }
    return json.dumps(doc, indent=1) + "\n"


def _matrix(rows, where: str) -> np.ndarray:
    m = np.asarray(rows, dtype=np.float64) if all(len(r) == len(rows[0]) for r in rows) else None
    if m is None or m.shape != (4, 4):
        raise AmgError(f"{where}: must be a 4x4 matrix (4 rows of 4 numbers)")
    return m


def _vec3(v, where: str) -> np.ndarray:
    if len(v) != 3:
        raise AmgError(f"{where}: must be [x, y, z], got {len(v)} numbers")
    return np.asarray(v, dtype=np.float64)


def _describe(err: dict) -> str:
    loc = ""
    for item in err["loc"]:
        loc += f"[{item}]" if isinstance(item, int) else (f".{item}" if loc else str(item))
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg = "required field is missing"
    return f"{loc or 'camera path'}: {msg}"
