"""The AMG video model: a base text-to-video backbone + avatar-conditioning adapters, and its pipeline.

Backbones (amg/model/backbone.py): `modelscope` (ModelScopeT2V, the paper's) and `wan2.1`
(Wan2.1 T2V 1.3B/14B); plus the training-free control route `wan2.1-vace` (amg/model/vace.py).
Model names (random test models, hub ids, folders) are resolved in amg/model/registry.py.

Python API (what the CLI and the UI use; amg.generate wraps Scene -> files):

    from amg.model import load_pipeline
    pipe = load_pipeline("tiny-random")            # wan-tiny-random, a hub id / folder; adapters="DIR"
    out = pipe(prompt="two people dance on a beach", condition=frames_or_video_path,
               num_inference_steps=20, guidance_scale=9.0, avatar_guidance_scale=None,
               generator=torch.Generator().manual_seed(0),
               callback=lambda p: print(p.stage, p.step, p.total, p.seconds_left),
               should_cancel=lambda: False)
    out.frames            # (T, H, W, 3) uint8
    out.weights_status    # .trained, .message (show it), .metadata() (MP4 tags)

`GenerationCancelled` (an amg.errors.Cancelled) is raised between steps when should_cancel()
returns True; `amg.errors.AmgError` for bad input, with a message naming the input.
"""

from __future__ import annotations

import os

import torch

from amg.model.configs import DEFAULT_MODEL, FULL_RANDOM, TINY_RANDOM, AdapterConfig, TrainingRecord
from amg.model.device import apply_memory_options, resolve_device, resolve_dtype
from amg.model.families import backbone_class
from amg.model.pipeline import (AMGOutput, AMGPipeline, GenerationCancelled, GenerationProgress, WeightsStatus,
                                check_settings)
from amg.model.registry import ModelRef, register_model, registered_models, resolve_model


def load_pipeline(model: str = DEFAULT_MODEL, adapters: str | os.PathLike | None = None,
                  device: str | torch.device | None = None, dtype: torch.dtype | str | None = None,
                  low_memory: bool = False, fuse_adapters: bool = True, cpu_offload: bool = False,
                  family: str | None = None) -> AMGPipeline:
    """An AMGPipeline on `device` ("auto": CUDA when present); fp16 (ModelScope) or bf16 (Wan) on
    CUDA, fp32 on CPU.

    `low_memory` slices attention and VAE work / tiles Wan's VAE (for small GPUs; slower).
    `cpu_offload` keeps only the running model on the GPU (diffusers' model CPU offload).
    `fuse_adapters` merges LoRA into the base weights, so a step costs what the base model's
    does; training (or editing LoRA weights) needs `fuse_adapters=False`.
    """
    device = resolve_device(device)
    ref = resolve_model(model, family)
    if ref.family in ("modelscope", "wan2.1"):
        dtype = resolve_dtype(device, dtype, backbone_class(ref.family).cuda_dtype)
    pipe = AMGPipeline.from_pretrained(model, adapters, device=device if not cpu_offload else "cpu", dtype=dtype,
                                       family=family)
    if fuse_adapters:
        pipe.fuse_adapters()
    apply_memory_options(pipe, device, low_memory, cpu_offload)
    return pipe


__all__ = ["load_pipeline", "AMGPipeline", "AMGOutput", "GenerationProgress", "GenerationCancelled",
           "WeightsStatus", "AdapterConfig", "TrainingRecord", "check_settings", "DEFAULT_MODEL", "TINY_RANDOM",
           "FULL_RANDOM", "ModelRef", "register_model", "registered_models", "resolve_model", "backbone_class"]
