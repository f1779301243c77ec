"""Benchmark of `AMGPipeline` (amg.model): its cost per denoising step against the bare UNet
forward it wraps, and its peak memory against diffusers' stock TextToVideoSDPipeline on
the same weights.

    python benchmarks/bench_generate.py                 # tiny model, 16 frames at 256x256 (a minute or two)
    python benchmarks/bench_generate.py --full          # + the full-size ModelScope architecture, random
                                                        #   weights, ONE step (~10 min and ~8 GiB on a CPU)

Each configuration runs in its own process, so peak RSS (ru_maxrss) belongs to it alone.
Per-step overhead is measured two ways, both robust to a busy shared machine: inside the
pipeline (step time vs the UNet call within that same step), and against a bare UNet
forward of the same inputs run right after each step (median of the pairs). Figures are
printed; nothing is written.
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


def worker_ours(model: str, steps: int, frames: int, size: int, rounds: int) -> dict:
    import torch

    from amg.model import load_pipeline

    t0 = time.perf_counter()
    pipe = load_pipeline(model, device="cpu")
    load_s, rss_loaded = time.perf_counter() - t0, _rss_mib()
    state = {"bare": False, "resume": None}
    unet_times, starts, calls, bare_times, step_times, events = [], [], [], [], [], []

    def before(module, args, kwargs):
        if not state["bare"]:
            calls.append((args, kwargs))
            starts.append(time.perf_counter())

    def after(module, args, output):
        if not state["bare"]:
            unet_times.append(time.perf_counter() - starts[-1])

    def bare_forward(unet) -> float:
        # The UNet alone on the very inputs of the pipeline's last step: (2, 8, T, h, w) latents +
        # condition, (2, 77, D) text. (Random inputs would mislead: std-1 random "text" drives
        # attention into denormal floats, several times slower on a CPU.)
        (x, timestep), kwargs = calls[-1]
        state["bare"] = True
        with torch.no_grad():
            t = time.perf_counter()
            unet(x, timestep, encoder_hidden_states=kwargs["encoder_hidden_states"], return_dict=False)
            took = time.perf_counter() - t
        state["bare"] = False
        return took

    def on_progress(p):
        now = time.perf_counter()
        events.append((p.stage, p.step, now))
        if p.stage == "denoising" and p.step >= 1:
            # Interleaved: after each pipeline step, one bare forward of that step's inputs, so
            # both see the same load on a shared machine. The next step is timed from `resume`.
            step_times.append(now - state["resume"])
            bare_times.append(bare_forward(pipe.unet))
        state["resume"] = time.perf_counter()

    pipe.unet.register_forward_pre_hook(before, with_kwargs=True)
    pipe.unet.register_forward_hook(after)
    out = pipe("a woman in a yellow dress dances on a beach at sunset", _condition(frames, size),
               num_inference_steps=steps, guidance_scale=9.0, generator=torch.Generator().manual_seed(0),
               callback=on_progress)
    rss_peak = _rss_mib()
    stamps = {(s, k): t for s, k, t in events}
    stage_s = {s: stamps[(s, n)] - stamps[(s, 0)] for s, n in
               (("encoding condition", max(k for st, k, _ in events if st == "encoding condition")),
                ("decoding", max(k for st, k, _ in events if st == "decoding")))}

    # What fusing LoRA saves, and (tiny only: a second full-size UNet needs 5.3 GiB more) what the
    # fused AMG UNet costs against the untouched base UNet: interleaved rounds again.
    base = None
    if model == "tiny-random":
        from amg.model.weights import random_base

        base = random_base(model).unet
    fused_r, unfused_r, base_r = [], [], []
    for _ in range(rounds):
        fused_r.append(bare_forward(pipe.unet))
        pipe.unfuse_adapters()
        unfused_r.append(bare_forward(pipe.unet))
        pipe.fuse_adapters()
        if base is not None:
            (x, timestep), kwargs = calls[-1]
            with torch.no_grad():
                t = time.perf_counter()
                base(x[:, :4], timestep, encoder_hidden_states=kwargs["encoder_hidden_states"], return_dict=False)
                base_r.append(time.perf_counter() - t)
    return dict(load_s=load_s, rss_loaded_mib=rss_loaded, rss_peak_mib=rss_peak, step_s=step_times,
                unet_in_step_s=unet_times[:steps], bare_unet_s=bare_times, rounds_fused_s=fused_r,
                rounds_unfused_s=unfused_r, rounds_base_s=base_r,
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
    # A step runs from its UNet call to the step callback (only a latent concat comes before the UNet).
    unet_starts, step_ends = [], []
    pipe.unet.register_forward_pre_hook(lambda m, a: unet_starts.append(time.perf_counter()))
    t = time.perf_counter()
    pipe("a woman in a yellow dress dances on a beach at sunset", num_frames=frames, height=size, width=size,
         num_inference_steps=steps, guidance_scale=9.0, generator=torch.Generator().manual_seed(0), output_type="np",
         callback=lambda i, ts, lat: step_ends.append(time.perf_counter()))
    total = time.perf_counter() - t
    return dict(load_s=load_s, rss_loaded_mib=rss_loaded, rss_peak_mib=_rss_mib(), total_s=total,
                step_s=[b - a for a, b in zip(unet_starts, step_ends)])


def run_worker(kind: str, model: str, steps: int, frames: int, size: int, rounds: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--model", model, "--steps", str(steps),
           "--frames", str(frames), "--size", str(size), "--rounds", str(rounds)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    raise RuntimeError(f"{kind} worker failed:\n{proc.stderr[-3000:]}")


def report(title: str, model: str, steps: int, frames: int, size: int, rounds: int) -> None:
    med = statistics.median
    print(f"\n== {title}: {model}, {frames} frames {size}x{size}, CFG batch 2, {steps} DDIM steps, "
          f"fp32 CPU, {os.cpu_count()} cores, torch threads {__import__('torch').get_num_threads()} ==", flush=True)
    ours = run_worker("ours", model, steps, frames, size, rounds)
    stock = run_worker("stock", model, steps, frames, size, 0)
    step, in_step = ours["step_s"], ours["unet_in_step_s"]
    per_step_overhead = [s / u - 1 for s, u in zip(step, in_step)]
    print(f"our pipeline, per denoising step:     median {med(step):.4f} s  (steps: {', '.join(f'{s:.3f}' for s in step)})")
    print(f"  UNet forward inside those steps:    median {med(in_step):.4f} s")
    print(f"  overhead around the UNet (same step): median {100 * med(per_step_overhead):+.2f} %  "
          f"(total {100 * (sum(step) / sum(in_step) - 1):+.2f} %)")
    ratio = [s / b - 1 for s, b in zip(step, ours["bare_unet_s"])]
    print(f"bare UNet forward (fused LoRA), interleaved with those steps: median {med(ours['bare_unet_s']):.4f} s "
          f"-> pipeline step vs bare forward, median of pairs {100 * med(ratio):+.2f} %")
    if ours["rounds_unfused_s"]:
        saved = [1 - f / u for f, u in zip(ours["rounds_fused_s"], ours["rounds_unfused_s"])]
        print(f"LoRA kept as peft layers (not fused):  median {med(ours['rounds_unfused_s']):.4f} s vs fused "
              f"{med(ours['rounds_fused_s']):.4f} s -> fusing saves {100 * med(saved):.1f} % (median of pairs)")
    if ours["rounds_base_s"]:
        cost = [f / b - 1 for f, b in zip(ours["rounds_fused_s"], ours["rounds_base_s"])]
        print(f"base UNet (no adapters, 4 channels):   median {med(ours['rounds_base_s']):.4f} s -> fused AMG UNet "
              f"vs base {100 * med(cost):+.2f} % (median of pairs)")
    print(f"stock TextToVideoSDPipeline per step:  median {med(stock['step_s']):.4f} s "
          f"(steps: {', '.join(f'{s:.3f}' for s in stock['step_s'])})")
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
    ap.add_argument("--rounds", type=int, default=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker == "ours":
        print(RESULT + json.dumps(worker_ours(args.model, args.steps, args.frames, args.size, args.rounds)))
        return
    if args.worker == "stock":
        print(RESULT + json.dumps(worker_stock(args.model, args.steps, args.frames, args.size)))
        return
    if not args.skip_tiny:
        report("tiny model", "tiny-random", steps=8, frames=16, size=256, rounds=3)
    if args.full:
        report("full-size ModelScope architecture (random weights)", "modelscope-random", steps=1, frames=16,
               size=256, rounds=1)


if __name__ == "__main__":
    main()
