"""The `wan2.1` backbone: Wan2.1 T2V (DiT, 16 latent channels, UMT5 512x4096, flow matching).

AMG's recipe carried over: the transformer's `patch_embedding` (a Conv3d 16 -> dim, kernel =
stride = (1, 2, 2)) gets the condition channels as a zero-initialised conv summed with it, and
LoRA goes on `attn1`/`attn2` of the main blocks. Wan's causal 3D VAE compresses time 4x after
the first frame (4k+1 frames) and must see a clip in ONE call: encoding chunks would keep only
each chunk's first frame. Prompt encoding and noise sampling are diffusers' WanPipeline's own
methods, called on a stock WanPipeline that shares this pipeline's components.

Wan-AI/Wan2.1-VACE-* (the `wan2.1-vace` family) shares the VAE, text encoder and scheduler;
its components are built here too (`random_vace_components`, `folder_vace_components`), its
route is amg/model/vace.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from amg.errors import AmgError
from amg.model import configs
from amg.model.backbone import Backbone, register_backbone

SUBFOLDERS = ("transformer", "vae", "text_encoder", "tokenizer", "scheduler")


def random_shared_components(size: str, seed: int = 0) -> dict:
    """VAE, UMT5 text encoder, in-memory tokenizer and scheduler of Wan at `size` ("tiny"/"full")."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler
    from transformers import UMT5Config, UMT5EncoderModel

    from amg.model.tokenizer import umt5_tokenizer

    tiny = size == "tiny"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        vae = AutoencoderKLWan(**(configs.TINY_WAN_VAE if tiny else configs.WAN_VAE))
        text_encoder = UMT5EncoderModel(UMT5Config(**(configs.TINY_WAN_TEXT_ENCODER if tiny
                                                     else configs.WAN_TEXT_ENCODER)))
    return dict(vae=vae, text_encoder=text_encoder,
                tokenizer=umt5_tokenizer(configs.TINY_WAN_MAX_SEQUENCE if tiny else configs.WAN_MAX_SEQUENCE),
                scheduler=UniPCMultistepScheduler(**configs.WAN_SCHEDULER))


def folder_shared_components(path: Path, dtype: torch.dtype, variant: str | None) -> dict:
    """Loaders of the parts every Wan family shares. The VAE stays fp32 (as Wan's own code
    keeps it): in half precision its decoder loses detail."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler
    from transformers import AutoTokenizer, UMT5EncoderModel

    missing = [s for s in SUBFOLDERS if not (path / s).is_dir()]
    if missing:
        raise AmgError(f"model folder {path}: not a diffusers Wan model (missing {', '.join(m + '/' for m in missing)}; "
                       f"expected the layout of {configs.WAN_T2V_1_3B})")
    return dict(
        vae=lambda: AutoencoderKLWan.from_pretrained(path, subfolder="vae", torch_dtype=torch.float32,
                                                     use_safetensors=True),
        text_encoder=lambda: UMT5EncoderModel.from_pretrained(path, subfolder="text_encoder", dtype=dtype,
                                                              variant=variant, use_safetensors=True),
        tokenizer=lambda: AutoTokenizer.from_pretrained(path, subfolder="tokenizer"),
        # the folder's scheduler is kept when it is a flow-matching one (Wan ships UniPC)
        scheduler=lambda: UniPCMultistepScheduler.from_pretrained(path, subfolder="scheduler"),
    )


VACE_MODEL_INDEX = {"_class_name": "WanVACEPipeline", "scheduler": ["diffusers", "UniPCMultistepScheduler"],
                    "text_encoder": ["transformers", "UMT5EncoderModel"], "tokenizer": ["transformers", "T5Tokenizer"],
                    "transformer": ["diffusers", "WanVACETransformer3DModel"], "vae": ["diffusers", "AutoencoderKLWan"]}


def random_vace_components(size: str, seed: int = 0) -> dict:
    from diffusers import WanVACETransformer3DModel

    parts = random_shared_components(size, seed)
    tiny = size == "tiny"
    config = (dict(configs.TINY_WAN_TRANSFORMER, num_layers=3, **configs.TINY_WAN_VACE_EXTRA) if tiny
              else dict(configs.WAN_TRANSFORMER, **configs.WAN_VACE_EXTRA))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        parts["transformer"] = WanVACETransformer3DModel(**config)
    return parts


def folder_vace_components(path: Path, dtype: torch.dtype, variant: str | None) -> dict:
    from diffusers import WanVACETransformer3DModel

    parts = folder_shared_components(path, dtype, variant)
    parts["transformer"] = lambda: WanVACETransformer3DModel.from_pretrained(
        path, subfolder="transformer", torch_dtype=dtype, variant=variant, use_safetensors=True)
    return parts


@register_backbone
class WanBackbone(Backbone):
    family = "wan2.1"
    denoiser_name = "transformer"
    first_layer = "patch_embedding"
    offload_seq = "text_encoder->transformer->vae"
    cuda_dtype = torch.bfloat16
    sampler = "UniPC (flow matching)"
    default_steps = 50
    default_guidance = 5.0
    #: Cross-attention runs per guidance branch, as WanPipeline does (at 32,760 tokens a batch
    #: of two doubles the activations).
    batch_branches = False

    # ---- weights ------------------------------------------------------------------------------
    @classmethod
    def random_components(cls, size: str, seed: int = 0) -> dict:
        from diffusers import WanTransformer3DModel

        parts = random_shared_components(size, seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            parts["transformer"] = WanTransformer3DModel(**(configs.TINY_WAN_TRANSFORMER if size == "tiny"
                                                            else configs.WAN_TRANSFORMER))
        return parts

    @classmethod
    def folder_components(cls, path: Path, dtype: torch.dtype, variant: str | None) -> dict:
        from diffusers import WanTransformer3DModel

        parts = folder_shared_components(path, dtype, variant)
        parts["transformer"] = lambda: WanTransformer3DModel.from_pretrained(
            path, subfolder="transformer", torch_dtype=dtype, variant=variant, use_safetensors=True)
        return parts

    @classmethod
    def model_index(cls) -> dict:
        return {"_class_name": "WanPipeline", "scheduler": ["diffusers", "UniPCMultistepScheduler"],
                "text_encoder": ["transformers", "UMT5EncoderModel"], "tokenizer": ["transformers", "T5Tokenizer"],
                "transformer": ["diffusers", "WanTransformer3DModel"], "vae": ["diffusers", "AutoencoderKLWan"]}

    @classmethod
    def lora_target_pattern(cls, config) -> str:
        return configs.WAN_LORA_PATTERN.format(projections="|".join(re.escape(p) for p in config.projections))

    # ---- one generation -----------------------------------------------------------------------
    @property
    def stock(self):
        """diffusers' WanPipeline over the same components (for its prompt encoding and noise)."""
        from diffusers import WanPipeline

        p = self.pipe
        if getattr(self, "_stock", None) is None or self._stock.transformer is not p.transformer:
            self._stock = WanPipeline(tokenizer=p.tokenizer, text_encoder=p.text_encoder, vae=p.vae,
                                      scheduler=p.scheduler, transformer=p.transformer)
        return self._stock

    @property
    def latent_channels(self) -> int:
        return self.pipe.vae.config.z_dim

    @staticmethod
    def latent_channels_of(vae) -> int:
        return vae.config.z_dim

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** len(self.pipe.vae.config.temperal_downsample)

    @property
    def max_sequence_length(self) -> int:
        return min(configs.WAN_MAX_SEQUENCE, self.pipe.tokenizer.model_max_length)

    def encode_prompt(self, prompt, negative_prompt, guidance):
        pos, neg = self.stock.encode_prompt(prompt, negative_prompt or "", do_classifier_free_guidance=guidance,
                                            max_sequence_length=self.max_sequence_length,
                                            device=self.pipe._execution_device)
        dtype = self.denoiser.dtype
        return pos.to(dtype), (neg.to(dtype) if neg is not None else None)

    def _latent_stats(self, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.pipe.vae.config
        mean = torch.tensor(cfg.latents_mean).view(1, cfg.z_dim, 1, 1, 1).to(device, dtype)
        std = torch.tensor(cfg.latents_std).view(1, cfg.z_dim, 1, 1, 1).to(device, dtype)
        return mean, std

    @torch.no_grad()
    def encode_video(self, frames, on_chunk=None):
        """The whole clip in one VAE call (see the module docstring); posterior mean, normalised
        with the VAE's latent statistics like WanPipeline's latents."""
        pipe = self.pipe
        t = frames.shape[0]
        if not self.rule.frames_ok(t):
            self.rule.check("video to encode", t, frames.shape[1], frames.shape[2])
        video = pipe.video_processor.preprocess_video(frames.astype(np.float32) / 255.0)  # (1, 3, T, H, W)
        video = video.to(pipe._execution_device, pipe.vae.dtype)
        z = pipe.vae.encode(video).latent_dist.mode()  # (1, 16, (T-1)/4+1, H/8, W/8)
        mean, std = self._latent_stats(z.device, z.dtype)
        if on_chunk is not None:
            on_chunk(1, 1)
        return (z - mean) * (1.0 / std)  # as diffusers' Wan pipelines normalise (bit for bit)

    def decode_latents(self, latents, on_chunk=None):
        pipe = self.pipe
        latents = latents.to(pipe.vae.device, pipe.vae.dtype)
        mean, std = self._latent_stats(latents.device, latents.dtype)
        video = pipe.vae.decode(latents / (1.0 / std) + mean, return_dict=False)[0]  # (1, 3, T, H, W), [-1, 1]
        if on_chunk is not None:
            on_chunk(1, 1)
        video = pipe.video_processor.postprocess_video(video, output_type="np")[0]
        return (video * 255.0).round().clip(0, 255).astype(np.uint8)

    def prepare_latents(self, shape, dtype, generator, latents):
        # WanPipeline samples its noise in fp32 and casts per step
        b, c, t, h, w = shape
        return self.stock.prepare_latents(b, c, h * 8, w * 8, (t - 1) * 4 + 1, torch.float32,
                                          self.pipe._execution_device, generator, latents)

    def set_timesteps(self, steps):
        scheduler = self.pipe.scheduler
        scheduler.set_timesteps(steps, device=self.pipe._execution_device)
        scheduler.set_begin_index(0)
        return scheduler.timesteps

    def forward(self, latents, condition, timestep, embeds):
        x = torch.cat([latents, condition], dim=1).to(self.denoiser.dtype)
        return self.denoiser(hidden_states=x, timestep=timestep.expand(x.shape[0]), encoder_hidden_states=embeds,
                             return_dict=False)[0]

    def step(self, prediction, timestep, latents, generator, eta):
        return self.pipe.scheduler.step(prediction, timestep, latents, return_dict=False)[0]

    # ---- training: rectified flow, velocity target noise - x0 ---------------------------------
    def training_sample(self, z0, noise, generator):
        shift = float(self.pipe.scheduler.config.get("flow_shift", None) or 3.0)
        u = torch.rand(len(z0), generator=generator)
        sigma = (shift * u / (1 + (shift - 1) * u)).to(z0.device, z0.dtype)  # Wan's timestep shift
        s = sigma.view(-1, 1, 1, 1, 1)
        z_t = (1 - s) * z0 + s * noise
        return z_t, sigma * 1000.0, noise - z0
