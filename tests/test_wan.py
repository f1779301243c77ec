"""Wan2.1 backbone and the VACE route: tiny random models of the real architectures, CPU."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from amg.errors import AmgError
from amg.model import AdapterConfig, TrainingRecord, load_pipeline, register_model, resolve_model
from amg.model.unet import is_adapter_parameter, make_conditioned
from amg.model.weights import random_base, save_base
from tests.test_model import perturb_adapters as perturb

T, H, W = 5, 64, 64  # 4k+1 frames; 8x8 latents, 4x4 patches


def control_video(seed=0, t=T, h=H, w=W) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = np.zeros((t, h, w, 3), np.uint8)
    for i in range(t):
        frames[i, 4:h - 8, 4 + i:12 + i] = rng.integers(60, 255, 3)
    return frames


def generate(pipe, cond, seed=0, **kw):
    kw.setdefault("num_inference_steps", 2)
    return pipe("two people dance on a beach", cond, generator=torch.Generator().manual_seed(seed), **kw)


@pytest.fixture(scope="module")
def pipe():
    return load_pipeline("wan-tiny-random", device="cpu", fuse_adapters=False)


def _conditioned_transformer(seed=3):
    from amg.model.wan import WanBackbone

    config = AdapterConfig(condition_channels=16)
    return make_conditioned(random_base("wan-tiny-random", seed=seed).transformer, config, "patch_embedding",
                            WanBackbone.lora_target_pattern(config))


def test_zero_init_adapters_reproduce_the_base_transformer_exactly():
    base = random_base("wan-tiny-random", seed=3).transformer
    amg = _conditioned_transformer(seed=3)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 16, 2, 4, 4, generator=g)
    z_a = torch.randn(1, 16, 2, 4, 4, generator=g)
    text = torch.randn(1, 8, 32, generator=g)
    t = torch.tensor([500.0])
    with torch.no_grad():
        expected = base(x, t, text, return_dict=False)[0]
        ours = amg(torch.cat([x, z_a], 1), t, text, return_dict=False)[0]
    assert (ours - expected).abs().max().item() == 0.0
    lora = {n.rsplit(".lora_", 1)[0] for n, _ in amg.named_parameters() if ".lora_" in n}
    assert lora and all(n.startswith("blocks.") and ".attn1." in n or ".attn2." in n for n in lora)
    assert {n.rsplit(".", 1)[-1] for n in lora} == {"to_q", "to_k", "to_v", "0"}


def test_one_step_trains_only_lora_and_the_condition_conv_and_never_moves_base_weights(pipe):
    from amg.model.pipeline import AMGPipeline

    step_pipe = AMGPipeline.from_pretrained("wan-tiny-random", device="cpu")
    denoiser = step_pipe.transformer
    before = {n: p.detach().clone() for n, p in denoiser.named_parameters()}
    g = torch.Generator().manual_seed(0)
    z0, z_a = torch.randn(1, 16, 2, 4, 4, generator=g), torch.randn(1, 16, 2, 4, 4, generator=g)
    noise = torch.randn(z0.shape, generator=g)
    z_t, t, target = step_pipe.backbone.training_sample(z0, noise, g)
    assert torch.equal(target, noise - z0)  # flow matching: velocity noise - x0
    sigma = (t / 1000).view(-1, 1, 1, 1, 1)
    assert torch.allclose(z_t, (1 - sigma) * z0 + sigma * noise)
    text, _ = step_pipe.encode_prompt("a man jumps", do_classifier_free_guidance=False)
    # every parameter in the optimiser, with weight decay: frozen ones must still not move
    optimizer = torch.optim.AdamW(denoiser.parameters(), lr=1e-2, weight_decay=0.1)
    pred = denoiser(torch.cat([z_t, z_a], 1), t, text, return_dict=False)[0]
    torch.nn.functional.mse_loss(pred, target).backward()
    with_grad = {n for n, p in denoiser.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert with_grad and all(is_adapter_parameter(n) for n in with_grad)
    assert "patch_embedding.condition.weight" in with_grad
    assert all(".lora_B" in n or n.startswith("patch_embedding.") for n in with_grad)  # LoRA A gets none while B=0
    optimizer.step()
    for n, p in denoiser.named_parameters():
        if is_adapter_parameter(n):
            continue
        assert torch.equal(p, before[n]), n
    assert not torch.equal(denoiser.patch_embedding.condition.weight, before["patch_embedding.condition.weight"])


def test_pipeline_equals_stock_wan_at_init_and_encodes_the_whole_clip(pipe):
    from diffusers import WanPipeline

    stock = WanPipeline(tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder, vae=pipe.vae,
                        scheduler=pipe.scheduler, transformer=random_base("wan-tiny-random").transformer)
    stock.set_progress_bar_config(disable=True)
    fresh = load_pipeline("wan-tiny-random", device="cpu")
    expected = stock("two people dance on a beach", negative_prompt="", height=H, width=W, num_frames=T,
                     num_inference_steps=2, guidance_scale=5.0, generator=torch.Generator().manual_seed(0),
                     output_type="np", max_sequence_length=32).frames[0]
    expected = (expected * 255.0).round().clip(0, 255).astype(np.uint8)
    assert np.array_equal(generate(fresh, control_video()).frames, expected)
    # one VAE call for the clip: 5 frames -> 2 latent frames, and the last frame reaches the last latent
    video = control_video(t=9)
    z = pipe.encode_condition(video)
    assert z.shape == (1, 16, 3, H // 8, W // 8)
    changed = video.copy()
    changed[-1] = 255
    dz = (pipe.encode_condition(changed) - z).abs().amax(dim=(0, 1, 3, 4))
    assert dz[-1] > 0 and dz[0] == 0


def test_adapters_round_trip_exactly_and_refuse_other_backbones(tmp_path, pipe):
    perturb(pipe.transformer)
    before = generate(pipe, control_video()).frames
    pipe.save_pretrained(tmp_path / "wan-adapters", TrainingRecord(steps=3))
    meta = json.loads((tmp_path / "wan-adapters" / "amg_adapters.json").read_text())
    assert meta["backbone"] == "wan2.1" and meta["base_model"]["name"] == "wan-tiny-random"
    again = load_pipeline("wan-tiny-random", adapters=tmp_path / "wan-adapters", device="cpu", fuse_adapters=False)
    for (n, a), (_, b) in zip(sorted(again.transformer.state_dict().items()),
                              sorted(pipe.transformer.state_dict().items())):
        assert torch.equal(a, b), n
    assert np.array_equal(generate(again, control_video()).frames, before)
    from amg.model.pipeline import AMGPipeline

    alone = AMGPipeline.from_pretrained(tmp_path / "wan-adapters", device="cpu")  # save_pretrained -> from_pretrained
    assert alone.adapter_training.steps == 3 and alone.family == "wan2.1"
    pipe.save_pretrained(tmp_path / "whole", include_base=True)  # a self-contained folder in diffusers' layout
    whole = AMGPipeline.from_pretrained(tmp_path / "whole", device="cpu")
    assert not whole.random_base and np.array_equal(generate(whole, control_video()).frames, before)
    with pytest.raises(AmgError, match=r"made for the wan2\.1 backbone.*'tiny-random' is a modelscope model"):
        load_pipeline("tiny-random", adapters=tmp_path / "wan-adapters", device="cpu")
    load_pipeline("tiny-random", device="cpu").save_adapters(tmp_path / "ms-adapters")
    with pytest.raises(AmgError, match=r"made for the modelscope backbone"):
        load_pipeline("wan-tiny-random", adapters=tmp_path / "ms-adapters", device="cpu")


def test_frame_counts_and_sizes_follow_wans_rule(pipe):
    with pytest.raises(AmgError, match=r"16 frames; the wan2\.1 video model generates 4k\+1 frames.*13 or 17"):
        generate(pipe, control_video(t=16))
    with pytest.raises(AmgError, match=r"width 72 px; it must be a multiple of 16"):
        generate(pipe, control_video(w=72))
    assert generate(pipe, control_video(t=16), resample_condition=True, num_inference_steps=1).frames.shape[0] == 13


def test_model_names_resolve_in_one_place(tmp_path):
    assert resolve_model("wan2.1-t2v-1.3b").source == "Wan-AI/Wan2.1-T2V-1.3B-diffusers"
    assert resolve_model("Wan-AI/Wan2.1-VACE-1.3B-diffusers").family == "wan2.1-vace"
    assert resolve_model("tiny-random").random == "tiny"
    save_base(random_base("wan-tiny-random"), tmp_path / "wan")
    assert resolve_model(str(tmp_path / "wan")).family == "wan2.1"
    register_model("my-test-model", "modelscope", source=str(tmp_path / "ms"))
    assert resolve_model("my-test-model").family == "modelscope"
    with pytest.raises(AmgError, match=r"'wan-tiny-random' is a wan2\.1 model, but the modelscope route"):
        resolve_model("wan-tiny-random", "modelscope")
    with pytest.raises(AmgError, match=r"model 'x': its model_index.json says wan2\.1, but it was given as a modelscope"):
        from amg.model.registry import ModelRef
        from amg.model.weights import load_base

        load_base(ModelRef("x", "modelscope", str(tmp_path / "wan")))
    with pytest.raises(AmgError, match="is a wan2.1-vace model: it takes no AMG adapters"):
        load_pipeline("vace-tiny-random", device="cpu")
    local = load_pipeline(str(tmp_path / "wan"), device="cpu")  # a local Wan folder loads as Wan
    assert local.family == "wan2.1" and not local.random_base


def test_vace_follows_the_control_with_references_like_the_stock_pipeline():
    from PIL import Image

    from amg.model.vace import VACEControl

    vace = VACEControl.from_pretrained("vace-tiny-random", device="cpu")
    refs = np.full((2, H, W, 3), 255, np.uint8)
    refs[:, 8:24, 12:20] = (200, 40, 40)
    seen = []
    out = vace("two people dance", control_video(), reference_images=refs, num_inference_steps=2,
               generator=torch.Generator().manual_seed(0), callback=seen.append)
    stock = vace.pipe("two people dance", negative_prompt="", video=[Image.fromarray(f) for f in control_video()],
                      reference_images=[Image.fromarray(r) for r in refs], height=H, width=W, num_frames=T,
                      num_inference_steps=2, generator=torch.Generator().manual_seed(0), output_type="np",
                      max_sequence_length=32).frames[0]
    assert np.array_equal(out.frames, (stock * 255.0).round().clip(0, 255).astype(np.uint8))
    assert [p.step for p in seen if p.stage == "denoising"] == [0, 1, 2] and seen[-1].stage == "decoding"
    assert "UNTRAINED WEIGHTS" in out.weights_status.message and "random VACE model" in out.weights_status.message
    other = vace("two people dance", control_video(1), reference_images=refs, num_inference_steps=2,
                 generator=torch.Generator().manual_seed(0))
    assert not np.array_equal(out.frames, other.frames)  # the control reaches the model
    from amg.model import GenerationCancelled

    with pytest.raises(GenerationCancelled):
        vace("two people dance", control_video(), num_inference_steps=3, should_cancel=lambda: True)
    with pytest.raises(AmgError, match="control strength"):
        vace("x", control_video(), conditioning_scale=-1.0)


def test_training_on_wan_learns_and_caches_its_latents(tmp_path, monkeypatch):
    """`amg train --model wan-tiny-random`: flow-matching steps lower the loss on a fixed sample; clip
    latents and caption embeddings are cached on disk, so a resumed run never re-encodes."""
    from amg.video import write_mp4
    from amg.train import TrainConfig, TrainingData, train
    from amg.train.dataset import Clip

    data = TrainingData.create(tmp_path / "data", frames=T, width=W, height=H, fps=8)
    clip = Clip(id="c1", caption="a man waves")
    clip.folder(data.root).mkdir(parents=True)
    write_mp4(control_video(1), clip.video_path(data.root), 8)
    write_mp4(control_video(0), clip.condition_path(data.root), 8)
    data.add(clip)
    with pytest.raises(AmgError, match=r"its clips: 4 frames; the wan2\.1 video model generates 4k\+1"):
        other = TrainingData.create(tmp_path / "data16", frames=4, width=W, height=H, fps=8)
        train(load_pipeline("wan-tiny-random", device="cpu", fuse_adapters=False), other, tmp_path / "x",
              TrainConfig(steps=1))
    assert main_cli(["train", str(data.root), "-o", str(tmp_path / "out"), "--model", "wan-tiny-random",
                     "--steps", "3", "--lr", "1e-3", "--checkpoint-every", "2"]) == 0
    cached = list((data.root / "latent_cache").rglob("*.safetensors"))
    assert len(cached) == 2  # the clip and the empty caption
    meta = json.loads((tmp_path / "out" / "amg_adapters.json").read_text())
    assert meta["backbone"] == "wan2.1" and meta["training"]["steps"] == 3
    pipe = load_pipeline("wan-tiny-random", device="cpu", fuse_adapters=False)
    monkeypatch.setattr(pipe, "encode_condition", lambda *a, **k: pytest.fail("re-encoded a cached clip"))
    result = train(pipe, data, tmp_path / "out", TrainConfig(steps=5, learning_rate=1e-3))
    assert result.resumed_from == 3 and result.steps == 5 and all(np.isfinite(result.losses))


def main_cli(args):
    from amg.cli import main

    return main(args)
