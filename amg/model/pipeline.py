"""AMGPipeline: text + avatar condition video -> video (ModelScopeT2V with AMG's adapters).

The denoising loop is ModelScopeT2V's with one change from the paper: the UNet's input
is [z_t, z_a], the noisy latent and the VAE-encoded avatar video concatenated on the
channel axis. Text encoding, latent sampling and decoding are diffusers'
TextToVideoSDPipeline methods, reused as they are. Guidance is classifier-free on the
text (the paper), or, with `avatar_guidance_scale`, InstructPix2Pix-style dual guidance
that weighs text against avatar (an option the paper lacks):

    eps = eps(0, 0) + s_a * (eps(0, z_a) - eps(0, 0)) + s_t * (eps(y, z_a) - eps(0, z_a))

where "0" is the empty prompt / an all-zero condition latent (the base model's input).

Designed to run as a background job: `callback(GenerationProgress)` after each unit of
work, `should_cancel()` polled between them (raises GenerationCancelled; nothing is
written by the pipeline itself). One call at a time per pipeline object.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.pipelines.deprecated.text_to_video_synthesis.pipeline_text_to_video_synth import TextToVideoSDPipeline
from diffusers.video_processor import VideoProcessor

from amg.errors import AmgError
from amg.model import adapters as adapter_files
from amg.model.condition import load_condition
from amg.model.configs import DEFAULT_MODEL, AdapterConfig, TrainingRecord
from amg.model.unet import (ConditionedConvIn, adapter_state_dict, architecture_hash, load_adapter_state_dict,
                            make_conditioned_unet)
from amg.model.weights import load_base

MAX_STEPS = 1000  # DDIM cannot take more steps than the 1000 training timesteps


class GenerationCancelled(Exception):
    """Raised between steps when `should_cancel()` returns True."""


@dataclass
class GenerationProgress:
    stage: str  # "encoding condition", "denoising" or "decoding"
    step: int  # units done in this stage
    total: int  # units in this stage
    elapsed_s: float  # since the call started
    seconds_left: float | None  # estimate for the whole call (None until one unit was timed)


@dataclass
class WeightsStatus:
    """What the weights are, in words a user can act on (shown by the CLI and the UI, stored in the MP4)."""

    base: str
    random_base: bool
    adapters: str | None = None  # folder, None when the adapters are freshly zero-initialised
    adapter_steps: int = 0

    @property
    def trained(self) -> bool:
        return not self.random_base and self.adapters is not None and self.adapter_steps > 0

    @property
    def message(self) -> str:
        how = (f"real results need the base weights (--model {DEFAULT_MODEL}, or a local copy: "
               f"`hf download {DEFAULT_MODEL}`) and AMG adapters trained on avatar/video pairs (--adapters DIR)")
        if self.random_base:
            return (f"UNTRAINED WEIGHTS: '{self.base}' is random (for testing the flow): the video is noise, "
                    f"not a generation; {how}")
        if self.adapters is None:
            return ("NO AMG ADAPTERS: the base text-to-video model runs without trained avatar adapters, so the "
                    f"avatar video has no effect (its input weights are zero); {how}")
        if self.adapter_steps <= 0:
            return (f"UNTRAINED ADAPTERS: {self.adapters} records no training steps, so the avatar video has "
                    f"little or no effect; {how}")
        return f"trained AMG adapters ({self.adapter_steps} steps) from {self.adapters} on {self.base}"

    def metadata(self) -> dict[str, str]:
        """MP4 tags: a short verdict in the title-like field, the full message as the comment."""
        return {"comment": self.message, "description": "AMG Studio: " + ("trained weights" if self.trained else
                                                                          "untrained weights, not a real generation")}


@dataclass
class AMGOutput:
    frames: np.ndarray  # (T, H, W, 3) uint8
    condition: np.ndarray  # (T, H, W, 3) uint8, as fed to the model
    weights_status: WeightsStatus
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0


class AMGPipeline(DiffusionPipeline):
    """Avatar-guided text-to-video generation; see the module docstring.

    Build with `AMGPipeline.from_pretrained(model, adapters=...)` or `amg.model.load_pipeline`.
    """

    model_cpu_offload_seq = "text_encoder->unet->vae"

    # ModelScopeT2V's pieces, reused unchanged (they only touch tokenizer/text_encoder/vae/scheduler).
    encode_prompt = TextToVideoSDPipeline.encode_prompt
    prepare_latents = TextToVideoSDPipeline.prepare_latents
    decode_latents = TextToVideoSDPipeline.decode_latents
    prepare_extra_step_kwargs = TextToVideoSDPipeline.prepare_extra_step_kwargs

    def __init__(self, vae, text_encoder, tokenizer, unet, scheduler):
        super().__init__()
        if not isinstance(unet.conv_in, ConditionedConvIn):
            raise ValueError("AMGPipeline needs a UNet with AMG adapters (amg.model.unet.make_conditioned_unet)")
        self.register_modules(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler)
        self.vae_scale_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self.video_processor = VideoProcessor(do_resize=False, vae_scale_factor=self.vae_scale_factor)
        self.base_model_name = "unknown"
        self.random_base = True
        self.adapter_config = AdapterConfig(condition_channels=unet.conv_in.condition.in_channels)
        self.adapter_source: str | None = None
        self.adapter_training = TrainingRecord()
        #: Frames per VAE call when encoding/decoding: bounds memory, gives progress and cancel points.
        self.vae_chunk_frames = 4
        self.adapters_fused = False

    # ---- weights ------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, model: str = DEFAULT_MODEL, adapters: str | os.PathLike | None = None, *,
                        device: str | torch.device | None = None, dtype: torch.dtype | None = None,
                        adapter_config: AdapterConfig | None = None, seed: int = 0) -> "AMGPipeline":
        """Base model (hub id, local diffusers folder, 'tiny-random' or 'modelscope-random') + AMG adapters.

        With `adapters` (a folder written by `save_adapters`), their LoRA config is used and the
        base must be the architecture they were made for. Without, zero-initialised adapters
        (`adapter_config`, rank 4 by default) make the model equal to the base model.
        """
        device = resolve_device(device)
        dtype = resolve_dtype(device, dtype)
        info = adapter_files.read_adapter_info(adapters) if adapters is not None else None
        variant = "fp16" if dtype == torch.float16 else None
        base = load_base(model, dtype=dtype, variant=variant, seed=seed)
        config = info.adapter if info is not None else (adapter_config or AdapterConfig())
        with torch.random.fork_rng(devices=[]):  # LoRA's random A matrices: the same for the same seed
            torch.manual_seed(seed)
            unet = make_conditioned_unet(base.unet, config)
        pipe = cls(vae=base.vae, text_encoder=base.text_encoder, tokenizer=base.tokenizer, unet=unet,
                   scheduler=base.scheduler)
        pipe.base_model_name, pipe.random_base, pipe.adapter_config = base.name, base.random_weights, config
        if adapters is not None:
            pipe.load_adapters(adapters)
        return pipe.to(device)

    @property
    def base_architecture_sha256(self) -> str:
        return architecture_hash(self.unet.config, self.vae.config)

    def save_adapters(self, directory: str | os.PathLike, training: TrainingRecord | None = None) -> Path:
        """Write LoRA + condition-conv weights and their JSON description into `directory`."""
        info = adapter_files.AdapterInfo(base_model=self.base_model_name,
                                         base_architecture_sha256=self.base_architecture_sha256,
                                         adapter=self.adapter_config, training=training or self.adapter_training)
        return adapter_files.save_adapters(directory, adapter_state_dict(self.unet), info)

    def fuse_adapters(self) -> None:
        """Merge LoRA into the attention weights for inference: the step then costs what the base
        model's does. Saving and loading adapters still work (they unfuse as needed)."""
        if not self.adapters_fused:
            self.unet.fuse_lora()
            self.adapters_fused = True

    def unfuse_adapters(self) -> None:
        if self.adapters_fused:
            self.unet.unfuse_lora()
            self.adapters_fused = False

    def save_pretrained(self, directory: str | os.PathLike, training: TrainingRecord | None = None) -> Path:
        """What AMG adds to its base is what it saves: the adapters (the base stays the hub's/folder's).

        Reload with `AMGPipeline.from_pretrained(base_model, adapters=directory)`.
        """
        return self.save_adapters(directory, training)

    def load_adapters(self, directory: str | os.PathLike) -> None:
        """Load adapters saved for this base architecture (refuses others, changes nothing then)."""
        info = adapter_files.read_adapter_info(directory)
        adapter_files.check_base(info, directory, self.base_model_name, self.base_architecture_sha256)
        if info.adapter != self.adapter_config:
            raise AmgError(f"{directory}: adapter config {info.adapter.to_dict()} differs from this pipeline's "
                           f"{self.adapter_config.to_dict()}; load them with AMGPipeline.from_pretrained(adapters=...)")
        state = adapter_files.read_adapter_tensors(directory)
        fused = self.adapters_fused
        self.unfuse_adapters()  # new LoRA weights must not stack on merged old ones
        try:
            load_adapter_state_dict(self.unet, state)
        except KeyError as e:
            raise AmgError(f"{directory}: adapter weights do not match their config ({e.args[0]})") from None
        finally:
            if fused:
                self.fuse_adapters()
        self.adapter_source, self.adapter_training = str(directory), info.training

    @property
    def weights_status(self) -> WeightsStatus:
        return WeightsStatus(base=self.base_model_name, random_base=self.random_base,
                             adapters=self.adapter_source, adapter_steps=self.adapter_training.steps)

    # ---- condition ----------------------------------------------------------------------
    @torch.no_grad()
    def encode_condition(self, frames: np.ndarray, on_chunk: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """(T, H, W, 3) uint8 frames (avatar video, or a training video) -> (1, C, T, H/8, W/8)
        latents, scaled like the noisy latents.

        The VAE posterior mean (no sampling), so a video always encodes the same way.
        `on_chunk(done, total)` is called after each chunk of frames (it may raise to stop).
        """
        video = self.video_processor.preprocess_video(frames.astype(np.float32) / 255.0)  # (1, 3, T, H, W)
        video = video.to(self._execution_device, self.vae.dtype)
        chunks = video[0].transpose(0, 1).split(self.vae_chunk_frames)  # each (t, 3, H, W)
        latents = []
        for i, chunk in enumerate(chunks):
            latents.append(self.vae.encode(chunk).latent_dist.mode())
            if on_chunk is not None:
                on_chunk(i + 1, len(chunks))
        z = torch.cat(latents) * self.vae.config.scaling_factor  # (T, C, h, w)
        return z.transpose(0, 1)[None]

    # ---- generation ---------------------------------------------------------------------
    @torch.no_grad()
    def __call__(
        self,
        prompt: str,
        condition,  # (T, H, W, 3) uint8 frames, a tensor of those, or a video file path
        negative_prompt: str | None = None,
        num_inference_steps: int = 20,
        guidance_scale: float = 9.0,
        avatar_guidance_scale: float | None = None,
        generator: torch.Generator | None = None,
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        resample_condition: bool = False,
        eta: float = 0.0,
        latents: torch.Tensor | None = None,  # (1, 4, T, H/8, W/8) initial noise, instead of the generator's
        callback: Callable[[GenerationProgress], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> AMGOutput:
        """Generate a video that follows `prompt` and the avatars' motion in `condition`.

        Frames and size come from the condition unless given (then the condition must match,
        or be resampled with `resample_condition=True`). Deterministic for a seeded generator.
        """
        start = time.perf_counter()
        _check_settings(prompt, negative_prompt, num_inference_steps, guidance_scale, avatar_guidance_scale,
                        self.scheduler.config.num_train_timesteps)
        frames = load_condition(condition, num_frames, height, width, resample=resample_condition)
        t, h, w = frames.shape[:3]
        clock = _Clock(start, callback, should_cancel, num_inference_steps, math.ceil(t / self.vae_chunk_frames))
        try:
            video = self._generate(prompt, negative_prompt, frames, num_inference_steps, guidance_scale,
                                   avatar_guidance_scale, generator, eta, latents, clock)
        except (torch.OutOfMemoryError, MemoryError) as e:
            raise _out_of_memory(e, t, h, w) from None
        except RuntimeError as e:
            if "out of memory" in str(e) or "can't allocate memory" in str(e):
                raise _out_of_memory(e, t, h, w) from None
            raise
        settings = dict(prompt=prompt, negative_prompt=negative_prompt or "", steps=num_inference_steps,
                        guidance_scale=guidance_scale, avatar_guidance_scale=avatar_guidance_scale,
                        frames=t, width=w, height=h, model=self.base_model_name,
                        adapters=self.adapter_source, device=str(self._execution_device),
                        dtype=str(self.unet.dtype).removeprefix("torch."), scheduler="DDIM", eta=eta)
        return AMGOutput(frames=video, condition=frames, weights_status=self.weights_status, settings=settings,
                         seconds=time.perf_counter() - start)

    def _generate(self, prompt, negative_prompt, frames, steps, guidance_scale, avatar_guidance_scale, generator,
                  eta, latents, clock) -> np.ndarray:
        device = self._execution_device
        dual = avatar_guidance_scale is not None
        text_cfg = dual or guidance_scale > 1.0

        clock.begin("encoding condition", clock.units["encoding condition"])
        z_a = self.encode_condition(frames, on_chunk=lambda i, n: clock.tick("encoding condition", i, n))

        text, negative = self.encode_prompt(prompt, device, 1, text_cfg, negative_prompt or None)
        # Guidance branches, stacked on the batch axis: (text embedding, condition latent).
        no_avatar = torch.zeros_like(z_a)
        if dual:
            embeds, cond = [negative, negative, text], [no_avatar, z_a, z_a]
        elif text_cfg:
            embeds, cond = [negative, text], [z_a, z_a]
        else:
            embeds, cond = [text], [z_a]
        embeds, cond = torch.cat(embeds), torch.cat(cond).to(self.unet.dtype)  # (n, L, D), (n, C, T, h, w)
        branches = len(embeds)

        self.scheduler.set_timesteps(steps, device=device)
        latents = self.prepare_latents(1, self.vae.config.latent_channels, frames.shape[0], frames.shape[1],
                                       frames.shape[2], embeds.dtype, device, generator, latents)
        extra = self.prepare_extra_step_kwargs(generator, eta)
        clock.begin("denoising", steps)

        for i, timestep in enumerate(self.scheduler.timesteps):
            clock.check()
            z_t = self.scheduler.scale_model_input(latents.expand(branches, -1, -1, -1, -1), timestep)
            noise = self.unet(torch.cat([z_t, cond], dim=1), timestep, encoder_hidden_states=embeds,
                              return_dict=False)[0]  # (n, 4, T, h, w)
            if dual:
                e_none, e_avatar, e_full = noise.chunk(3)
                noise = (e_none + avatar_guidance_scale * (e_avatar - e_none)
                         + guidance_scale * (e_full - e_avatar))
            elif text_cfg:
                e_uncond, e_text = noise.chunk(2)
                noise = e_uncond + guidance_scale * (e_text - e_uncond)
            # The scheduler works on images: frames go to the batch axis and back.
            b, c, f, lh, lw = latents.shape
            latents = self.scheduler.step(noise.permute(0, 2, 1, 3, 4).reshape(b * f, c, lh, lw), timestep,
                                          latents.permute(0, 2, 1, 3, 4).reshape(b * f, c, lh, lw),
                                          **extra).prev_sample
            latents = latents.reshape(b, f, c, lh, lw).permute(0, 2, 1, 3, 4)
            clock.tick("denoising", i + 1, steps)

        chunks = latents.split(self.vae_chunk_frames, dim=2)
        clock.begin("decoding", len(chunks))
        decoded = []
        for i, chunk in enumerate(chunks):
            clock.check()
            decoded.append(self.decode_latents(chunk))  # (1, 3, t, H, W) float
            clock.tick("decoding", i + 1, len(chunks))
        video = self.video_processor.postprocess_video(torch.cat(decoded, dim=2), output_type="np")[0]
        self.maybe_free_model_hooks()
        return (video * 255.0).round().clip(0, 255).astype(np.uint8)  # (T, H, W, 3)


# ---- helpers ---------------------------------------------------------------------------------
class _Clock:
    """Progress reports with a time-left estimate, and the cancellation check."""

    def __init__(self, start, callback, should_cancel, steps, vae_chunks):
        self.start, self.callback, self.should_cancel = start, callback, should_cancel
        self.units = {"encoding condition": vae_chunks, "denoising": steps, "decoding": vae_chunks}
        self.seconds_per_unit: dict[str, float] = {}
        self.stage_began = start

    def check(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise GenerationCancelled("generation cancelled")

    def begin(self, stage: str, total: int) -> None:
        """Report that a stage starts (step 0), so a progress bar can open before its first unit."""
        self.check()
        self.stage_began = time.perf_counter()
        if self.callback is not None:
            left = None  # only decoding can be estimated before it starts (from the encoder's time)
            if stage == "decoding" and "encoding condition" in self.seconds_per_unit:
                left = 2.0 * self.seconds_per_unit["encoding condition"] * total
            self.callback(GenerationProgress(stage, 0, total, self.stage_began - self.start, left))

    def tick(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self.seconds_per_unit[stage] = (now - self.stage_began) / done
        if self.callback is not None:
            self.callback(GenerationProgress(stage, done, total, now - self.start, self._left(stage, done, total)))
        self.check()

    def _left(self, stage: str, done: int, total: int) -> float | None:
        later = self._later(stage)
        return None if later is None else later + self.seconds_per_unit[stage] * (total - done)

    def _later(self, stage: str) -> float | None:
        """Seconds the stages after `stage` will take (None while denoising is not timed)."""
        order, left = list(self.units), 0.0
        for later in order[order.index(stage) + 1:]:
            if later in self.seconds_per_unit:
                per = self.seconds_per_unit[later]
            elif later == "decoding" and "encoding condition" in self.seconds_per_unit:
                per = 2.0 * self.seconds_per_unit["encoding condition"]  # the VAE decoder costs ~2x its encoder
            else:
                return None  # denoising not timed yet
            left += per * self.units[later]
        return left


def _check_settings(prompt, negative_prompt, steps, guidance_scale, avatar_guidance_scale, max_steps) -> None:
    if not isinstance(prompt, str) or not prompt.strip():
        raise AmgError("prompt: empty; describe the video (e.g. 'two people dance on a beach at sunset')")
    if negative_prompt is not None and not isinstance(negative_prompt, str):
        raise AmgError(f"negative prompt: must be text, got {type(negative_prompt).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= min(max_steps, MAX_STEPS):
        raise AmgError(f"steps: {steps!r}; must be a whole number from 1 to {min(max_steps, MAX_STEPS)} "
                       "(20 is the paper's DDIM setting)")
    for name, v in (("guidance scale", guidance_scale), ("avatar guidance scale", avatar_guidance_scale)):
        if v is None and name.startswith("avatar"):
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= 100:
            raise AmgError(f"{name}: {v!r}; must be a number from 0 to 100 (typical: 5 to 12)")


def check_settings(prompt: str, negative_prompt: str | None = None, num_inference_steps: int = 20,
                   guidance_scale: float = 9.0, avatar_guidance_scale: float | None = None) -> None:
    """Validate generation settings before any slow work (the CLI calls this before rendering)."""
    _check_settings(prompt, negative_prompt, num_inference_steps, guidance_scale, avatar_guidance_scale, MAX_STEPS)


def _out_of_memory(error: BaseException, t: int, h: int, w: int) -> AmgError:
    return AmgError(f"out of memory generating {t} frames at {w}x{h} ({type(error).__name__}); try fewer frames "
                    "or a smaller size, enable attention/VAE slicing (load_pipeline(..., low_memory=True), "
                    "--low-memory), or use a GPU with more memory")


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise AmgError(f"device: '{device}' is not a device; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise AmgError("device: cuda requested, but this PyTorch sees no CUDA GPU "
                       f"(torch {torch.__version__}); use --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise AmgError(f"device: '{device}' is not supported; use cpu or cuda")
    return device


def resolve_dtype(device: torch.device, dtype: torch.dtype | str | None) -> torch.dtype:
    """fp16 by default on CUDA (bf16 on request); fp32 on CPU, where half precision is slow."""
    if isinstance(dtype, str):
        names = {"fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16, "float16": torch.float16,
                 "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}
        if dtype not in names:
            raise AmgError(f"dtype: '{dtype}' is not one of fp32, fp16, bf16")
        dtype = names[dtype]
    if dtype is None:
        return torch.float16 if device.type == "cuda" else torch.float32
    if device.type == "cpu" and dtype != torch.float32:
        raise AmgError(f"dtype: {str(dtype).removeprefix('torch.')} on the CPU is not supported "
                       "(bf16 measured ~9x slower than fp32 here); use fp32 on the CPU")
    return dtype


__all__ = ["AMGPipeline", "AMGOutput", "GenerationProgress", "GenerationCancelled", "WeightsStatus",
           "check_settings"]
