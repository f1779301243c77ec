"""Model names -> what to load: the one place a `--model` value is resolved.

A name is one of:
  - a registered name (`tiny-random`, `modelscope`, `wan2.1-t2v-1.3b`, `vace-tiny-random`, ...,
    or one a plug-in added with `register_model`),
  - a local folder in diffusers' layout (its model_index.json says which family it is),
  - a Hugging Face Hub id `owner/name` (family from the known ids, else from its model_index.json
    once downloaded).

Families: `modelscope` (UNet3D, the paper's), `wan2.1` (Wan T2V DiT) take AMG adapters;
`wan2.1-vace` is the training-free control route (Wan VACE).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from amg.errors import AmgError

FAMILIES = ("modelscope", "wan2.1", "wan2.1-vace")
#: model_index.json `_class_name` -> family.
PIPELINE_CLASSES = {"TextToVideoSDPipeline": "modelscope", "WanPipeline": "wan2.1", "WanVACEPipeline": "wan2.1-vace"}


@dataclass(frozen=True)
class ModelRef:
    """A resolved model name: its family and where its weights come from."""

    name: str  # as the user gave it (shown in messages and recorded with adapters)
    family: str
    source: str | None = None  # hub id or folder; None for random models
    random: str | None = None  # "tiny" or "full": build the architecture with seeded random weights
    description: str = ""

    @property
    def is_folder(self) -> bool:
        return self.source is not None and _looks_like_path(self.source)


_MODELS: dict[str, ModelRef] = {}


def register_model(name: str, family: str, source: str | None = None, random: str | None = None,
                   description: str = "") -> ModelRef:
    """Add a model name (e.g. a project-trained model shipped in presets/). Later names win."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    if (source is None) == (random is None):
        raise ValueError("give either a source (hub id or folder) or random='tiny'|'full'")
    ref = ModelRef(name, family, source, random, description)
    _MODELS[name] = ref
    return ref


for _name, _family, _source, _random, _what in (
    ("tiny-random", "modelscope", None, "tiny", "ModelScopeT2V architecture at toy size, random weights (tests)"),
    ("modelscope-random", "modelscope", None, "full", "full-size ModelScopeT2V architecture, random weights"),
    ("modelscope", "modelscope", "ali-vilab/text-to-video-ms-1.7b", None,
     "ModelScopeT2V 1.7B (the paper's base; 16 frames 256x256 8 fps; weights CC BY-NC 4.0)"),
    ("wan-tiny-random", "wan2.1", None, "tiny", "Wan2.1 T2V architecture at toy size, random weights (tests)"),
    ("wan2.1-t2v-1.3b-random", "wan2.1", None, "full", "full-size Wan2.1-T2V-1.3B architecture, random weights"),
    ("wan2.1-t2v-1.3b", "wan2.1", "Wan-AI/Wan2.1-T2V-1.3B-diffusers", None,
     "Wan2.1 T2V 1.3B (81 frames 832x480 16 fps; ~8 GB VRAM; Apache-2.0)"),
    ("wan2.1-t2v-14b", "wan2.1", "Wan-AI/Wan2.1-T2V-14B-diffusers", None, "Wan2.1 T2V 14B (Apache-2.0)"),
    ("vace-tiny-random", "wan2.1-vace", None, "tiny", "Wan2.1 VACE architecture at toy size, random weights (tests)"),
    ("wan2.1-vace-1.3b-random", "wan2.1-vace", None, "full", "full-size Wan2.1-VACE-1.3B architecture, random weights"),
    ("wan2.1-vace-1.3b", "wan2.1-vace", "Wan-AI/Wan2.1-VACE-1.3B-diffusers", None,
     "Wan2.1 VACE 1.3B: depth/pose control and reference images, no training (Apache-2.0)"),
    ("wan2.1-vace-14b", "wan2.1-vace", "Wan-AI/Wan2.1-VACE-14B-diffusers", None, "Wan2.1 VACE 14B (Apache-2.0)"),
):
    register_model(_name, _family, _source, _random, _what)

from amg.model import demo as _demo  # noqa: E402 - the project's own trained model, shipped in presets/

register_model(_demo.DEMO_MODEL, "modelscope", str(_demo.demo_dir()), None, _demo.DESCRIPTION)


def registered_models() -> dict[str, ModelRef]:
    return dict(_MODELS)


def resolve_model(name: str, family: str | None = None) -> ModelRef:
    """The ModelRef of a model name; with `family`, refuse a model of another family."""
    if not isinstance(name, str) or not name.strip():
        raise AmgError("model: empty; give a model name (e.g. tiny-random, wan2.1-t2v-1.3b), a hub id or a folder")
    name = name.strip()
    ref = _MODELS.get(name)
    if ref is None:
        for known in _MODELS.values():  # a registered model given by its hub id
            if known.source == name and not _looks_like_path(name):
                ref = ModelRef(name, known.family, known.source, None, known.description)
                break
    if ref is None:
        path = Path(name).expanduser()
        if path.exists() or _looks_like_path(name):
            ref = ModelRef(name, folder_family(path), str(path))
        elif name.count("/") == 1:
            ref = ModelRef(name, _guess_hub_family(name), name)
        else:
            raise AmgError(f"model '{name}': no such folder, not a known model name and not a hub id of the form "
                           f"owner/name; known names: {', '.join(_MODELS)}")
    if family is not None and ref.family != family:
        raise AmgError(f"model '{name}' is a {ref.family} model, but the {family} route was asked for; "
                       f"{_route_hint(family)}")
    return ref


def folder_family(path: Path) -> str:
    """The family of a diffusers folder, from its model_index.json."""
    if not path.is_dir():
        raise AmgError(f"model folder {path}: not found")
    index = path / "model_index.json"
    if not index.is_file():
        # a folder without an index: decide by the denoiser's folder name
        if (path / "unet").is_dir():
            return "modelscope"
        if (path / "transformer").is_dir():
            return "wan2.1"
        return "modelscope"  # the paper's; loading then names what the folder lacks
    try:
        cls = json.loads(index.read_text(encoding="utf-8")).get("_class_name")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as e:
        raise AmgError(f"{index}: not readable as JSON ({e})") from None
    if cls not in PIPELINE_CLASSES:
        raise AmgError(f"model folder {path}: a {cls} model; AMG runs {', '.join(PIPELINE_CLASSES)} "
                       f"(families {', '.join(FAMILIES)})")
    return PIPELINE_CLASSES[cls]


def _guess_hub_family(repo_id: str) -> str:
    """Before download, from the id; checked against model_index.json after it."""
    low = repo_id.lower()
    if "wan" in low:
        return "wan2.1-vace" if "vace" in low else "wan2.1"
    return "modelscope"


def _route_hint(family: str) -> str:
    names = [n for n, r in _MODELS.items() if r.family == family]
    return f"models of that route: {', '.join(names)} (or a hub id / folder of that family)"


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1
