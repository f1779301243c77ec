"""AMG adapter files: LoRA + condition conv as safetensors, beside a JSON that explains them.

A folder of adapters holds:
  amg_adapters.json       what these are, the LoRA config, the base model they belong to
                          (name + architecture sha256), how they were trained
  amg_adapters.safetensors the tensors (LoRA A/B matrices, conv_in condition weights),
                          with the same identity in the safetensors header

Loading refuses adapters made for another base architecture, with a message naming both.
Tensors are read with safetensors only: adapter files are data, never code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from amg.errors import AmgError
from amg.model.configs import AdapterConfig, TrainingRecord
from amg.files import atomic_write_bytes, atomic_write_text, parse_json, read_text

FORMAT = "amg-adapters"
VERSION = 1
CONFIG_FILE = "amg_adapters.json"
WEIGHTS_FILE = "amg_adapters.safetensors"


@dataclass
class AdapterInfo:
    """The JSON side of an adapter folder."""

    base_model: str
    base_architecture_sha256: str
    adapter: AdapterConfig = field(default_factory=AdapterConfig)
    training: TrainingRecord = field(default_factory=TrainingRecord)
    #: The model family they belong to (files from before backbones existed are ModelScope's).
    backbone: str = "modelscope"

    @property
    def trained(self) -> bool:
        return self.training.steps > 0

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT, "version": VERSION,
            "description": ("AMG (arXiv 2409.01502) avatar-conditioning adapters for a "
                            f"{'ModelScopeT2V-style UNet3D' if self.backbone == 'modelscope' else 'Wan2.1 transformer'}"
                            ": LoRA on attention projections and first-layer weights for the "
                            f"VAE-encoded avatar video, stored in {WEIGHTS_FILE}."),
            "backbone": self.backbone,
            "base_model": {"name": self.base_model, "architecture_sha256": self.base_architecture_sha256},
            "adapter": self.adapter.to_dict(),
            "training": {"steps": self.training.steps, "dataset": self.training.dataset,
                         "notes": self.training.notes, **({"extra": self.training.extra} if self.training.extra else {})},
        }, indent=2) + "\n"


def save_adapters(directory: str | os.PathLike, state: dict[str, torch.Tensor], info: AdapterInfo) -> Path:
    """Write tensors then JSON, each atomically (the JSON last: it marks a complete folder)."""
    from safetensors.torch import save

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise AmgError(f"{directory}: exists and is not a folder; adapters are saved into a folder")
    header = {"format": FORMAT, "version": str(VERSION), "backbone": info.backbone, "base_model": info.base_model,
              "base_architecture_sha256": info.base_architecture_sha256}
    atomic_write_bytes(directory / WEIGHTS_FILE, save(state, metadata=header))
    atomic_write_text(directory / CONFIG_FILE, info.to_json())
    return directory


def read_adapter_info(directory: str | os.PathLike) -> AdapterInfo:
    directory = Path(directory)
    if not directory.is_dir():
        raise AmgError(f"{directory}: adapter folder not found")
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise AmgError(f"{directory}: not an AMG adapter folder (no {CONFIG_FILE}); "
                       "adapters are saved by AMGPipeline.save_adapters or the trainer")
    data = parse_json(read_text(path, "adapter config"), str(path))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise AmgError(f"{path}: not an AMG adapter config (\"format\" must be \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise AmgError(f"{path}: adapter format version {data.get('version')!r} is not supported (this AMG reads {VERSION})")
    try:
        base = data["base_model"]
        training = data.get("training", {})
        return AdapterInfo(
            base_model=str(base["name"]), base_architecture_sha256=str(base["architecture_sha256"]),
            adapter=AdapterConfig.from_dict(data.get("adapter", {})),
            training=TrainingRecord(steps=int(training.get("steps", 0)), dataset=str(training.get("dataset", "")),
                                    notes=str(training.get("notes", "")), extra=dict(training.get("extra", {}))),
            backbone=str(data.get("backbone", "modelscope")),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise AmgError(f"{path}: malformed adapter config ({type(e).__name__}: {e})") from None


def read_adapter_tensors(directory: str | os.PathLike) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise AmgError(f"{path}: adapter weights missing (the folder has {CONFIG_FILE} but no {WEIGHTS_FILE})")
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise AmgError(f"{path}: cannot read adapter weights ({e})") from None


def check_base(info: AdapterInfo, directory: str | os.PathLike, base_model: str, base_hash: str) -> None:
    """Refuse adapters made for a different base architecture."""
    if info.base_architecture_sha256 != base_hash:
        raise AmgError(
            f"{directory}: these adapters were made for base model '{info.base_model}' "
            f"(architecture {info.base_architecture_sha256[:12]}), but the loaded base model is "
            f"'{base_model}' (architecture {base_hash[:12]}); load them on base model '{info.base_model}'")
