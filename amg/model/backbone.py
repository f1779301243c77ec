"""A backbone: everything AMGPipeline needs to know about one family of base video models.

AMGPipeline (amg/model/pipeline.py) holds the diffusers components of a base model and one
Backbone object that knows how that family encodes prompts and videos, samples noise, runs
its denoiser and scheduler, and what it is trained to predict. Adding a family is one file:
a Backbone subclass registered with `@register_backbone` (amg.model.families looks them up).

Tensor layouts: videos are (T, H, W, 3) uint8 in and out; latents (B, C, t, h, w).
"""

from __future__ import annotations

from typing import Callable, ClassVar

import numpy as np
import torch

from amg.scene import SIZE_RULES, SizeRule

#: family -> its Backbone class, filled by @register_backbone.
BACKBONES: dict[str, type["Backbone"]] = {}


def register_backbone(cls: type["Backbone"]) -> type["Backbone"]:
    BACKBONES[cls.family] = cls
    return cls


class Backbone:
    family: ClassVar[str]
    #: The pipeline attribute holding the denoiser ("unet" or "transformer").
    denoiser_name: ClassVar[str]
    #: The denoiser's first layer, which gets the condition channels (a ConditionedConvIn).
    first_layer: ClassVar[str]
    #: diffusers' model CPU offload order.
    offload_seq: ClassVar[str]
    #: The precision used on CUDA unless asked otherwise.
    cuda_dtype: ClassVar[torch.dtype] = torch.float16
    #: What the scheduler is called in settings and messages.
    sampler: ClassVar[str] = ""
    default_steps: ClassVar[int] = 20
    default_guidance: ClassVar[float] = 9.0

    def __init__(self, pipe):
        self.pipe = pipe

    @property
    def rule(self) -> SizeRule:
        return SIZE_RULES[self.family]

    @property
    def denoiser(self) -> torch.nn.Module:
        return getattr(self.pipe, self.denoiser_name)

    # ---- weights (class level: no pipeline yet) ---------------------------------------------
    @classmethod
    def random_components(cls, size: str, seed: int = 0) -> dict:
        """{component name: module} of this architecture with seeded random weights (fp32)."""
        raise NotImplementedError

    @classmethod
    def folder_components(cls, path, dtype: torch.dtype, variant: str | None) -> dict:
        """{component name: module} from a diffusers folder (safetensors only)."""
        raise NotImplementedError

    @classmethod
    def lora_target_pattern(cls, config) -> str:
        """The regex peft full-matches against the denoiser's module names."""
        raise NotImplementedError

    # ---- one generation ---------------------------------------------------------------------
    @property
    def latent_channels(self) -> int:
        raise NotImplementedError

    def encode_prompt(self, prompt: str, negative_prompt: str | None, guidance: bool) -> tuple:
        """(prompt embeds (1, L, D), negative embeds or None)."""
        raise NotImplementedError

    def encode_video(self, frames: np.ndarray, on_chunk: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """(T, H, W, 3) uint8 -> (1, C, t, h, w) latents, scaled like the model's noisy latents."""
        raise NotImplementedError

    def video_chunks(self, num_frames: int) -> int:
        """VAE calls an encode (or decode) of `num_frames` makes: the unit of its progress."""
        return 1

    def decode_latents(self, latents: torch.Tensor, on_chunk: Callable[[int, int], None] | None = None
                       ) -> np.ndarray:
        """(1, C, t, h, w) latents -> (T, H, W, 3) uint8."""
        raise NotImplementedError

    def prepare_latents(self, shape: tuple, dtype, generator, latents: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def set_timesteps(self, steps: int) -> torch.Tensor:
        raise NotImplementedError

    def max_steps(self) -> int:
        """Most sampling steps the scheduler can take."""
        return 1000

    def forward(self, latents: torch.Tensor, condition: torch.Tensor, timestep, embeds: torch.Tensor
                ) -> torch.Tensor:
        """The denoiser on [latents, condition] (channel axis); latents (n, C, t, h, w)."""
        raise NotImplementedError

    def step(self, prediction: torch.Tensor, timestep, latents: torch.Tensor, generator, eta: float) -> torch.Tensor:
        raise NotImplementedError

    # ---- training ---------------------------------------------------------------------------
    def training_sample(self, z0: torch.Tensor, noise: torch.Tensor, generator: torch.Generator
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(noisy latents, the denoiser's timestep input, the regression target) for clean z0."""
        raise NotImplementedError


def architecture_hash(family: str, denoiser_config: dict, vae_config: dict) -> str:
    """sha256 of the architecture-defining config entries of the denoiser and the VAE.

    Adapters only fit the base they were trained on: the LoRA shapes follow the denoiser,
    and the condition conv reads the VAE's latent space. ModelScope keeps its historic
    key ("unet"), so adapters saved before backbones existed still load.
    """
    import hashlib
    import json

    def arch(cfg: dict) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in sorted(dict(cfg).items())
                if not k.startswith("_")}
    key = "unet" if family == "modelscope" else "transformer"
    blob = json.dumps({key: arch(denoiser_config), "vae": arch(vae_config)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
