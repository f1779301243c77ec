"""Training that scales (issue 14): the latent cache, data parallel through accelerate,
exact resume after SIGKILL, validation during training. Tiny random models, 4 tiny clips.

The multi-process run is a real `accelerate launch --multi_gpu --num_processes 2` (gloo on
the CPU). Its weights are compared with one process x batch 2 in fp64: in fp32, Adam turns
the rounding differences of a batch of 2 vs two batches of 1 into ~2e-5 on a few weights
that have near-zero gradients (measured), while in fp64 the two runs agree to the last bit
of the saved fp32 weights.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from amg.model import AMGPipeline
from amg.model.adapters import read_adapter_tensors
from amg.train import TrainConfig, TrainingData, build_cache, latest_checkpoint, latest_validation, read_scalars, train
from tests.train_clips import square_clips

REPO = Path(__file__).resolve().parents[1]
STEPS, EVERY, LR = 6, 2, 1e-2
ARGS = ["--model", "tiny-random", "--steps", str(STEPS), "--lr", str(LR), "--warmup-steps", "0",
        "--checkpoint-every", str(EVERY), "--device", "cpu", "--dtype", "fp64", "--keep-checkpoints", "10"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> TrainingData:
    return square_clips(tmp_path_factory.mktemp("scale") / "clips")


def _copy(data: TrainingData, dest: Path) -> TrainingData:
    shutil.copytree(data.root, dest, ignore=shutil.ignore_patterns("latent_cache"))
    return TrainingData.open(dest)


def _fp64_pipe():
    return AMGPipeline.from_pretrained("tiny-random", device="cpu", dtype=torch.float64)


@pytest.fixture(scope="module")
def reference(clips, tmp_path_factory):
    """One process x batch 2, uninterrupted: (dataset it used, its output folder, result)."""
    data = _copy(clips, tmp_path_factory.mktemp("ref") / "clips")
    out = data.root.parent / "out"
    result = train(_fp64_pipe(), data, out, TrainConfig(steps=STEPS, batch_size=2, learning_rate=LR, warmup_steps=0,
                                                        checkpoint_every=EVERY, keep_checkpoints=10))
    return data, out, result


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _assert_same_weights(a: Path, b: Path, tol: float = 1e-5):
    x, y = read_adapter_tensors(a), read_adapter_tensors(b)
    assert x.keys() == y.keys()
    worst = max((x[k] - y[k]).abs().max().item() for k in x)
    assert worst <= tol, f"adapters differ by {worst}"


def test_two_processes_batch_1_equal_one_process_batch_2(clips, reference, tmp_path):
    ref_data, ref_out, ref_result = reference
    data = _copy(clips, tmp_path / "clips")  # no cache yet: the two processes encode it together
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0",
           "-m", "amg", "train", str(data.root), "-o", str(out), "--batch-size", "1", *ARGS]
    run = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "2 process(es) (DDP), effective batch 2" in run.stdout
    # the weights really moved, and are those of one process x batch 2
    moved = read_adapter_tensors(out)["conv_in.condition.weight"].abs().max().item()
    assert moved > 100 * LR * 1e-2
    _assert_same_weights(out, ref_out)
    state = json.loads((latest_checkpoint(out) / "trainer_state.json").read_text())
    assert state["losses"] == pytest.approx(ref_result.losses, abs=1e-6)
    # each step the two ranks trained on different clips; over 2 steps every clip came once
    log = [json.loads(line) for line in (out / "logs" / "clips.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == list(range(1, STEPS + 1))
    for e in log:
        (r0,), (r1,) = e["clips_by_process"]
        assert r0 != r1
    assert sorted(log[0]["clips_by_process"][0] + log[0]["clips_by_process"][1] +
                  log[1]["clips_by_process"][0] + log[1]["clips_by_process"][1]) == [0, 1, 2, 3]
    # one set of checkpoints (the main process's), one set of logs
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [f"step-{k:08d}" for k in (2, 4, 6)]
    assert len(list((out / "logs" / "amg-train").glob("events.out.tfevents.*"))) == 1
    # the encoding was spread over both processes
    from safetensors import safe_open

    shards = sorted((data.root / "latent_cache").glob("*/square*.safetensors"))
    writers = set()
    for shard in shards:
        with safe_open(shard, "pt") as f:
            writers.add(f.metadata()["process"])
    assert len(shards) == 4 and writers == {"0", "1"}


def test_fsdp_two_processes_resume_a_checkpoint_and_equal_one_process_batch_2(clips, reference, tmp_path):
    """configs/accelerate/fsdp.yaml (FSDP2) on 2 CPU processes, resumed from the 1-process run's
    step-2 checkpoint: its full optimiser state is sharded over the ranks, 4 sharded steps follow,
    and the gathered adapters and optimiser state are those of the uninterrupted 1-process run.
    fp64 as above; 1e-6 because only the fp32 rounding of the saved tensors may differ (a sum
    order in the gradient reduce-scatter: 1 ulp of weights < 0.1 is < 1e-8), while one step at
    this learning rate moves the weights by ~1e-2."""
    from safetensors.torch import load_file

    ref_data, ref_out, ref_result = reference
    data = _copy(clips, tmp_path / "clips")
    out = tmp_path / "out"
    shutil.copytree(ref_out / "checkpoints" / f"step-{EVERY:08d}", out / "checkpoints" / f"step-{EVERY:08d}")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(REPO / "configs/accelerate/fsdp.yaml"),
           "--num_processes", "2", "--mixed_precision", "no", "--main_process_port", "0",
           "-m", "amg", "train", str(data.root), "-o", str(out), "--batch-size", "1", *ARGS]
    run = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "2 process(es) (FSDP), effective batch 2" in run.stdout and f"resumed at step {EVERY}" in run.stdout
    held = re.search(r"main process held ([\d,]+) of the denoiser's ([\d,]+) weights", run.stdout)
    held, total = (int(x.replace(",", "")) for x in held.groups())
    assert 0.4 * total < held < 0.6 * total  # really sharded: each rank holds about half
    _assert_same_weights(out, ref_out, tol=1e-6)
    for k in (4, 6):  # the checkpoints FSDP wrote: whole adapters and optimiser state, the 1-process files
        mine, theirs = (o / "checkpoints" / f"step-{k:08d}" for o in (out, ref_out))
        _assert_same_weights(mine, theirs, tol=1e-6)
        a, b = load_file(mine / "optimizer.safetensors"), load_file(theirs / "optimizer.safetensors")
        assert a.keys() == b.keys() and len(a) > 10
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=1e-6, atol=1e-9)
    state = json.loads((latest_checkpoint(out) / "trainer_state.json").read_text())
    assert state["losses"] == pytest.approx(ref_result.losses, abs=1e-6)
    log = [json.loads(line) for line in (out / "logs" / "clips.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == list(range(EVERY + 1, STEPS + 1))
    assert all(e["clips_by_process"][0] != e["clips_by_process"][1] for e in log)
    # the final adapters load (what `amg generate --adapters OUT` does) and generate as the reference's
    frames = []
    for folder in (out, ref_out, None):  # None: the base model without trained adapters
        pipe = AMGPipeline.from_pretrained("tiny-random", folder, device="cpu")
        frames.append(pipe("a square", data.load(data.clips[0])[1], num_inference_steps=2,
                           generator=torch.Generator().manual_seed(0)).frames.astype(int))
    assert np.abs(frames[0] - frames[1]).max() <= 1 and np.abs(frames[0] - frames[2]).max() > 10


def test_deepspeed_zero2_two_processes_equal_one_process_batch_2(clips, reference, tmp_path):
    """configs/accelerate/deepspeed_zero2.yaml on 2 CPU processes (DeepSpeed's CPU accelerator, gloo).
    ZeRO keeps its own fp32 master copy of the trained weights even for an fp64 model, so Adam runs
    in fp32 here: 4.4e-5 from the fp64 run was measured (DDP in fp32 showed the same 3.5e-5), hence
    1e-4, while the weights move by ~0.2 and a step at this learning rate by ~1e-2."""
    pytest.importorskip("deepspeed")
    ref_data, ref_out, ref_result = reference
    data = _copy(clips, tmp_path / "clips")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
           str(REPO / "configs/accelerate/deepspeed_zero2.yaml"), "--num_processes", "2", "--mixed_precision", "no",
           "--main_process_port", "0", "-m", "amg", "train", str(data.root), "-o", str(out), "--batch-size", "1", *ARGS]
    run = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "2 process(es) (DeepSpeed), effective batch 2" in run.stdout
    _assert_same_weights(out, ref_out, tol=1e-4)
    state = json.loads((latest_checkpoint(out) / "trainer_state.json").read_text())
    assert state["losses"] == pytest.approx(ref_result.losses, abs=1e-5)
    # DeepSpeed's own optimiser state (one shard per process) beside whole adapters; no frozen base in it
    engine = latest_checkpoint(out) / "engine" / "pytorch_model"
    assert len(list(engine.glob("zero_pp_rank_*_optim_states.pt"))) == 2
    assert (engine / "mp_rank_00_model_states.pt").stat().st_size < 2_000_000  # the whole denoiser is 10.8 MB in fp64
    _assert_same_weights(latest_checkpoint(out), out, tol=0)
    # a DeepSpeed checkpoint is not resumed by another engine (its optimiser state is DeepSpeed's)
    again = subprocess.run([sys.executable, "-m", "amg", "train", str(data.root), "-o", str(out), *ARGS[:2],
                            "--steps", str(STEPS + 2), "--device", "cpu"], env=_env(), capture_output=True, text=True)
    assert again.returncode == 2 and "written by DeepSpeed" in again.stderr


def test_gradient_accumulation_equals_the_larger_batch(reference, tmp_path):
    """1 process x batch 1 x 2 accumulated = 1 process x batch 2 (the same samples, one update per step)."""
    data, ref_out, ref_result = reference
    result = train(_fp64_pipe(), data, tmp_path / "out",
                   TrainConfig(steps=STEPS, batch_size=1, gradient_accumulation_steps=2, learning_rate=LR,
                               warmup_steps=0, checkpoint_every=STEPS))
    assert result.losses == pytest.approx(ref_result.losses, abs=1e-9)
    _assert_same_weights(tmp_path / "out", ref_out)


def test_sigkill_then_rerun_resumes_and_ends_with_the_uninterrupted_weights(reference, tmp_path):
    data, ref_out, ref_result = reference
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "amg", "train", str(data.root), "-o", str(out), "--batch-size", "2", *ARGS]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while latest_checkpoint(out) is None:
            assert proc.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # no chance to clean up
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = int(latest_checkpoint(out).name.removeprefix("step-"))
    assert killed_at < STEPS and not (out / "amg_adapters.json").exists()
    result = train(_fp64_pipe(), data, out, TrainConfig(steps=STEPS, batch_size=2, learning_rate=LR, warmup_steps=0,
                                                         checkpoint_every=EVERY, keep_checkpoints=10))
    assert result.resumed_from == killed_at and result.steps == STEPS and result.encoded_clips == 0
    _assert_same_weights(out, ref_out)
    assert result.losses == pytest.approx(ref_result.losses, abs=1e-6)
    # the log: one loss per step, the re-done steps replacing the killed run's
    loss = read_scalars(out)["loss"]
    assert [s for s, _ in loss] == list(range(1, STEPS + 1))
    assert [v for _, v in loss] == pytest.approx(ref_result.losses, abs=1e-5)


def test_second_run_encodes_nothing_and_a_changed_clip_only_itself(clips, reference, tmp_path):
    from amg.video import read_video, write_mp4

    ref_data, _, ref_result = reference
    assert ref_result.encoded_clips == 4 and ref_result.cached_clips == 0
    pipe = AMGPipeline.from_pretrained("tiny-random", device="cpu")
    data = _copy(clips, tmp_path / "clips")
    first = build_cache(pipe, data)
    assert (first.encoded, first.reused) == (4, 0)
    again = train(pipe, data, tmp_path / "out", TrainConfig(steps=1, warmup_steps=0))
    assert (again.encoded_clips, again.cached_clips) == (0, 4)
    before = {p.name: p.stat().st_mtime_ns for p in first.folder.glob("square*.safetensors")}
    old_condition = first.load(2)["condition"]
    # a new avatar video for one clip: only that clip is encoded again, its old shard goes
    clip = data.clips[2]
    frames, _ = read_video(clip.condition_path(data.root))
    write_mp4(np.ascontiguousarray(frames[:, ::-1]), clip.condition_path(data.root), data.fps)
    seen = []
    changed = build_cache(pipe, data, progress=lambda i, n: seen.append((i, n)))
    assert (changed.encoded, changed.reused) == (1, 3) and seen == [(1, 1)]
    after = {p.name: p.stat().st_mtime_ns for p in changed.folder.glob("square*.safetensors")}
    assert len(after) == 4
    assert {k: v for k, v in after.items() if not k.startswith("square2-")} == \
        {k: v for k, v in before.items() if not k.startswith("square2-")}
    assert [k for k in after if k.startswith("square2-")] != [k for k in before if k.startswith("square2-")]
    flipped = changed.load(2)["condition"]
    assert not torch.equal(flipped, old_condition)
    torch.testing.assert_close(changed.load(1)["condition"], first.load(1)["condition"])


def test_validation_writes_videos_and_motion_fidelity_at_its_steps(clips, tmp_path):
    from amg.video import read_video, write_mp4

    data = _copy(clips, tmp_path / "clips")
    out = tmp_path / "out"
    result = train(AMGPipeline.from_pretrained("tiny-random", device="cpu"), data, out,
                   TrainConfig(steps=4, batch_size=1, learning_rate=1e-3, warmup_steps=0, checkpoint_every=4,
                               validate_every=2, validation_clips=1, validation_steps=2))
    assert result.steps == 4
    # the held-out clip is never trained on
    log = [json.loads(line) for line in (out / "logs" / "clips.jsonl").read_text().splitlines()]
    assert all(3 not in e["clips_by_process"][0] for e in log)
    for step in (2, 4):
        record = json.loads((out / "validation" / f"step-{step:08d}" / "validation.json").read_text())
        (scene,) = record["scenes"]
        assert scene["clip"] == "square3" and scene["avatar"].endswith("square3/condition.mp4")
        frames, _ = read_video(scene["video"])
        assert frames.shape == (8, 64, 64, 3)
        assert scene["motion_fidelity"] is not None and 0 <= scene["motion_fidelity"] <= 100
    assert latest_validation(out)["step"] == 4
    scalars = read_scalars(out)
    assert [s for s, _ in scalars["loss"]] == [1, 2, 3, 4]
    assert [s for s, _ in scalars["validation/motion_fidelity"]] == [2, 4]
    # the same scene at the same step is the same video: fixed seeds, the exact pipeline
    pipe = AMGPipeline.from_pretrained("tiny-random", out, device="cpu")
    again = pipe("a square number 3 slides across the room", data.load(data.clips[3])[1], num_inference_steps=2,
                 generator=torch.Generator().manual_seed(0))
    saved, _ = read_video(latest_validation(out)["scenes"][0]["video"])
    write_mp4(again.frames, tmp_path / "again.mp4", data.fps)  # the same encoder: a noisy video's H.264 error too
    assert np.abs(read_video(tmp_path / "again.mp4")[0].astype(float) - saved.astype(float)).mean() < 0.5


@pytest.mark.parametrize("model", ["tiny-random", "wan-tiny-random"])
def test_gradient_checkpointing_gives_the_same_gradients(model):
    from amg.train.memory import enable_gradient_checkpointing

    def grads(checkpointed: bool) -> tuple[dict[str, torch.Tensor], int]:
        pipe = AMGPipeline.from_pretrained(model, device="cpu")
        net = pipe.denoiser
        if checkpointed:
            assert enable_gradient_checkpointing(net) >= 1
        net.train()
        inner = net.down_blocks[0].resnets[0] if pipe.family == "modelscope" else net.blocks[0].ffn
        calls = []
        inner.register_forward_hook(lambda *a: calls.append(1))
        g = torch.Generator().manual_seed(0)
        frames, width = (8, pipe.text_encoder.config.hidden_size) if pipe.family == "modelscope" else \
            (2, pipe.text_encoder.config.d_model)
        x = torch.randn(1, net.config.in_channels, frames, 8, 8, generator=g)
        text = torch.randn(1, 7, width, generator=g)
        out = net(x, torch.tensor([500.0]), encoder_hidden_states=text, return_dict=False)[0]
        out.square().mean().backward()
        return {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}, len(calls)

    (plain, once), (saved, twice) = grads(False), grads(True)
    assert (once, twice) == (1, 2)  # the block really ran again in the backward pass
    assert plain.keys() == saved.keys() and len(plain) > 10
    for k in plain:
        torch.testing.assert_close(saved[k], plain[k], rtol=1e-4, atol=1e-6)


def test_app_training_job_on_two_processes_shows_its_curves_and_validation(clips, tmp_path):
    """The Advanced tab's fine-tune with a process count: `accelerate launch` behind the job,
    then the loss curve, the validation metric and the latest validation video for its plots."""
    from app.jobs import JobRegistry
    from app.training import TrainSettings, run_training, training_plots

    data = _copy(clips, tmp_path / "clips")
    out = tmp_path / "adapters"
    settings = TrainSettings(model="tiny-random", steps=2, learning_rate=1e-3, checkpoint_every=2, processes=2,
                             validate_every=1, validation_clips=1)
    jobs = JobRegistry()
    job = jobs.wait(jobs.submit(lambda job: run_training(job, data.root, out, settings, "cpu"), owner="t",
                                kind="train"), timeout=600)
    assert job.status == "done", job.error
    assert job.result["processes"] == 2 and job.result["steps"] == 2 and len(job.result["losses"]) == 2
    shown = training_plots(out)
    assert shown["loss"]["step"].tolist() == [1, 2] and shown["motion_fidelity"]["step"].tolist() == [1, 2]
    assert shown["step"] == 2 and Path(shown["video"]).is_file() and shown["avatar"].endswith("condition.mp4")
    with pytest.raises(Exception, match="processes must be 1 to"):
        TrainSettings(processes=10_000).check()
