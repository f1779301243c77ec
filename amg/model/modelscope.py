"""The `modelscope` backbone: ModelScopeT2V (UNet3D, 4 latent channels, CLIP 77x1024, DDIM epsilon).

The paper's base model. Frames go through its 2D VAE in chunks (any frame count); the
UNet's `conv_in` gets the condition channels. Prompt encoding, noise sampling and decoding
follow diffusers' TextToVideoSDPipeline (deprecated; not imported, so its deprecation
cannot break us): the same calls in the same order, so a zero-initialised AMG model gives
the stock pipeline's video bit for bit.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import torch

from amg.errors import AmgError
from amg.model import configs
from amg.model.backbone import Backbone, register_backbone

SUBFOLDERS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


@register_backbone
class ModelScopeBackbone(Backbone):
    family = "modelscope"
    denoiser_name = "unet"
    first_layer = "conv_in"
    offload_seq = "text_encoder->unet->vae"
    cuda_dtype = torch.float16
    sampler = "DDIM"
    default_steps = 20
    default_guidance = 9.0
    #: Frames per VAE call: bounds memory, gives progress and cancel points.
    chunk_frames = 4

    # ---- weights ------------------------------------------------------------------------------
    @classmethod
    def random_components(cls, size: str, seed: int = 0) -> dict:
        from diffusers import AutoencoderKL, DDIMScheduler
        from transformers import CLIPTextConfig, CLIPTextModel

        from amg.model.tokenizer import clip_tokenizer
        from amg.model.unet import UNet3DWithPeft

        tiny = size == "tiny"
        with torch.random.fork_rng(devices=[]):  # same weights for the same seed; caller's RNG untouched
            torch.manual_seed(seed)
            unet = UNet3DWithPeft(**(configs.TINY_UNET if tiny else configs.MODELSCOPE_UNET))
            vae = AutoencoderKL(**(configs.TINY_VAE if tiny else configs.MODELSCOPE_VAE))
            text_encoder = CLIPTextModel(CLIPTextConfig(**(configs.TINY_TEXT_ENCODER if tiny
                                                          else configs.MODELSCOPE_TEXT_ENCODER)))
        return dict(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=clip_tokenizer(),
                    scheduler=DDIMScheduler(**configs.MODELSCOPE_SCHEDULER))

    @classmethod
    def folder_components(cls, path: Path, dtype: torch.dtype, variant: str | None) -> dict:
        from diffusers import AutoencoderKL, DDIMScheduler
        from transformers import CLIPTextModel, CLIPTokenizer

        from amg.model.unet import UNet3DWithPeft

        missing = [s for s in SUBFOLDERS if not (path / s).is_dir()]
        if missing:
            raise AmgError(f"model folder {path}: not a diffusers text-to-video model (missing "
                           f"{', '.join(m + '/' for m in missing)}; expected the layout of {configs.DEFAULT_MODEL})")
        kw = dict(torch_dtype=dtype, variant=variant, use_safetensors=True)
        return dict(
            unet=lambda: UNet3DWithPeft.from_pretrained(path, subfolder="unet", **kw),
            vae=lambda: AutoencoderKL.from_pretrained(path, subfolder="vae", **kw),
            text_encoder=lambda: CLIPTextModel.from_pretrained(path, subfolder="text_encoder", dtype=dtype,
                                                               variant=variant, use_safetensors=True),
            tokenizer=lambda: CLIPTokenizer.from_pretrained(path, subfolder="tokenizer"),
            # The paper samples with DDIM; the base's own noise schedule is kept.
            scheduler=lambda: DDIMScheduler.from_pretrained(path, subfolder="scheduler"),
        )

    @classmethod
    def model_index(cls) -> dict:
        return {"_class_name": "TextToVideoSDPipeline", "scheduler": ["diffusers", "DDIMScheduler"],
                "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
                "unet": ["diffusers", "UNet3DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}

    @classmethod
    def lora_target_pattern(cls, config) -> str:
        return config.target_pattern()

    # ---- one generation -----------------------------------------------------------------------
    @property
    def latent_channels(self) -> int:
        return self.pipe.vae.config.latent_channels

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.pipe.vae.config.block_out_channels) - 1)

    @staticmethod
    def latent_channels_of(vae) -> int:
        return vae.config.latent_channels

    def _embed(self, text: str) -> torch.Tensor:
        # As TextToVideoSDPipeline.encode_prompt does for one prompt (no LoRA scale, no clip skip).
        pipe = self.pipe
        tokens = pipe.tokenizer(text, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                                truncation=True, return_tensors="pt")
        device = pipe._execution_device
        mask = tokens.attention_mask.to(device) if getattr(pipe.text_encoder.config, "use_attention_mask", False) \
            else None
        embeds = pipe.text_encoder(tokens.input_ids.to(device), attention_mask=mask)[0]
        return embeds.to(dtype=pipe.text_encoder.dtype, device=device)  # (1, 77, D)

    def encode_prompt(self, prompt, negative_prompt, guidance):
        return self._embed(prompt), (self._embed(negative_prompt or "") if guidance else None)

    def video_chunks(self, num_frames: int) -> int:
        return -(-num_frames // self.chunk_frames)

    @torch.no_grad()
    def encode_video(self, frames, on_chunk=None):
        """The VAE posterior mean (no sampling), so a video always encodes the same way."""
        pipe = self.pipe
        video = pipe.video_processor.preprocess_video(frames.astype(np.float32) / 255.0)  # (1, 3, T, H, W)
        video = video.to(pipe._execution_device, pipe.vae.dtype)
        chunks = video[0].transpose(0, 1).split(self.chunk_frames)  # each (t, 3, H, W)
        latents = []
        for i, chunk in enumerate(chunks):
            latents.append(pipe.vae.encode(chunk).latent_dist.mode())
            if on_chunk is not None:
                on_chunk(i + 1, len(chunks))
        z = torch.cat(latents) * pipe.vae.config.scaling_factor  # (T, C, h, w)
        return z.transpose(0, 1)[None]

    def decode_latents(self, latents, on_chunk=None):
        pipe = self.pipe
        chunks = latents.split(self.chunk_frames, dim=2)
        decoded = []
        for i, chunk in enumerate(chunks):
            # As TextToVideoSDPipeline.decode_latents: frames on the batch axis through the 2D VAE.
            z = chunk / pipe.vae.config.scaling_factor
            b, c, f, h, w = z.shape
            image = pipe.vae.decode(z.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)).sample
            decoded.append(image[None].reshape((b, f, -1) + image.shape[2:]).permute(0, 2, 1, 3, 4).float())
            if on_chunk is not None:
                on_chunk(i + 1, len(chunks))
        video = pipe.video_processor.postprocess_video(torch.cat(decoded, dim=2), output_type="np")[0]
        return (video * 255.0).round().clip(0, 255).astype(np.uint8)  # (T, H, W, 3)

    def prepare_latents(self, shape, dtype, generator, latents):
        from diffusers.utils.torch_utils import randn_tensor

        device = self.pipe._execution_device
        if latents is None:
            latents = randn_tensor(shape, generator=generator, device=device, dtype=dtype)
        else:
            latents = latents.to(device)
        return latents * self.pipe.scheduler.init_noise_sigma

    def set_timesteps(self, steps):
        self.pipe.scheduler.set_timesteps(steps, device=self.pipe._execution_device)
        return self.pipe.scheduler.timesteps

    def max_steps(self) -> int:
        # DDIM's "leading" spacing adds steps_offset: 1000 steps would ask for timestep 1000 of 0..999
        cfg = self.pipe.scheduler.config
        return cfg.num_train_timesteps - cfg.get("steps_offset", 0)

    def forward(self, latents, condition, timestep, embeds):
        x = self.pipe.scheduler.scale_model_input(latents, timestep)
        return self.denoiser(torch.cat([x, condition], dim=1), timestep, encoder_hidden_states=embeds,
                             return_dict=False)[0]

    def step(self, prediction, timestep, latents, generator, eta):
        scheduler = self.pipe.scheduler
        extra = {}
        params = set(inspect.signature(scheduler.step).parameters)
        if "eta" in params:
            extra["eta"] = eta
        if "generator" in params:
            extra["generator"] = generator
        # The scheduler works on images: frames go to the batch axis and back.
        b, c, f, h, w = latents.shape
        out = scheduler.step(prediction.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w), timestep,
                             latents.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w), **extra).prev_sample
        return out.reshape(b, f, c, h, w).permute(0, 2, 1, 3, 4)

    # ---- training: DDPM noise, epsilon (or v) target --------------------------------------------
    def training_sample(self, z0, noise, generator):
        scheduler = self.pipe.scheduler
        t = torch.randint(scheduler.config.num_train_timesteps, (len(z0),), generator=generator).to(z0.device)
        z_t = scheduler.add_noise(z0, noise, t)
        target = noise if scheduler.config.prediction_type == "epsilon" else scheduler.get_velocity(z0, noise, t)
        return z_t, t, target

