"""Fine-tuning AMG's adapters (LoRA + the avatar-latent conv) on a dataset of clips.

As in the paper: the base video model stays frozen; the avatar video's VAE latents are
concatenated to the noisy video latents, and the LoRA matrices and the zero-initialised
condition conv learn to follow them with the backbone's own objective (ModelScopeT2V: DDPM
noise, epsilon target; Wan2.1: flow matching, target noise - x0 at timestep 1000 sigma).
Clip latents and caption embeddings are computed once per run (UMT5-XXL is 5.7 B parameters). The avatar latents and the caption are each
dropped now and then (zeros, empty text), so generation can guide on both separately.

Every `checkpoint_every` steps a checkpoint is written under OUTPUT/checkpoints/step-N/:
the adapters, the optimiser state (safetensors, never pickle) and trainer_state.json,
written last, which marks it complete. A run given the same OUTPUT resumes from the newest
complete checkpoint and gives the same weights as an uninterrupted run (the noise of step
k is drawn from seed and k). Cancelling writes a checkpoint first. The finished adapters
are written into OUTPUT itself, ready for `amg generate --adapters OUTPUT`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from amg.errors import AmgError, Cancelled
from amg.progress import Progress
from amg.files import atomic_write_bytes, atomic_write_text
from amg.model.configs import TrainingRecord
from amg.train.dataset import TrainingData

STATE_FILE = "trainer_state.json"
MAX_BATCH = 256
OPTIMIZER_FILE = "optimizer.safetensors"


class TrainingCancelled(Cancelled):
    """Raised when `should_cancel` asked to stop; `checkpoint` is the newest one on disk, holding
    the last finished step (None: stopped before any step was ever checkpointed)."""

    def __init__(self, step: int, checkpoint: Path | None):
        where = f"; resume from {checkpoint}" if checkpoint else ""
        super().__init__(f"training cancelled after step {step}{where}")
        self.step, self.checkpoint = step, checkpoint


@dataclass
class TrainConfig:
    steps: int = 1000
    learning_rate: float = 1e-4
    warmup_steps: int = 50
    batch_size: int = 1
    condition_dropout: float = 0.1   # share of steps without the avatar latents
    caption_dropout: float = 0.1     # share of steps with an empty caption
    max_grad_norm: float = 1.0
    checkpoint_every: int = 100
    keep_checkpoints: int = 3
    seed: int = 0
    mixed_precision: str = "no"      # "no", "fp16", "bf16" (accelerate)

    def check(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise AmgError(f"training {name} must be at least 1, got {getattr(self, name)}")
        if self.batch_size > MAX_BATCH:  # each sample's latents are gathered in memory at once
            raise AmgError(f"training batch size must be at most {MAX_BATCH}, got {self.batch_size}")
        if not 0 <= self.seed < 2**31:  # seed x 1,000,003 + step must fit torch's 64-bit seed
            raise AmgError(f"training seed must be between 0 and {2**31 - 1}, got {self.seed}")
        if not (0 < self.learning_rate < 1):
            raise AmgError(f"training learning rate must be between 0 and 1, got {self.learning_rate}")
        for name in ("condition_dropout", "caption_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise AmgError(f"training {name} must be in [0, 1), got {getattr(self, name)}")
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise AmgError(f"mixed precision must be no, fp16 or bf16, got {self.mixed_precision!r}")


#: What `progress` receives (stage, step, total, seconds_left, loss): amg.progress.Progress.
TrainProgress = Progress


@dataclass
class TrainResult:
    output: Path
    steps: int
    losses: list[float]
    resumed_from: int
    seconds: float


def latest_checkpoint(output: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint under OUTPUT/checkpoints (None if there is none)."""
    folder = Path(output) / "checkpoints"
    done = [p for p in folder.glob("step-*") if p.name[5:].isdigit() and (p / STATE_FILE).is_file()] \
        if folder.is_dir() else []
    return max(done, key=lambda p: int(p.name.removeprefix("step-")), default=None)


def train(pipe, dataset: TrainingData, output: str | os.PathLike, config: TrainConfig | None = None,
          progress: Callable[[TrainProgress], None] | None = None,
          should_cancel: Callable[[], bool] | None = None) -> TrainResult:
    """Train `pipe`'s adapters (an AMGPipeline with unfused adapters) on `dataset`."""
    from accelerate import Accelerator
    from diffusers.optimization import get_scheduler

    config = config or TrainConfig()
    config.check()
    if pipe.adapters_fused:
        raise AmgError("training needs unfused adapters: load the pipeline with fuse_adapters=False")
    try:  # the backbone's frame/size rule (Wan: 4k+1 frames, sides multiples of 16), before any slow work
        pipe.backbone.rule.check(f"{dataset.root}: its clips", dataset.frames, dataset.height, dataset.width)
    except AmgError as e:
        raise AmgError(f"{e}; make a dataset of that size for this model (amg data prepare --frames N --size WxH)") \
            from None
    if not dataset.clips:
        raise AmgError(f"{dataset.root}: the dataset has no clips; add some with `amg data prepare`")
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise AmgError(f"{output}: exists and is not a folder; training writes adapters into a folder")
    start = time.perf_counter()
    report = progress or (lambda p: None)
    cancel = should_cancel or (lambda: False)

    accelerator = Accelerator(mixed_precision=config.mixed_precision, cpu=pipe.device.type == "cpu")
    step, losses = 0, []
    resume = latest_checkpoint(output)
    if resume is not None:
        step, losses = _read_state(resume)
        _loading_checkpoint(resume, lambda: pipe.load_adapters(resume))  # refuses another base model's
    if resume is not None and step == config.steps and _final_steps(output) != step:
        # killed after its last checkpoint but before the final adapters: finish what it did
        record = _record(step, losses, config, dataset)
        pipe.save_adapters(output, record)
        pipe.adapter_source, pipe.adapter_training = str(output), record
        return TrainResult(output, step, losses, step, time.perf_counter() - start)
    if step >= config.steps:
        raise AmgError(f"{output}: already trained for {step} steps (asked for {config.steps}); "
                       "ask for more steps to go on, or choose a new output folder")

    encoded = _encode_dataset(pipe, dataset, report, cancel)
    if encoded is None:  # cancelled while encoding: nothing new to save
        raise TrainingCancelled(step, resume)
    cache, empty = encoded
    unet = pipe.denoiser  # UNet3D or Wan transformer, with AMG adapters
    params = [p for p in unet.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    if resume is not None:
        _loading_checkpoint(resume, lambda: _load_optimizer(optimizer, resume))
    schedule = get_scheduler("constant_with_warmup", optimizer, num_warmup_steps=config.warmup_steps,
                             last_epoch=step - 1)  # resumed: the schedule goes on from `step`
    unet, optimizer = accelerator.prepare(unet, optimizer)
    unet.train()
    first, began = step, time.perf_counter()
    # The caller's random state is left as it was (the app runs other work in this process).
    with torch.random.fork_rng(devices=[pipe.device] if pipe.device.type == "cuda" else []):
        try:
            while step < config.steps:
                if cancel():  # a checkpoint of what this run did (none yet: the resumed one stands)
                    saved = _checkpoint(pipe, optimizer, output, step, losses, config, dataset) if step > first \
                        else resume
                    raise TrainingCancelled(step, saved)
                losses.append(_train_step(pipe, unet, optimizer, schedule, accelerator, params, cache, empty,
                                          config, step))
                step += 1
                rate = (time.perf_counter() - began) / (step - first)
                report(TrainProgress("training", step, config.steps, loss=losses[-1],
                                     seconds_left=rate * (config.steps - step)))
                if step % config.checkpoint_every == 0 or step == config.steps:
                    _checkpoint(pipe, optimizer, output, step, losses, config, dataset)
        finally:
            unet.eval()
    record = _record(step, losses, config, dataset)
    pipe.save_adapters(output, record)
    pipe.adapter_source, pipe.adapter_training = str(output), record
    return TrainResult(output, step, losses, first, time.perf_counter() - start)


def _train_step(pipe, unet, optimizer, schedule, accelerator, params, cache, empty, config: TrainConfig,
                step: int) -> float:
    """One optimiser step; returns its loss. Its draws (clips, noise, timesteps, dropout, and the
    dropout masks inside the UNet) depend on seed and step only, so a resumed run repeats
    exactly what an uninterrupted one does."""
    torch.manual_seed(config.seed * 1_000_003 + step)
    g = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
    pick = torch.randint(len(cache), (config.batch_size,), generator=g).tolist()
    z0 = torch.cat([cache[i]["video"] for i in pick])
    z_a = torch.cat([cache[i]["condition"] for i in pick])
    text = torch.cat([cache[i]["caption"] for i in pick])
    drop_a = torch.rand(len(pick), generator=g) < config.condition_dropout
    drop_t = torch.rand(len(pick), generator=g) < config.caption_dropout
    z_a = torch.where(drop_a[:, None, None, None, None], torch.zeros_like(z_a), z_a)
    text = torch.where(drop_t[:, None, None], empty.expand_as(text), text)
    noise = torch.randn(z0.shape, generator=g)
    device, dtype = pipe.device, pipe.denoiser.dtype
    z0, z_a, text, noise = z0.to(device), z_a.to(device), text.to(device), noise.to(device)
    # the backbone's objective: DDPM noise + epsilon target (ModelScope), rectified flow + noise - x0 (Wan)
    z_t, t, target = pipe.backbone.training_sample(z0, noise, g)
    with accelerator.autocast():
        pred = unet(torch.cat([z_t, z_a], dim=1).to(dtype), t, encoder_hidden_states=text.to(dtype),
                    return_dict=False)[0]
    loss = torch.nn.functional.mse_loss(pred.float(), target.float())
    if not torch.isfinite(loss):
        raise AmgError(f"training diverged at step {step + 1} (loss {loss.item()}); "
                       f"lower the learning rate (now {config.learning_rate:g}) and resume")
    accelerator.backward(loss)
    accelerator.clip_grad_norm_(params, config.max_grad_norm)
    optimizer.step()
    schedule.step()
    optimizer.zero_grad(set_to_none=True)
    return round(float(loss.item()), 6)


def _encode_dataset(pipe, dataset: TrainingData, report, cancel) -> tuple[list[dict], torch.Tensor] | None:
    """Per clip: video latents, avatar latents, caption embedding; and the empty caption's
    embedding (for caption dropout). None when cancelled.

    They are cached on disk (safetensors under DATASET/latent_cache/<base>/), keyed by the base
    model and each clip's files and caption: a second run, or a resumed one, loads them instead
    of running the VAE and the text encoder again (UMT5-XXL is 5.7 B parameters).
    """
    from safetensors.torch import load_file, save

    folder = _cache_folder(pipe, dataset)
    clips = []
    with torch.no_grad():
        empty_file = folder / "empty_caption.safetensors"
        if empty_file.is_file():
            empty = load_file(empty_file)["caption"]
        else:
            empty, _ = pipe.encode_prompt("", pipe.device, 1, False)  # (1, L, D): CLIP 77x1024, UMT5 512x4096
            atomic_write_bytes(empty_file, save({"caption": empty.cpu().contiguous()}))
        for i, clip in enumerate(dataset.clips):
            if cancel():
                return None
            path = folder / f"{clip.id}-{_clip_key(dataset, clip)}.safetensors"
            if path.is_file():
                entry = load_file(path)
            else:
                video, condition = dataset.load(clip)
                caption, _ = pipe.encode_prompt(clip.caption, pipe.device, 1, False)
                entry = {"video": pipe.encode_condition(video).cpu(), "condition": pipe.encode_condition(condition).cpu(),
                         "caption": caption.cpu()}
                atomic_write_bytes(path, save({k: v.contiguous() for k, v in entry.items()}))
            clips.append(entry)
            report(TrainProgress("encoding clips", i + 1, len(dataset.clips)))
    return clips, empty.cpu()


def _cache_folder(pipe, dataset: TrainingData) -> Path:
    import hashlib

    key = f"{pipe.family}|{pipe.base_model_name}|{pipe.base_architecture_sha256}|{pipe.random_base}"
    return dataset.root / "latent_cache" / hashlib.sha256(key.encode()).hexdigest()[:16]


def _clip_key(dataset: TrainingData, clip) -> str:
    """Changes when the clip's caption or either of its videos does."""
    import hashlib

    parts = [clip.caption]
    for path in (clip.video_path(dataset.root), clip.condition_path(dataset.root)):
        st = path.stat() if path.is_file() else None
        parts.append(f"{path.name}:{st.st_size}:{st.st_mtime_ns}" if st else f"{path.name}:missing")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def _record(step: int, losses: list[float], config: TrainConfig, dataset: TrainingData) -> TrainingRecord:
    tail = losses[-20:]
    return TrainingRecord(steps=step, dataset=str(dataset.root),
                          notes=f"{len(dataset.clips)} clips of {dataset.frames} frames at "
                                f"{dataset.width}x{dataset.height}; learning rate {config.learning_rate:g}",
                          extra={"mean_loss_last_20": round(sum(tail) / len(tail), 6) if tail else None,
                                 "config": asdict(config)})


def _checkpoint(pipe, optimizer, output: Path, step: int, losses: list[float], config: TrainConfig,
                dataset: TrainingData) -> Path:
    """Write OUTPUT/checkpoints/step-N (state JSON last), then drop the oldest beyond the limit."""
    from safetensors.torch import save

    folder = output / "checkpoints" / f"step-{step:08d}"
    pipe.save_adapters(folder, _record(step, losses, config, dataset))
    tensors, groups = _flatten_optimizer(optimizer)
    atomic_write_bytes(folder / OPTIMIZER_FILE, save(tensors))
    atomic_write_text(folder / STATE_FILE, json.dumps({"step": step, "losses": losses, "param_groups": groups,
                                                       "config": asdict(config)}, indent=1) + "\n")
    done = sorted((p for p in folder.parent.glob("step-*") if (p / STATE_FILE).is_file()),
                  key=lambda p: int(p.name.removeprefix("step-")))
    for old in done[:-config.keep_checkpoints]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def _final_steps(output: Path) -> int | None:
    """The step count of the finished adapters in OUTPUT (None: none written, or unreadable)."""
    from amg.model.adapters import read_adapter_info

    try:
        return read_adapter_info(output).training.steps
    except AmgError:
        return None


def _damaged(checkpoint: Path, why: str) -> AmgError:
    """The refusal for a checkpoint that cannot be read: where to go on from instead."""
    older = [p for p in checkpoint.parent.glob("step-*") if (p / STATE_FILE).is_file() and p != checkpoint
             and p.name < checkpoint.name]
    if older:
        back = max(older, key=lambda p: p.name)
        advice = (f"move it away to resume from step {int(back.name.removeprefix('step-'))} ({back.name}), "
                  "or start over in a new output folder")
    else:
        advice = "move it away (or choose a new output folder) to start over"
    return AmgError(f"{checkpoint}: this checkpoint is damaged ({why}); {advice}")


def _read_state(checkpoint: Path) -> tuple[int, list[float]]:
    """Step and losses of a checkpoint's state file; a damaged one is refused with what to do."""
    from amg.files import parse_json, read_text

    try:
        state = parse_json(read_text(checkpoint / STATE_FILE, "trainer state"), STATE_FILE)
    except (AmgError, RecursionError) as e:
        raise _damaged(checkpoint, str(e) if isinstance(e, AmgError) else "nested too deeply") from None
    step, losses = (state.get("step"), state.get("losses")) if isinstance(state, dict) else (None, None)
    name_step = checkpoint.name.removeprefix("step-")
    if type(step) is not int or not name_step.isdigit() or step != int(name_step):
        raise _damaged(checkpoint, f"its step {step!r} is not the {name_step} in its name")
    if not isinstance(losses, list) or len(losses) != step or \
            not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in losses):
        raise _damaged(checkpoint, f"its losses are not {step} numbers")
    if not isinstance(state.get("param_groups"), list):
        raise _damaged(checkpoint, "its optimiser settings (param_groups) are missing")
    return step, [float(v) for v in losses]


def _loading_checkpoint(checkpoint: Path, load: Callable[[], None]) -> None:
    """Run `load`; a checkpoint file that cannot be read becomes the damaged-checkpoint refusal."""
    try:
        load()
    except AmgError as e:
        if "made for base model" in str(e):  # another model's checkpoint is not damaged
            raise
        raise _damaged(checkpoint, str(e).removeprefix(f"{checkpoint}: ")) from None
    except (ValueError, KeyError, TypeError, OSError, RuntimeError) as e:
        raise _damaged(checkpoint, f"{type(e).__name__}: {e}") from None


def _flatten_optimizer(optimizer) -> tuple[dict[str, torch.Tensor], list[dict]]:
    sd = optimizer.state_dict()
    tensors = {f"{idx}.{k}": torch.as_tensor(v).detach().cpu().contiguous()
               for idx, st in sd["state"].items() for k, v in st.items()}
    return tensors, sd["param_groups"]


def _load_optimizer(optimizer, checkpoint: Path) -> None:
    from safetensors.torch import load_file

    path = checkpoint / OPTIMIZER_FILE
    if not path.is_file():
        raise AmgError(f"{checkpoint}: checkpoint has no {OPTIMIZER_FILE}; it cannot be resumed")
    from safetensors import SafetensorError

    try:
        tensors = load_file(path)
    except (SafetensorError, OSError) as e:
        raise AmgError(f"{path.name} cannot be read ({e})") from None
    groups = json.loads((checkpoint / STATE_FILE).read_text(encoding="utf-8"))["param_groups"]
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        idx, name = key.split(".", 1)  # a malformed key: ValueError, named as damage by the caller
        state.setdefault(int(idx), {})[name] = value
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError) as e:
        raise AmgError(f"{checkpoint}: optimiser state does not fit these adapters ({e})") from None
