"""Benchmark of training at scale (issue 14): steps/s and peak memory with 1 process and with
N processes under each accelerate engine (DDP, FSDP, DeepSpeed ZeRO-2), and the encoding time
the latent cache saves on a second run.

    python benchmarks/bench_train_scale.py                # tiny model, CPU: 1 process, then 2 with DDP and FSDP (gloo)
    python benchmarks/bench_train_scale.py --model modelscope-random --frames 16 --size 256 --device cuda \
        --processes 1 2 4 8 --gradient-checkpointing both    # on GPUs: full size, with and without checkpointing

Every run is a real `amg train` (1 process: `python -m amg train`; N: `accelerate launch
--multi_gpu --num_processes N -m amg train` for DDP, `--config_file configs/accelerate/fsdp.yaml`
or `deepspeed_zero2.yaml` for the others) on a dataset of moving-square clips
(tests/train_clips.py), each process taking batch 1 (global batch N). Steps/s is timed
between the first and the last training step (loading and encoding left out); peak memory
is the resident memory (RSS) of each training process and of the whole launched tree (with the
launcher), sampled every 0.1 s (on CUDA also torch's peak allocated memory of the main
process, from its progress lines). Under FSDP the main process also reports how many of the
denoiser's weights it held. Figures are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


CONFIGS = {"fsdp": ROOT / "configs/accelerate/fsdp.yaml", "deepspeed": ROOT / "configs/accelerate/deepspeed_zero2.yaml"}


def run_training(data: Path, out: Path, processes: int, args, checkpointing: bool, engine: str = "ddp") -> dict:
    import psutil

    common = ["amg", "train", str(data), "-o", str(out), "--model", args.model, "--steps", str(args.steps),
              "--batch-size", "1", "--lr", "1e-3", "--warmup-steps", "0", "--checkpoint-every", str(args.steps),
              "--device", args.device, "--progress-json"] + (["--gradient-checkpointing"] if checkpointing else [])
    if args.mixed_precision != "no":
        common += ["--mixed-precision", args.mixed_precision]
    if processes == 1:
        cmd = [sys.executable, "-m", *common]
    else:
        how = ["--multi_gpu"] if engine == "ddp" else ["--config_file", str(CONFIGS[engine])]
        cmd = [sys.executable, "-m", "accelerate.commands.launch", *how, "--num_processes", str(processes),
               "--num_machines", "1", "--mixed_precision", args.mixed_precision, "--dynamo_backend", "no",
               "--main_process_port", "0", "-m", *common]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(args.threads)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
    top = psutil.Process(proc.pid)
    peak_total, peak_by_pid, times, cuda_peak, done = 0, {}, {}, None, {}
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    last_sample = 0.0
    while True:
        if time.perf_counter() - last_sample > 0.1:
            last_sample = time.perf_counter()
            try:
                tree = [top] + top.children(recursive=True)
                rss = {}
                for p in tree:
                    try:
                        # under accelerate launch the top process is the launcher; the children running amg
                        # train (not the compilers DeepSpeed starts) are the training processes
                        training = processes == 1 or (p.pid != top.pid and "amg" in p.cmdline())
                        rss[p.pid] = (p.memory_info().rss, training)
                    except psutil.Error:
                        pass
                peak_total = max(peak_total, sum(r for r, _ in rss.values()))
                for pid, (r, training) in rss.items():
                    if training:
                        peak_by_pid[pid] = max(peak_by_pid.get(pid, 0), r)
            except psutil.Error:
                pass
        if sel.select(timeout=0.1):
            line = proc.stdout.readline()
            if not line:
                break
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("stage") == "training":
                times[event["step"]] = time.perf_counter()
                cuda_peak = event.get("cuda_peak_mb", cuda_peak)
            elif event.get("stage") == "done":
                done = event
        elif proc.poll() is not None:
            break
    proc.wait()
    if proc.returncode != 0 or len(times) < 2:
        raise SystemExit(f"training with {processes} process(es) ({engine}) failed (exit {proc.returncode}): "
                         f"{' '.join(cmd)}")
    first, last = min(times), max(times)
    rate = (last - first) / (times[last] - times[first])
    ranks = sorted(peak_by_pid.values(), reverse=True)
    return {"processes": processes, "engine": done.get("engine", engine), "checkpointing": checkpointing,
            "steps_per_s": rate, "samples_per_s": rate * processes, "peak_rss_total_mb": peak_total / 2**20,
            "peak_rss_per_process_mb": [r / 2**20 for r in ranks], "cuda_peak_mb": cuda_peak,
            "weights_held": done.get("weights_held")}


def cache_saving(data: Path, args) -> dict:
    """Seconds to build the latent cache of the dataset cold, then warm (a second run)."""
    import torch

    from amg.model import AMGPipeline
    from amg.train import TrainingData, build_cache

    torch.set_num_threads(args.threads)
    pipe = AMGPipeline.from_pretrained(args.cache_model or args.model,
                                       device=None if args.device == "auto" else args.device)
    dataset = TrainingData.open(data)
    shutil.rmtree(data / "latent_cache", ignore_errors=True)
    t0 = time.perf_counter()
    cold = build_cache(pipe, dataset)
    t1 = time.perf_counter()
    warm = build_cache(pipe, dataset)
    t2 = time.perf_counter()
    assert cold.encoded == len(dataset.clips) and warm.encoded == 0
    return {"clips": len(dataset.clips), "first_run_s": t1 - t0, "second_run_s": t2 - t1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny-random")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--cache-model", help="model for the cache timing (default: --model), e.g. modelscope-random")
    ap.add_argument("--cache-only", action="store_true", help="only the cache timing")
    ap.add_argument("--mixed-precision", default="no", choices=("no", "fp16", "bf16"))
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--engines", nargs="+", choices=("ddp", "fsdp", "deepspeed"), default=["ddp", "fsdp"],
                    help="accelerate engines for the runs of more than one process (default ddp fsdp)")
    ap.add_argument("--gradient-checkpointing", choices=("off", "on", "both"), default="off")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    args = ap.parse_args()

    from tests.train_clips import square_clips

    work = Path(tempfile.mkdtemp(prefix="amg-bench-scale-"))
    try:
        data = square_clips(work / "clips", n=args.clips, frames=args.frames, size=args.size).root
        print(f"model {args.model}, device {args.device}, {args.clips} clips of {args.frames} frames at "
              f"{args.size}x{args.size}, batch 1 per process, {args.threads} thread(s) per process, "
              f"{os.cpu_count()} CPU cores")
        cache = cache_saving(data, args)
        print(f"latent cache ({args.cache_model or args.model}): first run encodes {cache['clips']} clips in {cache['first_run_s']:.2f} s; "
              f"second run {cache['second_run_s']:.3f} s (hashes the clips' files, finds their shards): "
              f"{cache['first_run_s'] - cache['second_run_s']:.2f} s saved")
        modes = {"off": [False], "on": [True], "both": [False, True]}[args.gradient_checkpointing]
        if args.cache_only:
            modes = []
        for checkpointing in modes:
            for n in args.processes:
                for engine in (["one process"] if n == 1 else args.engines):
                    out = work / f"out-{n}-{engine.replace(' ', '')}-{int(checkpointing)}"
                    r = run_training(data, out, n, args, checkpointing, engine)
                    held = r["weights_held"]
                    print(f"{n} process(es), {r['engine']}{' + gradient checkpointing' if checkpointing else ''}: "
                          f"{r['steps_per_s']:.2f} steps/s ({r['samples_per_s']:.2f} samples/s), peak RSS per "
                          f"training process {' / '.join(f'{m:.0f}' for m in r['peak_rss_per_process_mb'])} MB, "
                          f"{r['peak_rss_total_mb']:.0f} MB for the whole tree (with the launcher)"
                          + (f", CUDA peak {r['cuda_peak_mb']:.0f} MB (main process)"
                             if r["cuda_peak_mb"] is not None else "")
                          + (f"; the main process held {held[0]:,} of the denoiser's {held[1]:,} weights"
                             if held and held[0] != held[1] else ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
