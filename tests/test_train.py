"""Training data preparation and adapter fine-tuning, on tiny random models."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
import torch

from amg.cli import main
from amg.errors import AmgError
from amg.model import AMGPipeline
from amg.model.adapters import read_adapter_tensors
from amg.motion.library import get_preset
from amg.train import PrepareConfig, TrainConfig, TrainingCancelled, TrainingData, latest_checkpoint, prepare_clip, train


@pytest.fixture(scope="module")
def dataset(video, tmp_path_factory):
    data = TrainingData.create(tmp_path_factory.mktemp("data") / "ds", frames=8, width=64, height=64, fps=8.0)
    prepare_clip(data, video, get_preset("wave").path, "a man dribbling a basketball")
    prepare_clip(data, video, get_preset("jump").path, "a man jumps", PrepareConfig(start=1.5))
    return data


def _pipe():
    return AMGPipeline.from_pretrained("tiny-random", device="cpu")


def test_prepared_clips_are_the_footage_and_its_avatars(dataset, video):
    from amg.video import read_video

    again = TrainingData.open(dataset.root)
    assert [c.id for c in again.clips] == ["mmhuman3d_single_person_demo", "mmhuman3d_single_person_demo_2"]
    frames, cond = again.load(again.clips[0])
    assert frames.shape == cond.shape == (8, 64, 64, 3)
    # the footage: the source's frames at 8 fps, centre-cropped (1080x1920 -> its middle square)
    source, fps = read_video(video)
    mid = source[round(3 / 8 * fps)][420:1500]
    import cv2

    expect = cv2.resize(mid, (64, 64), interpolation=cv2.INTER_AREA).astype(float)
    assert np.abs(frames[3].astype(float) - expect).mean() < 12  # H.264 re-encoding, not another image
    # the condition: an avatar on black, moving
    lit = (cond.max(-1) > 40).mean(axis=(1, 2))
    assert (lit > 0.01).all() and (lit < 0.6).all()
    assert np.abs(np.diff(cond.astype(float), axis=0)).mean() > 0.1
    scene = json.loads((again.clips[0].folder(again.root) / "scene.json").read_text())
    assert scene["prompt"] == "a man dribbling a basketball" and scene["render"]["frames"] == 8


def test_bad_preparation_input_is_named_and_keeps_the_dataset(dataset, video, tmp_path):
    before = (dataset.root / "amg_dataset.json").read_text()
    with pytest.raises(AmgError, match="needs a caption"):
        prepare_clip(dataset, video, get_preset("wave").path, "  ")
    with pytest.raises(AmgError, match=r"3\.33 s long"):
        prepare_clip(dataset, video, get_preset("wave").path, "x", PrepareConfig(start=3.0))
    bad = tmp_path / "bad.npz"
    np.savez(bad, foo=np.zeros(3))
    with pytest.raises(AmgError, match="bad.npz"):
        prepare_clip(dataset, video, bad, "a man")
    with pytest.raises(AmgError, match="holds 8-frame 64x64 clips"):
        TrainingData.create(dataset.root, frames=8, width=128, height=64)
    assert (dataset.root / "amg_dataset.json").read_text() == before


def _fixed_loss(pipe, dataset) -> float:
    """Denoising loss of the first clip at fixed noise and timesteps."""
    g = torch.Generator().manual_seed(123)
    video, cond = dataset.load(dataset.clips[0])
    z0, z_a = pipe.encode_condition(video), pipe.encode_condition(cond)
    text, _ = pipe.encode_prompt(dataset.clips[0].caption, "cpu", 1, False)
    total = 0.0
    with torch.no_grad():
        for t in (100, 400, 700):
            noise = torch.randn(z0.shape, generator=g)
            z_t = pipe.scheduler.add_noise(z0, noise, torch.tensor([t]))
            pred = pipe.unet(torch.cat([z_t, z_a], 1), torch.tensor([t]), encoder_hidden_states=text).sample
            total += torch.nn.functional.mse_loss(pred, noise).item()
    return total / 3


def test_training_learns_and_writes_loadable_adapters(dataset, tmp_path):
    pipe = _pipe()
    before = _fixed_loss(pipe, dataset)
    result = train(pipe, dataset, tmp_path / "out", TrainConfig(steps=40, learning_rate=3e-3, warmup_steps=2,
                                                                 checkpoint_every=15, condition_dropout=0.0,
                                                                 caption_dropout=0.0))
    assert result.steps == 40 and len(result.losses) == 40
    assert _fixed_loss(pipe, dataset) < 0.9 * before
    tensors = read_adapter_tensors(tmp_path / "out")
    assert tensors["conv_in.condition.weight"].abs().max() > 0  # the avatar latents are now read
    assert sorted(p.name for p in (tmp_path / "out" / "checkpoints").iterdir()) == [
        "step-00000015", "step-00000030", "step-00000040"]
    loaded = AMGPipeline.from_pretrained("tiny-random", tmp_path / "out", device="cpu")
    status = loaded.weights_status
    assert status.adapter_steps == 40 and status.adapters == str(tmp_path / "out")
    out = loaded("a man jumps", dataset.load(dataset.clips[0])[1], num_inference_steps=2,
                 generator=torch.Generator().manual_seed(0))
    assert out.frames.shape == (8, 64, 64, 3)


def test_cancel_then_resume_gives_the_uninterrupted_weights(dataset, tmp_path):
    config = TrainConfig(steps=6, learning_rate=1e-3, warmup_steps=2, checkpoint_every=100)
    train(_pipe(), dataset, tmp_path / "whole", config)
    calls = []

    def stop_after_3():
        calls.append(1)
        return len(calls) > 3  # once before each step (the clips' latents are cached by the first run)

    with pytest.raises(TrainingCancelled) as info:
        train(_pipe(), dataset, tmp_path / "split", config, should_cancel=stop_after_3)
    assert info.value.step == 3 and latest_checkpoint(tmp_path / "split").name == "step-00000003"
    assert not (tmp_path / "split" / "amg_adapters.json").exists()
    # stopped before a step of its own, a run writes nothing and points at what is there
    with pytest.raises(TrainingCancelled) as info:
        train(_pipe(), dataset, tmp_path / "split", config, should_cancel=lambda: True)
    assert info.value.step == 3 and info.value.checkpoint.name == "step-00000003"
    assert [p.name for p in (tmp_path / "split" / "checkpoints").iterdir()] == ["step-00000003"]
    with pytest.raises(TrainingCancelled) as info:
        train(_pipe(), dataset, tmp_path / "fresh", config, should_cancel=lambda: True)
    assert info.value.checkpoint is None and not (tmp_path / "fresh" / "checkpoints").exists()
    resumed = train(_pipe(), dataset, tmp_path / "split", config)
    assert resumed.resumed_from == 3 and resumed.steps == 6
    a, b = read_adapter_tensors(tmp_path / "whole"), read_adapter_tensors(tmp_path / "split")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6)
    with pytest.raises(AmgError, match="already trained for 6 steps"):
        train(_pipe(), dataset, tmp_path / "split", config)


def test_training_refuses_bad_settings_and_empty_data(dataset, tmp_path):
    with pytest.raises(AmgError, match="learning rate"):
        train(_pipe(), dataset, tmp_path / "o", TrainConfig(learning_rate=5.0))
    empty = TrainingData.create(tmp_path / "empty", frames=8, width=64, height=64)
    with pytest.raises(AmgError, match="no clips"):
        train(_pipe(), empty, tmp_path / "o", TrainConfig(steps=1))
    with pytest.raises(AmgError, match="not an AMG dataset"):
        TrainingData.open(tmp_path)


def test_cli_prepares_and_trains(dataset, video, tmp_path, capsys):
    ds = tmp_path / "cli_ds"
    assert main(["data", "prepare", str(video), "--motion", "wave", "--caption", "a man waves", "-o", str(ds),
                 "--frames", "8", "--size", "64x64"]) == 0
    assert "1 clip" in capsys.readouterr().out
    assert main(["train", str(ds), "-o", str(tmp_path / "ad"), "--model", "tiny-random", "--steps", "3",
                 "--checkpoint-every", "2"]) == 0
    out = capsys.readouterr().out
    assert "3 steps" in out and "amg generate" in out
    assert main(["train", str(tmp_path / "nothing"), "-o", str(tmp_path / "ad2"), "--model", "tiny-random"]) == 2
    assert "not an AMG dataset" in capsys.readouterr().err


def test_pose_estimator_command_plugs_in(dataset, video, tmp_path):
    """An external estimator is run on the video and its motion file drives the avatars."""
    from amg.train.prepare import estimate_motion

    script = tmp_path / "estimator.py"
    script.write_text("import shutil, sys\nshutil.copy(sys.argv[1], sys.argv[2])\n")
    motion = estimate_motion(video, f"{sys.executable} {script} {get_preset('wave').path} {{out}}")
    assert motion.exists() and motion.suffix == ".npz"
    with pytest.raises(AmgError, match="must contain {out}"):
        estimate_motion(video, f"{sys.executable} {script}")
    shutil.rmtree(motion.parent)


def test_run_killed_after_its_last_checkpoint_finishes_and_damage_is_named(dataset, tmp_path):
    out = tmp_path / "run"
    config = TrainConfig(steps=4, learning_rate=1e-3, warmup_steps=1, checkpoint_every=2)
    train(_pipe(), dataset, out, config)
    final = read_adapter_tensors(out)
    # killed after the step-4 checkpoint, before the final adapters were written
    (out / "amg_adapters.json").unlink()
    (out / "amg_adapters.safetensors").unlink()
    again = train(_pipe(), dataset, out, config)
    assert again.steps == 4 and again.resumed_from == 4
    for k, v in read_adapter_tensors(out).items():
        assert torch.equal(v, final[k])
    # damaged checkpoints: refused with where to go on from, never a traceback
    state = out / "checkpoints" / "step-00000004" / "trainer_state.json"
    good = state.read_text()
    longer = TrainConfig(steps=6, learning_rate=1e-3, warmup_steps=1, checkpoint_every=2)
    for damage in (good[: len(good) // 2], good.replace('"step": 4', '"step": "one"')):
        state.write_text(damage)
        with pytest.raises(AmgError, match=r"step-00000004: this checkpoint is damaged .*resume from step 2"):
            train(_pipe(), dataset, out, longer)
    state.write_text(good)
    (out / "checkpoints" / "step-00000004" / "optimizer.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(AmgError, match="this checkpoint is damaged"):
        train(_pipe(), dataset, out, longer)
