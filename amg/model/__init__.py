"""The AMG video model: ModelScopeT2V + avatar-conditioning adapters, and its pipeline.

Python API (what the CLI and the UI use):

    from amg.model import load_pipeline
    pipe = load_pipeline("tiny-random")            # or a hub id / local folder, adapters="DIR"
    out = pipe(prompt="two people dance on a beach", condition=frames_or_video_path,
               num_inference_steps=20, guidance_scale=9.0, avatar_guidance_scale=None,
               generator=torch.Generator().manual_seed(0),
               callback=lambda p: print(p.stage, p.step, p.total, p.seconds_left),
               should_cancel=lambda: False)
    out.frames            # (T, H, W, 3) uint8
    out.weights_status    # .trained, .message (show it), .metadata() (MP4 tags)

`GenerationCancelled` is raised between steps when should_cancel() returns True;
`amg.errors.AmgError` for bad input, with a message naming the input.
"""

from __future__ import annotations

import os

import torch

from amg.model.configs import DEFAULT_MODEL, FULL_RANDOM, TINY_RANDOM, AdapterConfig, TrainingRecord
from amg.model.pipeline import (AMGOutput, AMGPipeline, GenerationCancelled, GenerationProgress, WeightsStatus,
                                check_settings)


def load_pipeline(model: str = DEFAULT_MODEL, adapters: str | os.PathLike | None = None,
                  device: str | torch.device | None = None, dtype: torch.dtype | str | None = None,
                  low_memory: bool = False, fuse_adapters: bool = True) -> AMGPipeline:
    """An AMGPipeline on `device` ("auto": CUDA when present), fp16 on CUDA, fp32 on CPU.

    `low_memory` slices attention and VAE work (for small GPUs; slower). `fuse_adapters`
    merges LoRA into the base weights, so a step costs what the base model's does; training
    (or editing LoRA weights) needs `fuse_adapters=False`.
    """
    from amg.model.pipeline import resolve_device, resolve_dtype

    device = resolve_device(device)
    pipe = AMGPipeline.from_pretrained(model, adapters, device=device, dtype=resolve_dtype(device, dtype))
    if fuse_adapters:
        pipe.fuse_adapters()
    if low_memory:
        pipe.enable_attention_slicing()
        pipe.vae.enable_slicing()
        pipe.vae_chunk_frames = 1
    return pipe


__all__ = ["load_pipeline", "AMGPipeline", "AMGOutput", "GenerationProgress", "GenerationCancelled",
           "WeightsStatus", "AdapterConfig", "TrainingRecord", "check_settings", "DEFAULT_MODEL", "TINY_RANDOM",
           "FULL_RANDOM"]
