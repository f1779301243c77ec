"""The toy-scale base model of the synthetic experiment, and its two training stages.

The architecture is ModelScopeT2V's (diffusers `UNet3DConditionModel`, `AutoencoderKL`, a
CLIP text encoder, DDIM), at a width that trains on two CPU cores within an hour:

- the VAE (`DEMO_VAE`: three levels, 4x down-sampling, so 64x64 frames become 16x16
  latents) learns to reconstruct frames of the "real" videos and of the condition videos
  (AMG encodes both with it);
- the text-to-video base (`DEMO_UNET` + `DEMO_TEXT_ENCODER`) learns to denoise the real
  videos' latents given their captions (no condition; caption dropped 10% of the steps
  for classifier-free guidance). Then it is frozen, and AMG's adapters are trained on top
  of it by `amg.train` exactly as on a real base.

Each stage checkpoints every `checkpoint_every` steps (weights and optimiser state as
safetensors, a JSON state written last) and resumes from its newest checkpoint; the
draws of step k depend on the seed and k only, so a resumed stage repeats what an
uninterrupted one would have done.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from amg.files import atomic_write_text
from amg.model import configs
from amg.model.tokenizer import clip_tokenizer
from amg.model.unet import UNet3DWithPeft
from amg.model.weights import BaseComponents, save_base

DEMO_VAE = dict(configs.MODELSCOPE_VAE, sample_size=64, down_block_types=("DownEncoderBlock2D",) * 3,
                up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(32, 64, 64), layers_per_block=1,
                norm_num_groups=8)
# Three levels (16 -> 8 -> 4 latent pixels): the receptive field must span a whole 64 px frame for
# the backgrounds and people to come out whole; about 1.2 s per batch-8 step on 2 CPU threads.
DEMO_UNET = dict(configs.TINY_UNET, sample_size=16,
                 down_block_types=("CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "DownBlock3D"),
                 up_block_types=("UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D"),
                 block_out_channels=(32, 64, 128))
DEMO_TEXT_ENCODER = dict(configs.TINY_TEXT_ENCODER)
# v-prediction (a scheduler setting diffusers' DDIM and the trainer both honour): its loss weighs
# the clean video's errors at high noise, where only the text (and, for AMG, the avatars) can say
# what is where, far more than epsilon-prediction does; at this scale that is the difference
# between a base (and adapters) that learn layout in an hour and one that does not.
DEMO_SCHEDULER = dict(configs.MODELSCOPE_SCHEDULER, prediction_type="v_prediction")

STATE = "state.json"


def new_base(seed: int = 0) -> BaseComponents:
    """The demo architecture with seeded random weights (what the stages start from)."""
    from diffusers import AutoencoderKL, DDIMScheduler
    from transformers import CLIPTextConfig, CLIPTextModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet3DWithPeft(**DEMO_UNET)
        vae = AutoencoderKL(**DEMO_VAE)
        text_encoder = CLIPTextModel(CLIPTextConfig(**DEMO_TEXT_ENCODER))
    return BaseComponents(name="amg-demo (training)", family="modelscope",
                          parts=dict(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=clip_tokenizer(),
                                     scheduler=DDIMScheduler(**DEMO_SCHEDULER)),
                          random_weights=True)


# ---- checkpoints -------------------------------------------------------------------------------
def _save_checkpoint(folder: Path, step: int, modules: dict[str, torch.nn.Module], optimizer, losses: list[float],
                     seconds: float, ema=None) -> None:
    from safetensors.torch import save_file

    from amg.train.trainer import _flatten_optimizer

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, module in modules.items():
        save_file({k: v.detach().contiguous() for k, v in module.state_dict().items()}, tmp / f"{name}.safetensors")
    tensors, groups = _flatten_optimizer(optimizer.state_dict())
    save_file(tensors, tmp / "optimizer.safetensors")
    if ema is not None:
        save_file({str(i): p.detach().contiguous() for i, p in enumerate(ema.shadow_params)}, tmp / "ema.safetensors")
    atomic_write_text(tmp / STATE, json.dumps({"step": step, "losses": losses, "seconds": seconds,
                                               "param_groups": groups}) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def _load_checkpoint(folder: Path, modules: dict[str, torch.nn.Module], optimizer,
                     ema=None) -> tuple[int, list[float], float]:
    from safetensors.torch import load_file

    from amg.train.trainer import _load_optimizer

    for name, module in modules.items():
        module.load_state_dict(load_file(folder / f"{name}.safetensors"))
    # trainer._load_optimizer reads param_groups from trainer_state.json: give it that name.
    state = json.loads((folder / STATE).read_text(encoding="utf-8"))
    (folder / "trainer_state.json").write_text(json.dumps({"param_groups": state["param_groups"]}))
    _load_optimizer(optimizer, folder)
    if ema is not None:
        shadow = load_file(folder / "ema.safetensors")
        ema.shadow_params = [shadow[str(i)] for i in range(len(ema.shadow_params))]
        ema.optimization_step = int(state["step"])
    return int(state["step"]), list(state["losses"]), float(state["seconds"])


def _run_stage(folder: Path, steps: int, modules: dict[str, torch.nn.Module], params, lr: float,
               step_fn: Callable[[int], torch.Tensor], checkpoint_every: int, stage: str,
               progress: Callable[[str, int, int, float], None] | None, ema_decay: float | None = None,
               cosine: bool = False) -> dict:
    """The optimisation loop shared by both stages: resume, step, checkpoint, report.

    `ema_decay`: keep an exponential moving average of the weights (diffusers' EMAModel) and leave
    it in the modules at the end: a short, high-learning-rate run samples far better from its
    average than from its last step. `cosine`: decay the learning rate to a tenth by the end."""
    import math

    from diffusers.training_utils import EMAModel

    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    ema = EMAModel(params, decay=ema_decay, use_ema_warmup=True) if ema_decay else None
    checkpoint = folder / "checkpoint"
    step, losses, seconds = 0, [], 0.0
    if (checkpoint / STATE).is_file():
        step, losses, seconds = _load_checkpoint(checkpoint, modules, optimizer, ema)
    for m in modules.values():
        m.train()
    began = time.perf_counter() - seconds
    while step < steps:
        factor = min(1.0, (step + 1) / 50)  # linear warm-up over the first 50 steps
        if cosine:
            factor *= 0.1 + 0.45 * (1 + math.cos(math.pi * step / steps))
        for g in optimizer.param_groups:
            g["lr"] = lr * factor
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1_000_003 + step)
            loss = step_fn(step)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if ema is not None:
            ema.step(params)
        losses.append(round(float(loss.detach()), 6))
        step += 1
        if progress is not None:
            progress(stage, step, steps, losses[-1])
        if step % checkpoint_every == 0 or step == steps:
            _save_checkpoint(checkpoint, step, modules, optimizer, losses, time.perf_counter() - began, ema)
    if ema is not None:
        ema.copy_to(params)
    for m in modules.values():
        m.eval()
    tail = losses[-50:]
    return {"steps": step, "seconds": round(time.perf_counter() - began, 1),
            "loss_first_50": round(float(np.mean(losses[:50])), 5) if losses else None,
            "loss_last_50": round(float(np.mean(tail)), 5) if tail else None}


# ---- stage 1: the VAE --------------------------------------------------------------------------
def train_vae(vae, frames: np.ndarray, folder: Path, steps: int, batch: int = 16, lr: float = 1e-3,
              kl_weight: float = 1e-6, checkpoint_every: int = 100, progress=None) -> dict:
    """Reconstruction (MSE) + a small KL term on random frames. frames: (N, H, W, 3) uint8."""
    pixels = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (N, 3, H, W)

    def step_fn(step: int) -> torch.Tensor:
        x = pixels[torch.randint(len(pixels), (batch,))]
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample()).sample
        return torch.nn.functional.mse_loss(recon, x) + kl_weight * posterior.kl().mean()

    info = _run_stage(folder, steps, {"vae": vae}, list(vae.parameters()), lr, step_fn, checkpoint_every, "vae",
                      progress)
    with torch.no_grad():  # latents at unit variance, as diffusion expects (the SD VAE's 0.18215 rule)
        z = torch.cat([vae.encode(pixels[i:i + 64]).latent_dist.mode() for i in range(0, min(len(pixels), 512), 64)])
    vae.register_to_config(scaling_factor=float(1.0 / z.std()))
    info["scaling_factor"] = vae.config.scaling_factor
    return info


# ---- stage 2: the text-to-video base -----------------------------------------------------------
@torch.no_grad()
def encode_videos(vae, videos: np.ndarray, batch: int = 64) -> torch.Tensor:
    """(N, T, H, W, 3) uint8 -> (N, 4, T, h, w) scaled latents (posterior mean)."""
    n, t = videos.shape[:2]
    pixels = torch.from_numpy(videos.reshape(n * t, *videos.shape[2:])).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    z = torch.cat([vae.encode(pixels[i:i + batch]).latent_dist.mode() for i in range(0, len(pixels), batch)])
    z = z * vae.config.scaling_factor
    return z.reshape(n, t, *z.shape[1:]).permute(0, 2, 1, 3, 4).contiguous()


def train_base(base: BaseComponents, latents: torch.Tensor, captions: list[str], folder: Path, steps: int,
               batch: int = 4, lr: float = 1e-3, caption_dropout: float = 0.1, checkpoint_every: int = 100,
               progress=None, ema_decay: float | None = 0.999) -> dict:
    """Denoising loss of the UNet and the text encoder on (latents (N, 4, T, h, w), captions)."""
    tok = base.tokenizer(captions + [""], padding="max_length", max_length=base.tokenizer.model_max_length,
                         truncation=True, return_tensors="pt").input_ids
    ids, empty = tok[:-1], tok[-1:]
    scheduler, unet, text_encoder = base.scheduler, base.unet, base.text_encoder

    def step_fn(step: int) -> torch.Tensor:
        pick = torch.randint(len(latents), (batch,))
        z0 = latents[pick]
        text_ids = torch.where((torch.rand(batch) < caption_dropout)[:, None], empty, ids[pick])
        noise = torch.randn_like(z0)
        t = torch.randint(scheduler.config.num_train_timesteps, (batch,))
        z_t = scheduler.add_noise(z0, noise, t)
        text = text_encoder(text_ids)[0]
        pred = unet(z_t, t, encoder_hidden_states=text, return_dict=False)[0]
        target = noise if scheduler.config.prediction_type == "epsilon" else scheduler.get_velocity(z0, noise, t)
        return torch.nn.functional.mse_loss(pred, target)

    params = list(unet.parameters()) + list(text_encoder.parameters())
    return _run_stage(folder, steps, {"unet": unet, "text_encoder": text_encoder}, params, lr, step_fn,
                      checkpoint_every, "base", progress, ema_decay=ema_decay, cosine=True)


def save_demo_base(base: BaseComponents, directory: Path, half: bool = False) -> Path:
    """The trained base in diffusers' layout (`amg.model.weights.save_base`); `half` stores fp16 weights
    (half the size; they load into fp32)."""
    if half:
        import copy

        parts = {k: copy.deepcopy(v).half() if k in ("unet", "vae", "text_encoder") else v
                 for k, v in base.parts.items()}
        base = BaseComponents(name=base.name, family=base.family, parts=parts, random_weights=base.random_weights)
    return save_base(base, directory)
