"""The `wan2.1-vace` route: avatar control with no training, through diffusers' WanVACEPipeline.

Wan2.1-VACE (Wan-AI/Wan2.1-VACE-1.3B-diffusers, 14B) was trained to follow control videos
(depth, pose, ...) and reference images. The Scene's control passes (amg.render.passes) are
exactly such videos, so with real weights the video follows the avatars, their motion and
the camera on day one. The stock pipeline runs unchanged; this wrapper adds AMG's progress,
cancellation, size rules and weights status through diffusers' `callback_on_step_end`.

    control:            (T, H, W, 3) uint8, T = 4k+1, sides multiples of 16
    reference_images:   (P, h, w, 3) uint8 avatars on white (VACE letterboxes them on white)
    conditioning_scale: float, how strongly the control steers (1.0 = as trained)
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from amg.errors import AmgError
from amg.model import configs
from amg.model.device import apply_memory_options, resolve_device, resolve_dtype
from amg.model.pipeline import (AMGOutput, GenerationCancelled, GenerationProgress, WeightsStatus, _Clock,
                                _check_settings, _out_of_memory)

DEFAULT_STEPS = 50
DEFAULT_GUIDANCE = 5.0


class VACEControl:
    """A WanVACEPipeline with AMG's call conventions (see the module docstring)."""

    family = "wan2.1-vace"

    def __init__(self, pipe, name: str, random_weights: bool):
        self.pipe, self.name, self.random_weights = pipe, name, random_weights
        pipe.set_progress_bar_config(disable=True)

    @classmethod
    def from_pretrained(cls, model: str = "wan2.1-vace-1.3b", *, device=None, dtype=None, seed: int = 0,
                        low_memory: bool = False, cpu_offload: bool = False) -> "VACEControl":
        from diffusers import WanVACEPipeline

        from amg.model.registry import resolve_model
        from amg.model.weights import load_base

        ref = resolve_model(model, "wan2.1-vace")
        device = resolve_device(device)
        dtype = resolve_dtype(device, dtype, torch.bfloat16)
        base = load_base(ref, dtype=dtype, seed=seed)
        pipe = WanVACEPipeline(**base.parts)
        if not cpu_offload:
            pipe = pipe.to(device)
        apply_memory_options(pipe, device, low_memory, cpu_offload)
        return cls(pipe, base.name, base.random_weights)

    @property
    def weights_status(self) -> WeightsStatus:
        return WeightsStatus(base=self.name, random_base=self.random_weights, family=self.family)

    @property
    def num_vace_layers(self) -> int:
        return len(self.pipe.transformer.config.vace_layers)

    def __call__(self, prompt: str, control, negative_prompt: str | None = None,
                 reference_images: np.ndarray | None = None, conditioning_scale: float = 1.0,
                 num_inference_steps: int | None = None, guidance_scale: float | None = None,
                 generator: torch.Generator | None = None, mask: np.ndarray | None = None,
                 callback: Callable[[GenerationProgress], None] | None = None,
                 should_cancel: Callable[[], bool] | None = None) -> AMGOutput:
        """Generate a video that follows `control` (a depth, pose or pose+depth pass) and the prompt.

        mask: (T, H, W) bool, True = generate (default: everywhere, the usual control mode).
        """
        from PIL import Image

        from amg.model.condition import load_condition

        start = time.perf_counter()
        steps = DEFAULT_STEPS if num_inference_steps is None else num_inference_steps
        guidance_scale = DEFAULT_GUIDANCE if guidance_scale is None else guidance_scale
        _check_settings(prompt, negative_prompt, steps, guidance_scale, None, 1000, "flow matching")
        if isinstance(conditioning_scale, bool) or not isinstance(conditioning_scale, (int, float)) \
                or not 0.0 <= conditioning_scale <= 5.0:
            raise AmgError(f"control strength: {conditioning_scale!r}; must be a number from 0 to 5 (1 = as VACE "
                           "was trained)")
        frames = load_condition(control, name="control video", family=self.family)
        t, h, w = frames.shape[:3]
        video = [Image.fromarray(f) for f in frames]
        masks = None
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (t, h, w):
                raise AmgError(f"mask: shape {mask.shape}; must be (frames, height, width) = {(t, h, w)}")
            masks = [Image.fromarray(np.where(m, 255, 0).astype(np.uint8), mode="L") for m in mask]
        refs = None
        if reference_images is not None and len(reference_images):
            refs = np.asarray(reference_images)
            if refs.ndim != 4 or refs.shape[-1] != 3 or refs.dtype != np.uint8:
                raise AmgError(f"reference images: must be (people, height, width, 3) uint8, got {refs.shape} "
                               f"{refs.dtype}")
            refs = [Image.fromarray(r) for r in refs]

        clock = _Clock(start, callback, should_cancel, steps, 1)
        clock.begin("encoding condition", 1)  # VACE encodes the control inside its call

        def on_step_end(pipe, i, timestep, tensors):
            if i == 0:
                clock.tick("encoding condition", 1, 1)
                clock.begin("denoising", steps)
            clock.tick("denoising", i + 1, steps)  # raises GenerationCancelled when asked: nothing is decoded
            if i + 1 == steps:
                clock.begin("decoding", 1)
            return {}

        try:
            out = self.pipe(prompt=prompt, negative_prompt=negative_prompt or "", video=video, mask=masks,
                            reference_images=refs, conditioning_scale=float(conditioning_scale), height=h, width=w,
                            num_frames=t, num_inference_steps=steps, guidance_scale=guidance_scale,
                            generator=generator, output_type="np", callback_on_step_end=on_step_end,
                            max_sequence_length=min(configs.WAN_MAX_SEQUENCE, self.pipe.tokenizer.model_max_length))
        except (torch.OutOfMemoryError, MemoryError) as e:
            raise _out_of_memory(e, t, h, w) from None
        except GenerationCancelled:
            self.pipe.maybe_free_model_hooks()
            raise
        clock.tick("decoding", 1, 1)
        result = (out.frames[0] * 255.0).round().clip(0, 255).astype(np.uint8)  # (T, H, W, 3)
        settings = dict(prompt=prompt, negative_prompt=negative_prompt or "", steps=steps,
                        guidance_scale=guidance_scale, control_strength=float(conditioning_scale),
                        reference_images=0 if refs is None else len(refs), frames=t, width=w, height=h,
                        model=self.name, backbone=self.family, device=str(self.pipe._execution_device),
                        dtype=str(self.pipe.transformer.dtype).removeprefix("torch."),
                        scheduler=type(self.pipe.scheduler).__name__)
        return AMGOutput(frames=result, condition=frames, weights_status=self.weights_status, settings=settings,
                         seconds=time.perf_counter() - start)
