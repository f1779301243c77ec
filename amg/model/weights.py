"""Base model weights: a hub id, a local diffusers folder, or seeded random weights.

Which family a name is, and where its weights are, is decided in amg.model.registry; the
family's backbone knows its components. Only safetensors are read (never pickles). With a
network, huggingface_hub downloads with its progress bars; without one, a clear message
says how to fetch the weights. Random models (`tiny-random`, `wan-tiny-random`, ...) build
the real architecture with seeded random weights: for tests, benchmarks and trying the flow.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from amg.errors import AmgError
from amg.model import configs
from amg.model.registry import ModelRef, folder_family, resolve_model

#: The files a generation needs; weights as safetensors only (no pickled .bin/.ckpt).
_DOWNLOAD_PATTERNS = ["model_index.json", "*/config.json", "*/*_config.json", "tokenizer/*", "*/*.json"]


@dataclass
class BaseComponents:
    """The frozen pieces of a base model, before AMG's adapters are added
    (`unet` or `transformer`, `vae`, `text_encoder`, `tokenizer`, `scheduler`)."""

    name: str  # hub id, folder, or model name
    family: str
    parts: dict = field(default_factory=dict)
    random_weights: bool = True

    def __getattr__(self, key):
        parts = self.__dict__.get("parts", {})
        if key in parts:
            return parts[key]
        raise AttributeError(key)

    def __setattr__(self, key, value):
        if key in ("unet", "transformer", "vae", "text_encoder", "tokenizer", "scheduler"):
            self.parts[key] = value
        else:
            super().__setattr__(key, value)


def load_base(model: str | ModelRef, dtype: torch.dtype = torch.float32, variant: str | None = None,
              seed: int = 0, family: str | None = None) -> BaseComponents:
    """Base components from a model name, a local folder or a hub id (see amg.model.registry)."""
    ref = model if isinstance(model, ModelRef) else resolve_model(model, family)
    if ref.random is not None:
        return random_base(ref.name, dtype=dtype, seed=seed)
    if ref.is_folder:
        return _from_folder(Path(ref.source).expanduser(), ref, dtype, variant)
    return _from_folder(download(ref.source, variant), ref, dtype, variant)


def random_base(name: str = configs.TINY_RANDOM, dtype: torch.dtype = torch.float32, seed: int = 0) -> BaseComponents:
    """A random model's architecture (full or toy size) with seeded random weights."""
    ref = resolve_model(name)
    if ref.random is None:
        raise AmgError(f"model '{name}' is not a random model")
    parts = _random_parts(ref, seed)
    if dtype != torch.float32:  # built in fp32; cast only when asked (diffusers warns on a no-op cast)
        for key, part in parts.items():
            if isinstance(part, torch.nn.Module) and not (key == "vae" and ref.family != "modelscope"):
                parts[key] = part.to(dtype)  # Wan's VAE stays fp32
    for part in parts.values():
        if isinstance(part, torch.nn.Module):
            part.eval()
    return BaseComponents(name=ref.name, family=ref.family, parts=parts, random_weights=True)


def _random_parts(ref: ModelRef, seed: int) -> dict:
    if ref.family == "wan2.1-vace":
        from amg.model.wan import random_vace_components

        return random_vace_components(ref.random, seed)
    from amg.model.families import backbone_class

    return backbone_class(ref.family).random_components(ref.random, seed)


def download(repo_id: str, variant: str | None = None) -> Path:
    """A local snapshot of a hub repo: from the cache, else downloaded (with progress bars)."""
    from huggingface_hub import snapshot_download

    # Only the weights of one precision: fp16 files for the fp16 variant, full-precision ones otherwise.
    allow = _DOWNLOAD_PATTERNS + [f"*/*.{variant}.safetensors" if variant else "*/*.safetensors",
                                  "*/*.safetensors.index.json", "*/*.model"]
    ignore = None if variant else ["*.fp16.safetensors"]
    try:
        return Path(snapshot_download(repo_id, allow_patterns=allow, ignore_patterns=ignore, local_files_only=True))
    except Exception:  # not cached (or cache incomplete): fetch it
        pass
    try:
        return Path(snapshot_download(repo_id, allow_patterns=allow, ignore_patterns=ignore))
    except Exception as e:  # huggingface_hub raises many kinds (offline, 404, gated, network)
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise AmgError(
            f"model '{repo_id}': cannot download from the Hugging Face Hub ({type(e).__name__}: {reason[:200]}). "
            f"On a machine with a network run `hf download {repo_id} --local-dir models/{repo_id.split('/')[-1]}` "
            f"(or `huggingface-cli download ...` with older huggingface_hub) and use that folder as the model; "
            f"the random test models tiny-random, wan-tiny-random and vace-tiny-random try the whole flow without weights"
        ) from None


def _from_folder(path: Path, ref: ModelRef, dtype: torch.dtype, variant: str | None) -> BaseComponents:
    if not path.is_dir():
        raise AmgError(f"model folder {path}: not found")
    if (path / "model_index.json").is_file():
        found = folder_family(path)
        if found != ref.family:
            raise AmgError(f"model '{ref.name}': its model_index.json says {found}, but it was given as a "
                           f"{ref.family} model; use it on the {found} route")
    if ref.family == "wan2.1-vace":
        from amg.model.wan import folder_vace_components

        loaders = folder_vace_components(path, dtype, variant)
    else:
        from amg.model.families import backbone_class

        loaders = backbone_class(ref.family).folder_components(path, dtype, variant)
    parts = {}
    for part, load in loaders.items():
        try:
            parts[part] = load()
        except (OSError, ValueError, EnvironmentError, KeyError, RuntimeError, TypeError) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise AmgError(f"model folder {path}: cannot load {part}/ ({reason[:300]}); "
                           "weights must be safetensors in diffusers' layout") from None
    for part in parts.values():
        if isinstance(part, torch.nn.Module):
            part.eval()
    return BaseComponents(name=ref.name, family=ref.family, parts=parts, random_weights=False)


def save_base(components: BaseComponents, directory: str | os.PathLike) -> Path:
    """Write base components in diffusers' layout (what _from_folder reads), e.g. a tiny test model."""
    from amg.model.families import backbone_class

    directory = Path(directory)
    for name, part in components.parts.items():
        part.save_pretrained(directory / name)
    if components.family == "wan2.1-vace":
        from amg.model.wan import VACE_MODEL_INDEX as index
    else:
        index = backbone_class(components.family).model_index()
    (directory / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    return directory
