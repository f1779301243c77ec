"""Wan2.1 at full size on a CUDA GPU: seconds per step and peak memory, random weights, bf16.

Runs on any CUDA machine (no download: the real architectures of Wan2.1-T2V-1.3B, its VACE
sibling and the umt5-xxl text encoder are built with random weights from amg.model.configs):
  1. AMGPipeline on the T2V-1.3B transformer with AMG adapters (fused), 81 frames 480x832,
     CFG: seconds per denoising step, peak GPU memory; all models on the GPU, then with
     diffusers' model CPU offload (what an 8-12 GB card needs)
  2. Wan VACE-1.3B through AMG's VACE route, pose control + 2 reference images, same size
  3. one training step of the AMG adapters (LoRA + condition conv) at full size: flow-matching
     loss, backward, AdamW; seconds and peak memory, with gradient checkpointing

Run: python benchmarks/bench_wan_gpu.py [--steps 3] [--frames 81 --height 480 --width 832] [--skip-offload]
Prints one line per measurement; exits with a message on a machine without CUDA.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

DTYPE = torch.bfloat16


def _random_parts(vace: bool) -> dict:
    """Full-size Wan components with random weights, built on the GPU in bf16 (the 5.7 B
    text encoder would need 23 GB of host memory in fp32)."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel, WanVACETransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    from amg.model import configs
    from amg.model.tokenizer import umt5_tokenizer

    torch.manual_seed(0)
    with torch.device("cuda"):
        previous = torch.get_default_dtype()
        torch.set_default_dtype(DTYPE)
        try:
            text_encoder = UMT5EncoderModel(UMT5Config(**configs.WAN_TEXT_ENCODER))
            transformer = (WanVACETransformer3DModel(**configs.WAN_TRANSFORMER, **configs.WAN_VACE_EXTRA) if vace
                           else WanTransformer3DModel(**configs.WAN_TRANSFORMER))
        finally:
            torch.set_default_dtype(previous)
        vae = AutoencoderKLWan(**configs.WAN_VAE)  # fp32, as Wan keeps it
    return dict(vae=vae.eval(), text_encoder=text_encoder.eval(), transformer=transformer.eval(),
                tokenizer=umt5_tokenizer(configs.WAN_MAX_SEQUENCE),
                scheduler=UniPCMultistepScheduler(**configs.WAN_SCHEDULER))


def _amg_pipeline(parts: dict):
    from amg.model.configs import AdapterConfig
    from amg.model.pipeline import AMGPipeline
    from amg.model.unet import make_conditioned
    from amg.model.wan import WanBackbone

    config = AdapterConfig(condition_channels=16)
    parts["transformer"] = make_conditioned(parts["transformer"], config, "patch_embedding",
                                            WanBackbone.lora_target_pattern(config))
    pipe = AMGPipeline(**parts)
    pipe.base_model_name = "wan2.1-t2v-1.3b-random"
    return pipe


def _reset():
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()


def _step_seconds(marks: list[float]) -> float:
    per = np.diff(marks)
    return float(statistics.median(per[1:] if len(per) > 2 else per))


def bench_t2v(args, offload: bool) -> None:
    _reset()
    pipe = _amg_pipeline(_random_parts(vace=False))
    pipe.fuse_adapters()
    if offload:
        pipe.to("cpu")
        pipe.enable_model_cpu_offload()
        _reset()
    frames = np.zeros((args.frames, args.height, args.width, 3), np.uint8)
    marks = []
    pipe("two people dance on a beach at sunset", frames, num_inference_steps=args.steps, guidance_scale=5.0,
         generator=torch.Generator().manual_seed(0),
         callback=lambda p: marks.append(time.perf_counter()) if p.stage == "denoising" else None)
    peak = torch.cuda.max_memory_allocated() / 2**30
    print(f"AMG on Wan2.1-T2V-1.3B (random, bf16{', model CPU offload' if offload else ''}): {args.frames}x"
          f"{args.height}x{args.width}, CFG: {_step_seconds(marks):.2f} s/step, peak GPU memory {peak:.1f} GiB")
    del pipe
    _reset()


def bench_vace(args, offload: bool) -> None:
    from diffusers import WanVACEPipeline

    from amg.model.vace import VACEControl

    _reset()
    stock = WanVACEPipeline(**_random_parts(vace=True))
    if offload:
        stock.to("cpu")
        stock.enable_model_cpu_offload()
        _reset()
    vace = VACEControl(stock, "wan2.1-vace-1.3b-random", True)
    control = np.zeros((args.frames, args.height, args.width, 3), np.uint8)
    refs = np.full((2, args.height, args.width, 3), 255, np.uint8)
    marks = []
    vace("two people dance on a beach at sunset", control, reference_images=refs, num_inference_steps=args.steps,
         generator=torch.Generator().manual_seed(0),
         callback=lambda p: marks.append(time.perf_counter()) if p.stage == "denoising" else None)
    peak = torch.cuda.max_memory_allocated() / 2**30
    print(f"Wan2.1-VACE-1.3B route (random, bf16{', model CPU offload' if offload else ''}): {args.frames}x"
          f"{args.height}x{args.width}, 2 reference images, CFG: {_step_seconds(marks):.2f} s/step, "
          f"peak GPU memory {peak:.1f} GiB")
    del vace, stock
    _reset()


def bench_training_step(args) -> None:
    _reset()
    pipe = _amg_pipeline(_random_parts(vace=False))
    pipe.text_encoder.to("cpu")  # training uses cached prompt embeddings
    transformer = pipe.transformer
    transformer.enable_gradient_checkpointing()
    transformer.train()
    params = [p for p in transformer.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    t = (args.frames - 1) // 4 + 1
    g = torch.Generator().manual_seed(0)
    z0 = torch.randn(1, 16, t, args.height // 8, args.width // 8, generator=g).to("cuda")
    z_a = torch.randn(z0.shape, generator=g).to("cuda")
    text = torch.randn(1, 512, 4096, generator=g).to("cuda", DTYPE)
    times = []
    for _ in range(3):
        torch.cuda.synchronize()
        start = time.perf_counter()
        noise = torch.randn(z0.shape, generator=g).to("cuda")
        z_t, timestep, target = pipe.backbone.training_sample(z0, noise, g)
        with torch.autocast("cuda", dtype=DTYPE):
            pred = transformer(torch.cat([z_t, z_a], 1).to(DTYPE), timestep, text, return_dict=False)[0]
        loss = torch.nn.functional.mse_loss(pred.float(), target.float())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**30
    n = sum(p.numel() for p in params) / 1e6
    print(f"AMG adapter training step on Wan2.1-T2V-1.3B ({n:.1f} M trainable, bf16 autocast, gradient "
          f"checkpointing, batch 1, {args.frames}x{args.height}x{args.width}): {statistics.median(times[1:]):.2f} "
          f"s/step, peak GPU memory {peak:.1f} GiB")
    del pipe, transformer, optimizer
    _reset()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=832)
    parser.add_argument("--skip-offload", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(f"bench_wan_gpu: no CUDA GPU visible to torch {torch.__version__}; run it on a CUDA machine "
              "(pip install a CUDA build of torch first)")
        return
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    for offload in (False,) if args.skip_offload else (False, True):
        bench_t2v(args, offload)
        bench_vace(args, offload)
    bench_training_step(args)


if __name__ == "__main__":
    main()
