"""Benchmark of training data preparation and adapter fine-tuning (amg.train).

    python benchmarks/bench_train.py            # clip preparation at 256x256x16; tiny model training steps
    python benchmarks/bench_train.py --full     # + the full-size ModelScope architecture (random weights),
                                                #   8 frames at 128x128, a few steps (several minutes on a CPU)

Each training configuration runs in its own process, so its peak RSS (ru_maxrss) is its own.
Needs ../shared/samples/video/mmhuman3d_single_person_demo.mp4. Figures are printed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT.parent / "shared" / "samples" / "video" / "mmhuman3d_single_person_demo.mp4"
RESULT = "RESULT "


def prepare(folder: Path, frames: int, size: int) -> tuple[float, Path]:
    from amg.motion.library import get_preset
    from amg.train import PrepareConfig, TrainingData, prepare_clip

    data = TrainingData.create(folder, frames=frames, width=size, height=size, fps=8.0)
    start = time.perf_counter()
    prepare_clip(data, VIDEO, get_preset("wave").path, "a man dribbling a basketball")
    prepare_clip(data, VIDEO, get_preset("jump").path, "a man jumps", PrepareConfig(start=1.0))
    return (time.perf_counter() - start) / 2, folder


def train_child(model: str, dataset: str, steps: int) -> None:
    import torch

    from amg.model import load_pipeline
    from amg.train import TrainConfig, TrainingData, train

    torch.set_num_threads(2)
    data = TrainingData.open(dataset)
    t0 = time.perf_counter()
    pipe = load_pipeline(model, device="cpu", fuse_adapters=False)
    load_s = time.perf_counter() - t0
    marks: dict[str, float] = {}

    def progress(p):
        marks.setdefault(f"{p.stage} {p.step}", time.perf_counter())

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        result = train(pipe, data, out, TrainConfig(steps=steps, checkpoint_every=steps, warmup_steps=1),
                       progress=progress)
        total = time.perf_counter() - t0
    encode_s = marks[f"encoding clips {len(data.clips)}"] - t0
    step_s = (marks[f"training {steps}"] - marks["training 1"]) / max(1, steps - 1)
    trainable = sum(p.numel() for p in pipe.unet.parameters() if p.requires_grad)
    print(RESULT + json.dumps(dict(model=model, load_s=load_s, encode_s=encode_s, step_s=step_s, total_s=total,
                                   trainable=trainable, loss_first=result.losses[0], loss_last=result.losses[-1],
                                   peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))


def run_child(model: str, dataset: Path, steps: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", model, str(dataset), str(steps)],
                         capture_output=True, text=True, cwd=ROOT)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(RESULT)), None)
    if line is None:
        raise SystemExit(f"{model} run failed:\n{out.stderr[-2000:]}")
    return json.loads(line[len(RESULT):])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also the full-size architecture (slow)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        train_child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    if not VIDEO.exists():
        raise SystemExit(f"{VIDEO} is absent")
    with tempfile.TemporaryDirectory() as tmp:
        per_clip, _ = prepare(Path(tmp) / "ds256", 16, 256)
        print(f"clip preparation, 16 frames at 256x256 (read + crop + avatar render + 2 MP4s): {per_clip:.2f} s/clip")
        _, small = prepare(Path(tmp) / "ds128", 8, 128)
        runs = [("tiny-random", small, 20)] + ([("modelscope-random", small, 3)] if args.full else [])
        for model, dataset, steps in runs:
            r = run_child(model, dataset, steps)
            print(f"{model}: 8 frames at 128x128, {r['trainable'] / 1e6:.2f} M trainable parameters; "
                  f"load {r['load_s']:.1f} s, encode 2 clips {r['encode_s']:.2f} s, {r['step_s']:.3f} s/step, "
                  f"peak RSS {r['peak_rss_mib']:.0f} MiB (loss {r['loss_first']:.3f} -> {r['loss_last']:.3f} "
                  f"over {steps} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
