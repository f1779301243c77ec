"""The Scene: people (avatar + motion + placement), a camera, prompts and render settings.

A Scene is what the UI edits and what the engine renders and generates from. It is saved
as JSON with a format version; loading refuses unknown fields and names the exact field
that is wrong (e.g. ``people[1].placement.heading``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from amg.colors import HEX_PATTERN, is_hex
from amg.errors import AmgError
from amg.files import atomic_write_text, parse_json, read_text

SCENE_FORMAT = "amg-scene"
SCENE_VERSION = 1
#: The legal video size, one fact for scenes, the renderer, generation, the CLI and the app:
#: each side a multiple of SIZE_MULTIPLE from MIN_SIZE to MAX_SIZE pixels. Every video model
#: family takes these bounds (SIZE_RULES below are built on them), so a scene that renders can
#: be generated; a family's stricter rule (Wan: multiples of 16) is checked before rendering.
MIN_SIZE, MAX_SIZE, SIZE_MULTIPLE = 64, 1024, 8
MAX_PEOPLE = 8
REGIONS = ("top", "bottom", "shoes", "hair", "skin")
PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")


@dataclass(frozen=True)
class SizeRule:
    """The frames and sizes a video model family can take, and its native defaults.

    The one place these rules live: the renderer's scene settings are checked against the
    chosen model's rule before any slow work (rendering, loading weights).
    """

    family: str
    multiple: int  # width and height must be multiples of this (VAE factor x patch size)
    min_side: int
    max_side: int
    max_frames: int
    frame_step: int  # frame counts are 1 + k * frame_step (Wan: 4k+1); 1 = any count
    width: int
    height: int
    frames: int
    fps: float
    note: str = ""  # what the model was trained on, for messages

    def frames_ok(self, n: int) -> bool:
        return 1 <= n <= self.max_frames and (n - 1) % self.frame_step == 0

    def fit_frames(self, n: int) -> int:
        """The nearest allowed count at or above `n` (capped at the maximum)."""
        k = -(-(max(n, 1) - 1) // self.frame_step)
        return min(1 + k * self.frame_step, self.max_frames - (self.max_frames - 1) % self.frame_step)

    def frames_rule(self) -> str:
        if self.frame_step == 1:
            return f"1 to {self.max_frames} frames"
        return f"{self.frame_step}k+1 frames (1, {1 + self.frame_step}, ..., up to {self.fit_frames(self.max_frames)})"

    def size_for(self, aspect: str, short_side: int | None = None) -> tuple[int, int]:
        """(width, height) of `aspect` ("16:9", "9:16", "1:1", "4:3", "3:4") this family takes: its
        native size when that has the aspect (within 3%), else the native short side (or
        `short_side`) and the long side rounded to the family's multiple."""
        w, h = parse_aspect(aspect)
        ratio = w / h
        nw, nh = self.width, self.height
        if short_side is None:
            for cw, ch in ((nw, nh), (nh, nw)):
                if abs(cw / ch - ratio) <= 0.03 * ratio:
                    return cw, ch
        short = short_side or min(nw, nh)
        long = min(self.max_side, max(self.min_side, round(short * max(ratio, 1 / ratio) / self.multiple)
                                      * self.multiple))
        return (long, short) if ratio >= 1 else (short, long)

    def check(self, name: str, frames: int, height: int, width: int) -> None:
        """Refuse a frame count or size this family cannot take, naming `name` and what it can take."""
        if not self.frames_ok(frames):
            near = ""
            if self.frame_step > 1 and 1 <= frames <= self.max_frames:
                lo = max(1, frames - (frames - 1) % self.frame_step)
                near = f" (e.g. {lo} or {self.fit_frames(frames)})"
            raise AmgError(f"{name}: {frames} frames; the {self.family} video model generates {self.frames_rule()}"
                           f"{near}{self.note}")
        for label, v in (("height", height), ("width", width)):
            if v % self.multiple or not self.min_side <= v <= self.max_side:
                raise AmgError(f"{name}: {label} {v} px; it must be a multiple of {self.multiple} between "
                               f"{self.min_side} and {self.max_side} (the {self.family} video model's latent "
                               "grid); render or resample it to such a size")


def size_problem(value: int) -> str | None:
    """Why `value` is not a legal video side in pixels (None when it is)."""
    if value % SIZE_MULTIPLE or not MIN_SIZE <= value <= MAX_SIZE:
        return (f"must be a multiple of {SIZE_MULTIPLE} between {MIN_SIZE} and {MAX_SIZE} px (the video models' "
                f"latent grid), got {value}")
    return None


#: Shot shapes the app offers (any multiple-of-8 size is a valid scene).
ASPECTS = ("16:9", "9:16", "1:1", "4:3")


def parse_aspect(aspect: str) -> tuple[int, int]:
    """"16:9" -> (16, 9); AmgError for anything else."""
    try:
        w, h = (int(v) for v in str(aspect).split(":"))
        if w > 0 and h > 0:
            return w, h
    except ValueError:
        pass
    raise AmgError(f"aspect ratio {aspect!r}: give it as W:H, e.g. 16:9")


def nearest_aspect(width: int, height: int) -> str:
    """The offered aspect closest to width x height."""
    import math

    return min(ASPECTS, key=lambda a: abs(math.log((width / height) / (parse_aspect(a)[0] / parse_aspect(a)[1]))))


#: Size rules per backbone family ("wan2.1-vace" shares Wan's).
SIZE_RULES = {
    "modelscope": SizeRule("modelscope", SIZE_MULTIPLE, MIN_SIZE, MAX_SIZE, 128, 1, 256, 256, 16, 8.0,
                           " (ModelScopeT2V was trained on 16)"),
    "wan2.1": SizeRule("wan2.1", 16, MIN_SIZE, 1280, 129, 4, 832, 480, 81, 16.0,
                       " (Wan's VAE compresses time 4x after the first frame; Wan2.1 was trained on 81)"),
}
SIZE_RULES["wan2.1-vace"] = SIZE_RULES["wan2.1"]


class _Strict(BaseModel):
    # NaN and Infinity (which JSON readers accept) are no placement, size or time
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class AvatarSpec(_Strict):
    """How a person looks. The prompt is parsed; explicit values override the parse."""

    prompt: str = ""
    body: Literal["anny", "smplx"] = "anny"
    #: Anny phenotype values in [0, 1] (gender 0 male .. 1 female; age 0 baby .. 1 old).
    phenotype: dict[Literal["gender", "age", "muscle", "weight", "height", "proportions"],
                    float] = Field(default_factory=dict)
    #: Colour per region, "#rrggbb": top, bottom, shoes, hair, skin.
    colors: dict[Literal["top", "bottom", "shoes", "hair", "skin"], str] = Field(default_factory=dict)
    #: Lower garment override; None takes it from the prompt.
    garment: Literal["trousers", "shorts", "skirt", "dress"] | None = None
    #: "gaussians": the same person as a 3D gaussian splat (see amg.avatar.gaussian_avatar).
    style: Literal["mesh", "gaussians"] = "mesh"
    #: A 3DGS .ply to wear instead (placed on the body); implies style "gaussians".
    gaussians: str | None = Field(None, min_length=1)

    @field_validator("phenotype")
    @classmethod
    def _unit_range(cls, v):
        for k, x in v.items():
            if not 0.0 <= x <= 1.0:
                raise ValueError(f"{k} must be between 0 and 1, got {x}")
        return v

    @field_validator("colors")
    @classmethod
    def _hex_colours(cls, v):
        for k, c in v.items():
            if not is_hex("#" + c.lstrip("#")):  # the "#" may be left out
                raise ValueError(f"{k} colour must look like #rrggbb, got {c!r}")
        return v


class MotionRef(_Strict):
    """Which motion drives a person, and how it is edited before use."""

    #: A preset name from the motion library, or a path to a motion file.
    source: str = "idle"
    #: Which person of a multi-person motion (two-person presets, InterGen files).
    person: int = Field(0, ge=0)
    #: Trim, in seconds of the source clip; end None = to the end.
    start: float = Field(0.0, ge=0.0)
    end: float | None = Field(None, gt=0.0)
    speed: float = Field(1.0, gt=0.0, le=10.0)
    loop: bool = True
    mirror: bool = False
    #: Seconds into the shot at which this person's clip starts (its first pose held before);
    #: negative: the shot starts that far into the (trimmed, sped) clip.
    offset: float = Field(0.0, ge=-3600.0, le=3600.0)


class Placement(_Strict):
    """Where the motion's origin is put on the floor (metres) and how it is turned."""

    x: float = 0.0
    z: float = 0.0
    #: Degrees about the vertical axis, counter-clockwise seen from above.
    heading: float = 0.0


class Person(_Strict):
    id: str = Field(min_length=1, max_length=64)
    avatar: AvatarSpec = Field(default_factory=AvatarSpec)
    motion: MotionRef = Field(default_factory=MotionRef)
    placement: Placement = Field(default_factory=Placement)


class CameraRef(_Strict):
    """A camera path: a preset with parameters, or a camera file (see amg.camera)."""

    preset: str = "static"
    params: dict[str, float | str | bool | list[float]] = Field(default_factory=dict)
    #: A camera path file (ours, nerfstudio, RealEstate10K, ...); overrides the preset.
    file: str | None = None


class RenderSettings(_Strict):
    width: int = 256  # pixels: see size_problem
    height: int = 256
    frames: int = Field(16, ge=1, le=1000)
    fps: float = Field(8.0, ge=1.0, le=120.0)
    #: Background colour, "#rrggbb"; black is the paper's condition.
    background: str = Field("#000000", pattern=HEX_PATTERN)
    #: Draw a floor grid so camera motion shows in the condition video.
    floor: bool = False

    @field_validator("width", "height")
    @classmethod
    def _legal_size(cls, v):
        problem = size_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    def with_overrides(self, **values) -> "RenderSettings":
        """These settings with the given values (None: keep; 0 is a value, checked like the rest)."""
        data = self.model_dump()
        data.update({k: v for k, v in values.items() if v is not None})
        try:
            return RenderSettings.model_validate(data)
        except ValidationError as e:
            raise AmgError(_describe(e, "render")) from None


class Scene(_Strict):
    format: Literal["amg-scene"] = SCENE_FORMAT
    version: int = SCENE_VERSION
    name: str = ""
    people: list[Person] = Field(min_length=1, max_length=MAX_PEOPLE)
    camera: CameraRef = Field(default_factory=CameraRef)
    prompt: str = ""
    negative_prompt: str = ""
    render: RenderSettings = Field(default_factory=RenderSettings)

    @field_validator("version")
    @classmethod
    def _known_version(cls, v):
        if v != SCENE_VERSION:
            raise ValueError(f"unsupported scene version {v}; this AMG Studio reads version {SCENE_VERSION}")
        return v

    @field_validator("people")
    @classmethod
    def _unique_ids(cls, people):
        ids = [p.id for p in people]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"person ids must be unique, repeated: {sorted(dup)}")
        return people

    # ---- JSON form ------------------------------------------------------------------
    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_dict(cls, data, source: str = "scene") -> "Scene":
        if not isinstance(data, dict):
            raise AmgError(f"{source}: a scene must be a JSON object, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise AmgError(f"{source}: " + _describe(e)) from None

    @classmethod
    def from_json(cls, text: str, source: str = "scene") -> "Scene":
        return cls.from_dict(parse_json(text, source), source)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Scene":
        """A scene JSON file (`amg.bundle.load_scene` also opens a `.amgscene` bundle)."""
        path = Path(path)
        scene = cls.from_json(read_text(path, "scene"), str(path))
        scene._base_dir = path.parent.resolve()
        return scene

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically: a crash never leaves a half-written scene file."""
        path = Path(path)
        atomic_write_text(path, self.to_json() + "\n")
        return path

    #: Folder that relative file references (motions, cameras) are resolved against.
    _base_dir: Path | None = None

    def resolve_path(self, ref: str) -> Path:
        p = Path(ref).expanduser()
        if not p.is_absolute() and self._base_dir is not None:
            p = self._base_dir / p
        return p


def _describe(err: ValidationError, root: str = "") -> str:
    parts = []
    for e in err.errors():
        loc = root
        for item in e["loc"]:
            loc += f"[{item}]" if isinstance(item, int) else (f".{item}" if loc else str(item))
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        elif e["type"] == "missing":
            msg = "required field is missing"
        value = e.get("input")
        if isinstance(value, float) and not math.isfinite(value):
            msg = "must be a finite number"
        if root and "got" not in msg and e["type"] not in ("extra_forbidden", "missing"):
            msg += f", got {value!r}"
        parts.append(f"{loc or 'scene'}: {msg}")
    return "; ".join(parts)
