"""Where a pipeline runs: the device, the precision, and the memory options (slicing, tiling,
model CPU offload), shared by every pipeline of amg.model (AMG's and the VACE route's)."""

from __future__ import annotations

import torch

from amg.errors import AmgError


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise AmgError(f"device: '{device}' is not a device; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise AmgError("device: cuda requested, but this PyTorch sees no CUDA GPU "
                       f"(torch {torch.__version__}); use the cpu device")
    if device.type not in ("cpu", "cuda"):
        raise AmgError(f"device: '{device}' is not supported; use cpu or cuda")
    return device


def resolve_dtype(device: torch.device, dtype: torch.dtype | str | None,
                  cuda_default: torch.dtype = torch.float16) -> torch.dtype:
    """`cuda_default` on CUDA (the backbone's: fp16 ModelScope, bf16 Wan); fp32 on CPU, where half
    precision is slow. fp64 (CPU only) is for numerical checks, e.g. that training on N processes
    gives the weights of one process exactly."""
    if isinstance(dtype, str):
        names = {"fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16, "float16": torch.float16,
                 "bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp64": torch.float64, "float64": torch.float64}
        if dtype not in names:
            raise AmgError(f"dtype: '{dtype}' is not one of fp32, fp16, bf16 (or fp64 on the CPU)")
        dtype = names[dtype]
    if dtype is None:
        return cuda_default if device.type == "cuda" else torch.float32
    if dtype == torch.float64 and device.type != "cpu":
        raise AmgError("dtype: fp64 only on the CPU (for numerical checks)")
    if device.type == "cpu" and dtype not in (torch.float32, torch.float64):
        raise AmgError(f"dtype: {str(dtype).removeprefix('torch.')} on the CPU is not supported "
                       "(bf16 measured ~9x slower than fp32 here); use fp32 on the CPU")
    return dtype


def apply_memory_options(pipe, device: torch.device, low_memory: bool, cpu_offload: bool) -> None:
    """Slicing/tiling and model CPU offload, on any of our pipelines (AMG or VACE)."""
    if low_memory:
        if hasattr(pipe, "unet") and pipe.unet is not None:
            pipe.enable_attention_slicing()
        vae = pipe.vae
        if hasattr(vae, "enable_tiling") and type(vae).__name__ == "AutoencoderKLWan":
            vae.enable_tiling()
        elif hasattr(vae, "enable_slicing"):
            vae.enable_slicing()
        if hasattr(pipe, "vae_chunk_frames") and pipe.vae_chunk_frames:
            pipe.vae_chunk_frames = 1
    if cpu_offload:
        if device.type != "cuda":
            raise AmgError("cpu offload: only on a CUDA device (it moves models between CPU and GPU)")
        pipe.enable_model_cpu_offload(device=device)
