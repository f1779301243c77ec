"""AMGPipeline: text + avatar condition video -> video (a base text-to-video model with AMG's adapters).

One pipeline over a backbone object per model family (amg/model/backbone.py): `modelscope`
(the paper's ModelScopeT2V) and `wan2.1` (Wan2.1 T2V). The denoising loop is the base
model's with one change from the paper: the denoiser's input is [z_t, z_a], the noisy
latent and the VAE-encoded avatar video concatenated on the channel axis. Guidance is
classifier-free on the text (the paper), or, with `avatar_guidance_scale`,
InstructPix2Pix-style dual guidance that weighs text against avatar:

    eps = eps(0, 0) + s_a * (eps(0, z_a) - eps(0, 0)) + s_t * (eps(y, z_a) - eps(0, z_a))

where "0" is the empty prompt / an all-zero condition latent (the base model's input).

Progress and cancellation follow diffusers: `callback_on_step_end(pipe, step, timestep,
callback_kwargs)` after each denoising step and `pipe.interrupt` (set `pipe._interrupt = True`
from a callback) stops the loop; AMG also reports every stage (condition encoding, denoising,
decoding) through `callback(GenerationProgress)` and polls `should_cancel()`. A stopped call
raises GenerationCancelled (an amg.errors.Cancelled) and decodes nothing. One call at a time
per pipeline object.
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
from diffusers.utils import BaseOutput
from diffusers.video_processor import VideoProcessor

from amg.errors import AmgError, Cancelled
from amg.progress import Progress
from amg.model import adapters as adapter_files
from amg.model import demo
from amg.model.backbone import Backbone, architecture_hash
from amg.model.condition import load_condition
from amg.model.configs import AdapterConfig, TrainingRecord
from amg.model.device import resolve_device, resolve_dtype
from amg.model.families import backbone_class
from amg.model.registry import registered_models, resolve_model
from amg.model.unet import (ConditionedConvIn, adapter_state_dict, conditioned_layer_name, load_adapter_state_dict,
                            make_conditioned)
from amg.model.weights import load_base

MAX_STEPS = 1000  # no scheduler here takes more steps than its 1000 training timesteps
#: Most steps per family before weights are loaded (DDIM's leading spacing + offset 1 stops at 999).
FAMILY_MAX_STEPS = {"modelscope": 999, "wan2.1": 1000, "wan2.1-vace": 1000}


class GenerationCancelled(Cancelled):
    """Raised between steps when `should_cancel()` returns True or `pipe.interrupt` was set."""


#: What `callback` receives (stage, step, total, seconds_left, elapsed_s).
GenerationProgress = Progress


def hub_id_for(family: str) -> str:
    """The real weights of a family's default model (for messages)."""
    default = {"modelscope": "modelscope", "wan2.1": "wan2.1-t2v-1.3b", "wan2.1-vace": "wan2.1-vace-1.3b"}[family]
    return registered_models()[default].source


@dataclass
class WeightsStatus:
    """What the weights are, in words a user can act on (shown by the CLI and the UI, stored in the MP4)."""

    base: str
    random_base: bool
    adapters: str | None = None  # folder, None when the adapters are freshly zero-initialised
    adapter_steps: int = 0
    family: str = "modelscope"

    @property
    def needs_adapters(self) -> bool:
        return self.family != "wan2.1-vace"  # VACE reads control videos as it was trained to

    @property
    def trained(self) -> bool:
        if not self.needs_adapters:
            return not self.random_base
        return not self.random_base and self.adapters is not None and self.adapter_steps > 0

    @property
    def message(self) -> str:
        hub = hub_id_for(self.family)
        get = f"download them (`hf download {hub}`) and use that folder as the model, or the hub id {hub}"
        if not self.needs_adapters:
            if self.random_base:
                return (f"UNTRAINED WEIGHTS: '{self.base}' is a random VACE model (for testing the flow): the video "
                        f"is noise, not a generation; real results need the VACE weights ({get}); no training needed")
            return f"pretrained VACE control model {self.base}: follows the control video, no adapters needed"
        how = (f"real results need the base weights ({get}) and AMG adapters trained on avatar/video pairs "
               "(an adapters folder)")
        if demo.is_demo(self.base) and self.trained:
            return f"{demo.DESCRIPTION} ({self.adapter_steps} adapter training steps)"
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
class AMGOutput(BaseOutput):
    """The pipeline's output (a diffusers BaseOutput: also indexable, `out[0]` is the frames)."""

    frames: np.ndarray  # (T, H, W, 3) uint8
    condition: np.ndarray  # (T, H, W, 3) uint8, as fed to the model
    weights_status: WeightsStatus
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0


class AMGPipeline(DiffusionPipeline):
    """Avatar-guided text-to-video generation; see the module docstring.

    Build with `AMGPipeline.from_pretrained(model, adapters=...)` or `amg.model.load_pipeline`.
    Components: vae, text_encoder, tokenizer, scheduler, and the denoiser with AMG adapters:
    `unet` (modelscope) or `transformer` (wan2.1).
    """

    model_cpu_offload_seq = "text_encoder->unet->vae"
    _optional_components = ["unet", "transformer"]
    _callback_tensor_inputs = ["latents"]

    def __init__(self, vae, text_encoder, tokenizer, unet=None, scheduler=None, transformer=None):
        super().__init__()
        denoiser = unet if unet is not None else transformer
        if denoiser is None or scheduler is None:
            raise ValueError("AMGPipeline needs a scheduler and a denoiser (unet or transformer)")
        try:
            conditioned_layer_name(denoiser)
        except ValueError:
            raise ValueError("AMGPipeline needs a denoiser with AMG adapters (AMGPipeline.from_pretrained adds "
                             "them; amg.model.unet.make_conditioned)") from None
        self.register_modules(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                              transformer=transformer, scheduler=scheduler)
        self.backbone: Backbone = backbone_class("modelscope" if unet is not None else "wan2.1")(self)
        self.model_cpu_offload_seq = self.backbone.offload_seq
        self.video_processor = VideoProcessor(do_resize=False, vae_scale_factor=self.backbone.vae_scale_factor)
        self.base_model_name = "unknown"
        self.random_base = True
        first = getattr(denoiser, self.backbone.first_layer)
        self.adapter_config = AdapterConfig(condition_channels=first.condition.in_channels)
        self.adapter_source: str | None = None
        self.adapter_training = TrainingRecord()
        self.adapters_fused = False
        self._interrupt = False

    @property
    def family(self) -> str:
        return self.backbone.family

    @property
    def denoiser(self) -> torch.nn.Module:
        return self.backbone.denoiser

    @property
    def interrupt(self) -> bool:
        return self._interrupt

    @property
    def vae_chunk_frames(self) -> int:
        """Frames per VAE call (ModelScope's 2D VAE; Wan's causal VAE always takes the whole clip)."""
        return getattr(self.backbone, "chunk_frames", 0)

    @vae_chunk_frames.setter
    def vae_chunk_frames(self, n: int) -> None:
        if hasattr(self.backbone, "chunk_frames"):
            self.backbone.chunk_frames = int(n)

    # ---- weights ------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, model: str | os.PathLike = "modelscope", adapters: str | os.PathLike | None = None, *,
                        device: str | torch.device | None = None, dtype: torch.dtype | None = None,
                        adapter_config: AdapterConfig | None = None, seed: int = 0,
                        family: str | None = None) -> "AMGPipeline":
        """Base model (a name from amg.model.registry, hub id or folder) + AMG adapters.

        With `adapters` (a folder written by `save_adapters`), their LoRA config is used and the
        base must be the architecture they were made for. Without, zero-initialised adapters
        (`adapter_config`, rank 4 by default) make the model equal to the base model. A folder
        written by `save_pretrained` loads alone: its adapters, on the base they record.
        """
        model = str(model)
        adapters = demo.default_adapters(model, adapters)  # amg-demo brings its own adapters
        if adapters is None and (Path(model) / adapter_files.CONFIG_FILE).is_file():
            adapters = model  # a saved AMG pipeline
            if not (Path(model) / "model_index.json").is_file():
                model = adapter_files.read_adapter_info(model).base_model
        ref = resolve_model(model, family)
        if ref.family not in ("modelscope", "wan2.1"):
            raise AmgError(f"model '{model}' is a {ref.family} model: it takes no AMG adapters; it runs on its own "
                           "route (amg.model.vace.VACEControl; amg.generate with that model)")
        back = backbone_class(ref.family)
        device = resolve_device(device)
        dtype = resolve_dtype(device, dtype, back.cuda_dtype)
        info = adapter_files.read_adapter_info(adapters) if adapters is not None else None
        if info is not None and info.backbone != ref.family:
            raise AmgError(f"{adapters}: these adapters were made for the {info.backbone} backbone (base model "
                           f"'{info.base_model}'), but '{model}' is a {ref.family} model; load them with "
                           f"base model '{info.base_model}'")
        variant = "fp16" if dtype == torch.float16 else None
        base = load_base(ref, dtype=dtype, variant=variant, seed=seed)
        config = info.adapter if info is not None else (adapter_config or AdapterConfig())
        if info is None and adapter_config is None:
            config = AdapterConfig(condition_channels=back.latent_channels_of(base.vae))
        with torch.random.fork_rng(devices=[]):  # LoRA's random A matrices: the same for the same seed
            torch.manual_seed(seed)
            denoiser = make_conditioned(base.parts[back.denoiser_name], config, back.first_layer,
                                        back.lora_target_pattern(config))
        pipe = cls(vae=base.vae, text_encoder=base.text_encoder, tokenizer=base.tokenizer, scheduler=base.scheduler,
                   **{back.denoiser_name: denoiser})
        pipe.base_model_name, pipe.random_base, pipe.adapter_config = base.name, base.random_weights, config
        if adapters is not None:
            pipe.load_adapters(adapters)
        return pipe.to(device)

    @property
    def base_architecture_sha256(self) -> str:
        return architecture_hash(self.family, self.denoiser.config, self.vae.config)

    def save_adapters(self, directory: str | os.PathLike, training: TrainingRecord | None = None,
                      state: dict[str, torch.Tensor] | None = None) -> Path:
        """Write LoRA + condition-conv weights and their JSON description into `directory`.
        `state`: the adapter tensors to write instead of the denoiser's own (gathered whole when
        training has sharded them, FSDP)."""
        info = adapter_files.AdapterInfo(base_model=self.base_model_name,
                                         base_architecture_sha256=self.base_architecture_sha256,
                                         adapter=self.adapter_config, training=training or self.adapter_training,
                                         backbone=self.family)
        return adapter_files.save_adapters(directory, adapter_state_dict(self.denoiser) if state is None else state,
                                           info)

    def fuse_adapters(self) -> None:
        """Merge LoRA into the attention weights for inference: the step then costs what the base
        model's does. Saving and loading adapters still work (they unfuse as needed)."""
        if not self.adapters_fused:
            self.denoiser.fuse_lora()
            self.adapters_fused = True

    def unfuse_adapters(self) -> None:
        if self.adapters_fused:
            self.denoiser.unfuse_lora()
            self.adapters_fused = False

    def save_pretrained(self, save_directory: str | os.PathLike, training: TrainingRecord | None = None,
                        include_base: bool = False) -> Path:
        """Save so that `AMGPipeline.from_pretrained(save_directory)` gives this pipeline back.

        What AMG adds to its base is what is saved by default: the adapters, with the base's
        name (hub id, folder or random-model name) they are reloaded on. `include_base=True`
        also writes the base components in diffusers' layout, making the folder self-contained.
        """
        directory = Path(save_directory)
        if include_base:
            from amg.model.weights import BaseComponents, save_base

            fused = self.adapters_fused
            self.unfuse_adapters()
            parts = {k: getattr(self, k) for k in ("vae", "text_encoder", "tokenizer", "scheduler")}
            # the base weights only: LoRA and the condition conv live in the adapter files
            parts[self.backbone.denoiser_name] = _plain_base(self.denoiser, self.backbone.first_layer)
            save_base(BaseComponents(name=self.base_model_name, family=self.family, parts=parts,
                                     random_weights=self.random_base), directory)
            if fused:
                self.fuse_adapters()
        return self.save_adapters(directory, training)

    def load_adapters(self, directory: str | os.PathLike) -> None:
        """Load adapters saved for this base architecture (refuses others, changes nothing then)."""
        info = adapter_files.read_adapter_info(directory)
        if info.backbone != self.family:
            raise AmgError(f"{directory}: these adapters were made for the {info.backbone} backbone (base model "
                           f"'{info.base_model}'); this pipeline's base '{self.base_model_name}' is {self.family}")
        adapter_files.check_base(info, directory, self.base_model_name, self.base_architecture_sha256)
        if info.adapter != self.adapter_config:
            raise AmgError(f"{directory}: adapter config {info.adapter.to_dict()} differs from this pipeline's "
                           f"{self.adapter_config.to_dict()}; load them with AMGPipeline.from_pretrained(adapters=...)")
        state = adapter_files.read_adapter_tensors(directory)
        fused = self.adapters_fused
        self.unfuse_adapters()  # new LoRA weights must not stack on merged old ones
        try:
            load_adapter_state_dict(self.denoiser, state)
        except KeyError as e:
            raise AmgError(f"{directory}: adapter weights do not match their config ({e.args[0]})") from None
        finally:
            if fused:
                self.fuse_adapters()
        self.adapter_source, self.adapter_training = str(directory), info.training

    @property
    def weights_status(self) -> WeightsStatus:
        return WeightsStatus(base=self.base_model_name, random_base=self.random_base,
                             adapters=self.adapter_source, adapter_steps=self.adapter_training.steps,
                             family=self.family)

    # ---- encoding (also used by the trainer) ----------------------------------------------
    @torch.no_grad()
    def encode_condition(self, frames: np.ndarray, on_chunk: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """(T, H, W, 3) uint8 frames (avatar video, or a training video) -> (1, C, t, h, w)
        latents, scaled like the noisy latents. `on_chunk(done, total)` after each VAE call."""
        return self.backbone.encode_video(frames, on_chunk)

    def encode_prompt(self, prompt: str, device=None, num_videos_per_prompt: int = 1,
                      do_classifier_free_guidance: bool = True, negative_prompt: str | None = None):
        """(prompt embeds (1, L, D), negative embeds or None), as the base model's pipeline makes them."""
        if num_videos_per_prompt != 1:
            raise ValueError("AMGPipeline generates one video per prompt")
        return self.backbone.encode_prompt(prompt, negative_prompt, do_classifier_free_guidance)

    # ---- generation ---------------------------------------------------------------------
    @torch.no_grad()
    def __call__(
        self,
        prompt: str,
        condition,  # (T, H, W, 3) uint8 frames, a tensor of those, or a video file path
        negative_prompt: str | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        avatar_guidance_scale: float | None = None,
        generator: torch.Generator | None = None,
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        resample_condition: bool = False,
        eta: float = 0.0,
        latents: torch.Tensor | None = None,  # (1, C, t, h, w) initial noise, instead of the generator's
        callback: Callable[[GenerationProgress], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        callback_on_step_end: Callable | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
        return_dict: bool = True,
    ) -> AMGOutput:
        """Generate a video that follows `prompt` and the avatars' motion in `condition`.

        Frames and size come from the condition unless given (then the condition must match,
        or be resampled with `resample_condition=True`); they must suit the backbone (Wan:
        4k+1 frames, sides multiples of 16). Steps and guidance default to the backbone's
        (ModelScope: 20 DDIM steps, 9.0; Wan: 50 steps, 5.0). Deterministic for a seeded generator.
        """
        start = time.perf_counter()
        bb = self.backbone
        steps = bb.default_steps if num_inference_steps is None else num_inference_steps
        guidance_scale = bb.default_guidance if guidance_scale is None else guidance_scale
        _check_settings(prompt, negative_prompt, steps, guidance_scale, avatar_guidance_scale, bb.max_steps(),
                        bb.sampler)
        tensor_inputs = callback_on_step_end_tensor_inputs or ["latents"]
        bad = [k for k in tensor_inputs if k not in self._callback_tensor_inputs]
        if bad:
            raise AmgError(f"callback_on_step_end_tensor_inputs: {bad} not in {self._callback_tensor_inputs}")
        frames = load_condition(condition, num_frames, height, width, resample=resample_condition, family=self.family)
        t, h, w = frames.shape[:3]
        self._interrupt = False
        clock = _Clock(start, callback, lambda: self._interrupt or (should_cancel is not None and should_cancel()),
                       steps, bb.video_chunks(t))
        try:
            video = self._generate(prompt, negative_prompt, frames, steps, guidance_scale, avatar_guidance_scale,
                                   generator, eta, latents, clock, callback_on_step_end, tensor_inputs)
        except (torch.OutOfMemoryError, MemoryError) as e:
            raise _out_of_memory(e, t, h, w) from None
        except RuntimeError as e:
            if "out of memory" in str(e) or "can't allocate memory" in str(e):
                raise _out_of_memory(e, t, h, w) from None
            raise
        finally:
            self.maybe_free_model_hooks()
        settings = dict(prompt=prompt, negative_prompt=negative_prompt or "", steps=steps,
                        guidance_scale=guidance_scale, avatar_guidance_scale=avatar_guidance_scale,
                        frames=t, width=w, height=h, model=self.base_model_name, backbone=self.family,
                        adapters=self.adapter_source, device=str(self._execution_device),
                        dtype=str(self.denoiser.dtype).removeprefix("torch."), scheduler=bb.sampler, eta=eta)
        out = AMGOutput(frames=video, condition=frames, weights_status=self.weights_status, settings=settings,
                        seconds=time.perf_counter() - start)
        return out if return_dict else (out.frames,)

    def _generate(self, prompt, negative_prompt, frames, steps, guidance_scale, avatar_guidance_scale, generator,
                  eta, latents, clock, callback_on_step_end, tensor_inputs) -> np.ndarray:
        bb = self.backbone
        dual = avatar_guidance_scale is not None
        text_cfg = dual or guidance_scale > 1.0

        clock.begin("encoding condition", clock.units["encoding condition"])
        z_a = bb.encode_video(frames, on_chunk=lambda i, n: clock.tick("encoding condition", i, n))
        text, negative = bb.encode_prompt(prompt, negative_prompt or None, text_cfg)
        # Guidance branches: (text embedding, condition latent) each.
        no_avatar = torch.zeros_like(z_a)
        if dual:
            branches = [(negative, no_avatar), (negative, z_a), (text, z_a)]
        elif text_cfg:
            branches = [(negative, z_a), (text, z_a)]
        else:
            branches = [(text, z_a)]
        dtype = self.denoiser.dtype
        if getattr(bb, "batch_branches", True):  # one batched forward (ModelScope, as its pipeline does)
            groups = [(torch.cat([b[0] for b in branches]), torch.cat([b[1] for b in branches]).to(dtype))]
        else:  # one forward per branch (Wan, as WanPipeline does)
            groups = [(e, c.to(dtype)) for e, c in branches]

        timesteps = bb.set_timesteps(steps)
        latents = bb.prepare_latents((1, bb.latent_channels) + tuple(z_a.shape[2:]), text.dtype, generator, latents)
        clock.begin("denoising", steps)
        for i, timestep in enumerate(timesteps):
            clock.check()
            noise = torch.cat([bb.forward(latents.expand(len(e), *latents.shape[1:]), c, timestep, e)
                               for e, c in groups])  # (branches, C, t, h, w)
            if dual:
                e_none, e_avatar, e_full = noise.chunk(3)
                noise = (e_none + avatar_guidance_scale * (e_avatar - e_none)
                         + guidance_scale * (e_full - e_avatar))
            elif text_cfg:
                e_uncond, e_text = noise.chunk(2)
                noise = e_uncond + guidance_scale * (e_text - e_uncond)
            latents = bb.step(noise, timestep, latents, generator, eta)
            if callback_on_step_end is not None:
                outputs = callback_on_step_end(self, i, timestep, {k: locals()[k] for k in tensor_inputs}) or {}
                latents = outputs.pop("latents", latents)
            clock.tick("denoising", i + 1, steps)

        n = bb.video_chunks(frames.shape[0])
        clock.begin("decoding", n)
        return bb.decode_latents(latents, on_chunk=lambda i, k: clock.tick("decoding", i, k))  # (T, H, W, 3)


def _plain_base(denoiser: torch.nn.Module, layer: str) -> torch.nn.Module:
    """A copy of the denoiser without AMG's adapters: the base architecture and weights only
    (LoRA left out, the first layer's base conv back in place), for saving in diffusers' layout."""
    state = {}
    for key, value in denoiser.state_dict().items():
        if ".lora_" in key or key.startswith(f"{layer}.condition."):
            continue
        state[key.replace(".base_layer.", ".").replace(f"{layer}.base.", f"{layer}.")] = value
    plain = type(denoiser).from_config(denoiser.config)
    plain.load_state_dict(state)
    return plain.to(denoiser.dtype)


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
            self.callback(Progress(stage, 0, total, seconds_left=left, elapsed_s=self.stage_began - self.start))

    def tick(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self.seconds_per_unit[stage] = (now - self.stage_began) / done
        if self.callback is not None:
            self.callback(Progress(stage, done, total, seconds_left=self._left(stage, done, total),
                                   elapsed_s=now - self.start))
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


def _check_settings(prompt, negative_prompt, steps, guidance_scale, avatar_guidance_scale, max_steps,
                    sampler: str = "DDIM") -> None:
    if not isinstance(prompt, str) or not prompt.strip():
        raise AmgError("prompt: empty; describe the video (e.g. 'two people dance on a beach at sunset')")
    if negative_prompt is not None and not isinstance(negative_prompt, str):
        raise AmgError(f"negative prompt: must be text, got {type(negative_prompt).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= min(max_steps, MAX_STEPS):
        raise AmgError(f"steps: {steps!r}; must be a whole number from 1 to {min(max_steps, MAX_STEPS)} for "
                       f"{sampler} (20 is the paper's DDIM setting; Wan uses 50)")
    for name, v in (("guidance scale", guidance_scale), ("avatar guidance scale", avatar_guidance_scale)):
        if v is None and name.startswith("avatar"):
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= 100:
            raise AmgError(f"{name}: {v!r}; must be a number from 0 to 100 (typical: 5 to 12)")


def check_settings(prompt: str, negative_prompt: str | None = None, num_inference_steps: int = 20,
                   guidance_scale: float = 9.0, avatar_guidance_scale: float | None = None,
                   family: str = "modelscope") -> None:
    """Validate generation settings before any slow work (the CLI calls this before rendering)."""
    _check_settings(prompt, negative_prompt, num_inference_steps, guidance_scale, avatar_guidance_scale,
                    FAMILY_MAX_STEPS[family], "DDIM" if family == "modelscope" else "flow matching")


def _out_of_memory(error: BaseException, t: int, h: int, w: int) -> AmgError:
    return AmgError(f"out of memory generating {t} frames at {w}x{h} ({type(error).__name__}); try fewer frames "
                    "or a smaller size, enable attention/VAE slicing (load_pipeline(..., low_memory=True), "
                    "low-memory mode), or use a GPU with more memory")


__all__ = ["AMGPipeline", "AMGOutput", "GenerationProgress", "GenerationCancelled", "WeightsStatus",
           "check_settings"]
