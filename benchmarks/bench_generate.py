"""Benchmark of `AMGPipeline` (amg.model): its cost per denoising step against the bare UNet
forward it wraps, and its peak memory against diffusers' stock TextToVideoSDPipeline on
the same weights.

    python benchmarks/bench_generate.py                 # tiny model, 16 frames at 256x256 (a minute or two)
    python benchmarks/bench_generate.py --full          # + the full-size ModelScope architecture, random
                                                        #   weights, ONE step (~10 min and ~8 GiB on a CPU)

Each configuration runs in its own process, so peak RSS (ru_maxrss) belongs to it alone.
Per-step overhead is measured two ways: inside the pipeline (step time vs the time of the
UNet call within that same step, robust to a busy machine), and against separate bare
UNet forwards of the same inputs. Figures are printed; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

RESULT = "RESULT "


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _condition(frames: int, size: int):
    import numpy as np

    video = np.zeros((frames, size, size, 3), np.uint8)
    for i in range(frames):  # a "person" crossing the frame
        x = size // 4 + i * size // (2 * frames)
        video[i, size // 4: 3 * size // 4, x: x + size // 8] = (230, 200, 40)
    return video


def worker_ours(model: str, steps: int, frames: int, size: int, bare: int) -> dict:
    import torch

    from amg.model import load_pipeline

    t0 = time.perf_counter()
    pipe = load_pipeline(model, device="cpu")
    load_s, rss_loaded = time.perf_counter() - t0, _rss_mib()
    unet_times, starts, calls = [], [], []

    def before(module, args, kwargs):
        if not calls:  # keep the first step's exact inputs for the bare-forward timing below
            calls.append((args, kwargs))
        starts.append(time.perf_counter())

    pipe.unet.register_forward_pre_hook(before, with_kwargs=True)
    pipe.unet.register_forward_hook(lambda m, a, o: unet_times.append(time.perf_counter() - starts[-1]))
    events = []
    out = pipe("a woman in a yellow dress dances on a beach at sunset", _condition(frames, size),
               num_inference_steps=steps, guidance_scale=9.0, generator=torch.Generator().manual_seed(0),
               callback=lambda p: events.append((p.stage, p.step, time.perf_counter())))
    rss_peak = _rss_mib()
    stamps = {(s, k): t for s, k, t in events}
    step_times = [stamps[("denoising", i + 1)] - stamps[("denoising", i)] for i in range(steps)]
    stage_s = {s: stamps[(s, n)] - stamps[(s, 0)] for s, n in
               (("encoding condition", max(k for st, k, _ in events if st == "encoding condition")),
                ("decoding", max(k for st, k, _ in events if st == "decoding")))}

    # The bare UNet forward on the very inputs of the pipeline's first CFG step: (2, 8, T, h, w)
    # latents + condition, (2, 77, D) text. (Random inputs would mislead: std-1 random "text"
    # drives attention into denormal floats, several times slower on a CPU.)
    (x, timestep), kwargs = calls[0][0], calls[0][1]
    text = kwargs["encoder_hidden_states"]
    bare_times = []
    with torch.no_grad():
        for _ in range(bare):
            t = time.perf_counter()
            pipe.unet(x, timestep, encoder_hidden_states=text, return_dict=False)
            bare_times.append(time.perf_counter() - t)
    # The unmodified base UNet (no LoRA, 4 input channels): what the adapters cost.
    base_times = []
    if bare:
        from amg.model.weights import random_base

        base = random_base(model).unet if model in ("tiny-random", "modelscope-random") else None
        if base is not None:
            with torch.no_grad():
                for _ in range(bare):
                    t = time.perf_counter()
                    base(x[:, :4], timestep, encoder_hidden_states=text, return_dict=False)
                    base_times.append(time.perf_counter() - t)
    return dict(load_s=load_s, rss_loaded_mib=rss_loaded, rss_peak_mib=rss_peak, step_s=step_times,
                unet_in_step_s=unet_times[:steps], bare_unet_s=bare_times, base_unet_s=base_times,
                encode_s=stage_s["encoding condition"], decode_s=stage_s["decoding"], total_s=out.seconds)


def worker_stock(model: str, steps: int, frames: int, size: int) -> dict:
    import torch
    from diffusers import TextToVideoSDPipeline
    from diffusers.utils import logging

    from amg.model.weights import random_base

    logging.set_verbosity_error()  # the deprecation notice
    t0 = time.perf_counter()
    base = random_base(model)  # the same seeded weights as `ours`
    pipe = TextToVideoSDPipeline(vae=base.vae, text_encoder=base.text_encoder, tokenizer=base.tokenizer,
                                 unet=base.unet, scheduler=base.scheduler)
    pipe.set_progress_bar_config(disable=True)
    load_s, rss_loaded = time.perf_counter() - t0, _rss_mib()
    stamps = [time.perf_counter()]
    t = time.perf_counter()
    pipe("a woman in a yellow dress dances on a beach at sunset", num_frames=frames, height=size, width=size,
         num_inference_steps=steps, guidance_scale=9.0, generator=torch.Generator().manual_seed(0), output_type="np",
         callback=lambda i, ts, lat: stamps.append(time.perf_counter()))
    total = time.perf_counter() - t
    return dict(load_s=load_s, rss_loaded_mib=rss_loaded, rss_peak_mib=_rss_mib(), total_s=total,
                step_s=[b - a for a, b in zip(stamps[1:], stamps[2:])])


def run_worker(kind: str, model: str, steps: int, frames: int, size: int, bare: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--model", model, "--steps", str(steps),
           "--frames", str(frames), "--size", str(size), "--bare", str(bare)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    raise RuntimeError(f"{kind} worker failed:\n{proc.stderr[-3000:]}")


def report(title: str, model: str, steps: int, frames: int, size: int, bare: int) -> None:
    med = statistics.median
    print(f"\n== {title}: {model}, {frames} frames {size}x{size}, CFG batch 2, {steps} DDIM steps, "
          f"fp32 CPU, {os.cpu_count()} cores, torch threads {__import__('torch').get_num_threads()} ==", flush=True)
    ours = run_worker("ours", model, steps, frames, size, bare)
    stock = run_worker("stock", model, steps, frames, size, 0)
    step, in_step = ours["step_s"], ours["unet_in_step_s"]
    per_step_overhead = [s / u - 1 for s, u in zip(step, in_step)]
    print(f"our pipeline, per denoising step:     median {med(step):.4f} s  (steps: {', '.join(f'{s:.3f}' for s in step)})")
    print(f"  UNet forward inside those steps:    median {med(in_step):.4f} s")
    print(f"  overhead around the UNet (same step): median {100 * med(per_step_overhead):+.2f} %  "
          f"(total {100 * (sum(step) / sum(in_step) - 1):+.2f} %)")
    if ours["bare_unet_s"]:
        bare_med = med(ours["bare_unet_s"])
        print(f"bare AMG UNet forward, separate calls: median {bare_med:.4f} s over {len(ours['bare_unet_s'])} "
              f"-> pipeline step vs bare forward {100 * (med(step) / bare_med - 1):+.2f} %")
    if ours["base_unet_s"]:
        print(f"base UNet forward (no LoRA, 4 ch):     median {med(ours['base_unet_s']):.4f} s "
              f"-> adapters cost {100 * (med(ours['bare_unet_s']) / med(ours['base_unet_s']) - 1):+.2f} % per forward")
    print(f"stock TextToVideoSDPipeline per step:  median {med(stock['step_s']) if stock['step_s'] else float('nan'):.4f} s")
    print(f"condition encode {ours['encode_s']:.2f} s, decode {ours['decode_s']:.2f} s, whole call "
          f"{ours['total_s']:.2f} s (stock whole call {stock['total_s']:.2f} s); load {ours['load_s']:.1f} s")
    print(f"peak RSS: ours {ours['rss_peak_mib']:.0f} MiB (after loading {ours['rss_loaded_mib']:.0f}), "
          f"stock {stock['rss_peak_mib']:.0f} MiB (after loading {stock['rss_loaded_mib']:.0f}) -> "
          f"ours {100 * (ours['rss_peak_mib'] / stock['rss_peak_mib'] - 1):+.1f} % peak, generation working set "
          f"{ours['rss_peak_mib'] - ours['rss_loaded_mib']:.0f} vs {stock['rss_peak_mib'] - stock['rss_loaded_mib']:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="also run the full-size architecture once (1 step)")
    ap.add_argument("--skip-tiny", action="store_true")
    ap.add_argument("--worker", choices=("ours", "stock"), help=argparse.SUPPRESS)
    ap.add_argument("--model", default="tiny-random", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=8, help=argparse.SUPPRESS)
    ap.add_argument("--frames", type=int, default=16, help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, default=256, help=argparse.SUPPRESS)
    ap.add_argument("--bare", type=int, default=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker == "ours":
        print(RESULT + json.dumps(worker_ours(args.model, args.steps, args.frames, args.size, args.bare)))
        return
    if args.worker == "stock":
        print(RESULT + json.dumps(worker_stock(args.model, args.steps, args.frames, args.size)))
        return
    if not args.skip_tiny:
        report("tiny model", "tiny-random", steps=8, frames=16, size=256, bare=5)
    if args.full:
        report("full-size ModelScope architecture (random weights)", "modelscope-random", steps=1, frames=16,
               size=256, bare=1)


if __name__ == "__main__":
    main()
