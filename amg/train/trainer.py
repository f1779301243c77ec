"""Fine-tuning AMG's adapters (LoRA + the avatar-latent conv) on a dataset of clips.

As in the paper: the base video model stays frozen; the avatar video's VAE latents are
concatenated to the noisy video latents, and the LoRA matrices and the zero-initialised
condition conv learn to follow them with the backbone's own objective (ModelScopeT2V: DDPM
noise, epsilon target; Wan2.1: flow matching, target noise - x0 at timestep 1000 sigma).
Clip latents and caption embeddings come from the on-disk latent cache (amg.train.cache:
encoded once, spread over the processes). The avatar latents and the caption are each
dropped now and then (zeros, empty text), so generation can guide on both separately.

One process or many: `accelerate launch [--multi_gpu] --num_processes N -m amg train ...`
runs this same loop in N processes (DDP; FSDP and DeepSpeed ZeRO-2 through accelerate
configs, configs/accelerate/). The samples are one seeded stream (amg.train.stream): each
step takes the next processes x batch x accumulation of them, each process its own share,
so the ranks see different clips, gradients are averaged by accelerate, and the weights
after a step do not depend on how the global batch was split. Only the main process writes
checkpoints, logs (TensorBoard through accelerate's tracker, OUTPUT/logs/) and validation
videos (amg.train.validation).

Every `checkpoint_every` steps a checkpoint is written under OUTPUT/checkpoints/step-N/:
the adapters, the optimiser state (safetensors, never pickle) and trainer_state.json,
written last, which marks it complete. A run given the same OUTPUT resumes from the newest
complete checkpoint and gives the same weights as an uninterrupted run (the samples of step
k are stream positions fixed by seed and k), also after a SIGKILL. Cancelling (any process)
writes a checkpoint first. The finished adapters are written into OUTPUT itself, ready for
`amg generate --adapters OUTPUT`.
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
from amg.model.unet import adapter_state_dict
from amg.train.cache import build_cache
from amg.train.dataset import TrainingData
from amg.train.engine import (engine_name, gathered_optimizer_state, gathered_trainable_state, held_weights, is_fsdp,
                              load_optimizer_state, make_accelerator)
from amg.train.memory import enable_gradient_checkpointing
from amg.train.stream import ClipStream, StreamRange
from amg.train.validation import LOG_DIR, PROJECT, Validator, split_validation

STATE_FILE = "trainer_state.json"
MAX_BATCH = 256
OPTIMIZER_FILE = "optimizer.safetensors"
ENGINE_DIR = "engine"  # FSDP / DeepSpeed: accelerate's own sharded state of the run
CLIP_LOG = "clips.jsonl"


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
    gradient_accumulation_steps: int = 1  # effective batch = processes x batch_size x this
    gradient_checkpointing: bool = False  # recompute block activations in backward (less memory)
    validate_every: int = 0          # steps between validations (0: none)
    validation_clips: int = 0        # the dataset's last N clips are held out for validation
    validation_steps: int = 20       # inference steps of a validation video
    validation_clip_model: str | None = None  # CLIP weights (hub id / folder) for a CLIP score

    def check(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "keep_checkpoints", "gradient_accumulation_steps",
                     "validation_steps"):
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
        for name in ("validate_every", "validation_clips"):
            if getattr(self, name) < 0:
                raise AmgError(f"training {name} must be 0 or more, got {getattr(self, name)}")
        if self.validate_every and not self.validation_clips:
            raise AmgError("validation every N steps needs held-out clips (validation_clips, --validation-clips)")


#: What `progress` receives (stage, step, total, seconds_left, loss): amg.progress.Progress.
TrainProgress = Progress


@dataclass
class TrainResult:
    output: Path
    steps: int
    losses: list[float]
    resumed_from: int
    seconds: float
    encoded_clips: int = 0  # clips VAE-encoded by this run (the rest came from the cache)
    cached_clips: int = 0
    processes: int = 1
    engine: str = "one process"  # or DDP, FSDP, DeepSpeed (accelerate's)
    weights_held: tuple[int, int] = (0, 0)  # (denoiser weights in the main process, in the whole model)


def latest_checkpoint(output: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint under OUTPUT/checkpoints (None if there is none)."""
    folder = Path(output) / "checkpoints"
    done = [p for p in folder.glob("step-*") if p.name[5:].isdigit() and (p / STATE_FILE).is_file()] \
        if folder.is_dir() else []
    return max(done, key=lambda p: int(p.name.removeprefix("step-")), default=None)


def train(pipe, dataset: TrainingData, output: str | os.PathLike, config: TrainConfig | None = None,
          progress: Callable[[TrainProgress], None] | None = None,
          should_cancel: Callable[[], bool] | None = None) -> TrainResult:
    """Train `pipe`'s adapters (an AMGPipeline with unfused adapters) on `dataset`.

    Under `accelerate launch` every process calls it with its own pipeline (on its own device):
    they share the work as the module docstring says, and only the main process writes."""
    from accelerate.utils import ProjectConfiguration
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
    train_clips, validation_clips = split_validation(dataset, config.validation_clips)
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise AmgError(f"{output}: exists and is not a folder; training writes adapters into a folder")
    start = time.perf_counter()
    report = progress or (lambda p: None)
    cancel = should_cancel or (lambda: False)

    accelerator = make_accelerator(
        cpu=pipe.device.type == "cpu", mixed_precision=config.mixed_precision,
        gradient_accumulation_steps=config.gradient_accumulation_steps, log_with="tensorboard",
        project_config=ProjectConfiguration(project_dir=str(output), logging_dir=str(output / LOG_DIR)))
    if accelerator.gradient_accumulation_steps != config.gradient_accumulation_steps:
        raise AmgError(f"the accelerate config accumulates {accelerator.gradient_accumulation_steps} batches per step "
                       f"but training asks for {config.gradient_accumulation_steps} (--gradient-accumulation); "
                       "make them the same")
    if accelerator.num_processes > 1 and pipe.device != accelerator.device:
        pipe.to(accelerator.device)  # each process on its own GPU
    main = accelerator.is_main_process
    if not main:
        report = lambda p: None  # noqa: E731 - one progress bar, the main process's
    step, losses = 0, []
    resume = latest_checkpoint(output)
    if resume is not None:
        step, losses = _read_state(resume)
        _loading_checkpoint(resume, lambda: pipe.load_adapters(resume))  # refuses another base model's
    if resume is not None and step == config.steps and _final_steps(output) != step:
        # killed after its last checkpoint but before the final adapters: finish what it did
        record = _record(step, losses, config, dataset, accelerator.num_processes)
        if main:
            pipe.save_adapters(output, record)
        accelerator.wait_for_everyone()
        pipe.adapter_source, pipe.adapter_training = str(output), record
        return TrainResult(output, step, losses, step, time.perf_counter() - start)
    if step >= config.steps:
        raise AmgError(f"{output}: already trained for {step} steps (asked for {config.steps}); "
                       "ask for more steps to go on, or choose a new output folder")

    cache = build_cache(pipe, dataset, accelerator, should_cancel=cancel,
                        progress=lambda i, n: report(TrainProgress("encoding clips", i, n)))
    if cache is None:  # cancelled while encoding: nothing new to save
        raise TrainingCancelled(step, resume)
    encoder_device = pipe.text_encoder.device
    if pipe.device.type == "cuda":  # captions are cached: the text encoder (UMT5-XXL: 11 GB) waits on the CPU
        pipe.text_encoder.to("cpu")
    per_step = accelerator.num_processes * config.batch_size * config.gradient_accumulation_steps
    stream = ClipStream(cache, train_clips, config.steps * per_step, config.seed, config.condition_dropout,
                        config.caption_dropout)
    loader = torch.utils.data.DataLoader(stream, batch_size=config.batch_size,
                                         sampler=StreamRange(step * per_step, config.steps * per_step))
    unet = pipe.denoiser  # UNet3D or Wan transformer, with AMG adapters
    if config.gradient_checkpointing:
        enable_gradient_checkpointing(unet)
    from diffusers.training_utils import cast_training_params

    if any(p.requires_grad and p.dtype in (torch.float16, torch.bfloat16) for p in unet.parameters()):
        cast_training_params(unet, torch.float32)  # adapters train in fp32 on a half-precision frozen base
    params = [p for p in unet.parameters() if p.requires_grad]
    optimizer = adamw = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    if resume is not None:
        _check_engine(resume, accelerator)
    if resume is not None and not _sharded(accelerator):
        _loading_checkpoint(resume, lambda: _load_optimizer(optimizer, resume))
    model, optimizer, loader = accelerator.prepare(unet, optimizer, loader)
    held = held_weights(model)
    if resume is not None and is_fsdp(accelerator):  # the full state, sharded over the processes
        _loading_checkpoint(resume, lambda: load_optimizer_state(model, optimizer, _read_optimizer(resume)))
    elif resume is not None and _sharded(accelerator):  # DeepSpeed: its own sharded optimiser state
        accelerator.load_state(str(resume / ENGINE_DIR), load_module_strict=False)  # the adapters only
    # after the optimiser state is in (a resumed schedule reads its initial_lr); not prepared: it steps once per step
    # (on the torch optimiser itself: FSDP keeps it, DeepSpeed's ZeRO optimiser wraps it and reads its learning rate)
    schedule = get_scheduler("constant_with_warmup", adamw, num_warmup_steps=config.warmup_steps,
                             last_epoch=step - 1)  # resumed: goes on from `step`
    # FSDP: every process takes part in each forward pass (the weights are sharded), only the main one writes
    validator = Validator(pipe, dataset, validation_clips, output, config.validation_steps, config.seed,
                          config.validation_clip_model, writes=main) \
        if config.validate_every and (main or is_fsdp(accelerator)) else None
    accelerator.init_trackers(PROJECT, config=_hparams(config, accelerator.num_processes))
    if main:
        _trim_clip_log(output, step)
    model.train()
    first, began = step, time.perf_counter()
    step_losses, step_clips = [], []
    # The caller's random state is left as it was (the app runs other work in this process).
    with torch.random.fork_rng(devices=[pipe.device] if pipe.device.type == "cuda" else []):
        try:
            for micro, batch in enumerate(loader):
                if micro % config.gradient_accumulation_steps == 0:  # before each step
                    if cancel():
                        accelerator.set_trigger()
                    if accelerator.check_trigger():  # any process asked: all stop here
                        # a checkpoint of what this run did (none yet: the resumed one stands)
                        saved = _save(accelerator, pipe, model, optimizer, output, step, losses, config,
                                      dataset) if step > first else resume
                        raise TrainingCancelled(step, saved)
                torch.manual_seed(config.seed * 1_000_003 + step)  # dropout inside the denoiser, if any
                with accelerator.accumulate(model):
                    loss = _batch_loss(pipe, model, batch, accelerator)
                    mean = accelerator.gather(loss.detach()[None]).mean()
                    if not torch.isfinite(mean):
                        raise AmgError(f"training diverged at step {step + 1} (loss {mean.item()}); "
                                       f"lower the learning rate (now {config.learning_rate:g}) and resume")
                    accelerator.backward(loss)
                    if accelerator.sync_gradients:
                        accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                step_losses.append(float(mean))
                step_clips.append(accelerator.gather(batch["clip"].to(accelerator.device)).tolist())
                if not accelerator.sync_gradients:
                    continue
                schedule.step()
                step += 1
                losses.append(round(sum(step_losses) / len(step_losses), 6))
                if main:
                    _log_clips(output, step, step_clips, accelerator.num_processes)
                step_losses, step_clips = [], []
                accelerator.log({"loss": losses[-1], "learning_rate": schedule.get_last_lr()[0]}, step=step)
                rate = (time.perf_counter() - began) / (step - first)
                report(TrainProgress("training", step, config.steps, loss=losses[-1],
                                     seconds_left=rate * (config.steps - step)))
                if step % config.checkpoint_every == 0 or step == config.steps:
                    _save(accelerator, pipe, model, optimizer, output, step, losses, config, dataset)
                if validator is not None and (step % config.validate_every == 0 or step == config.steps):
                    report(TrainProgress("validating", step, config.steps))
                    metrics = validator.run(step)
                    if main:
                        accelerator.log(metrics, step=step)
                if config.validate_every:
                    accelerator.wait_for_everyone()
        finally:
            model.eval()
            pipe.text_encoder.to(encoder_device)  # the pipeline generates again as it did
            for tracker in accelerator.trackers:  # its events on disk, also when stopped by an error
                tracker.finish()
    record = _record(step, losses, config, dataset, accelerator.num_processes)
    adapters = _gathered_adapters(accelerator, pipe, model)
    if main:
        pipe.save_adapters(output, record, adapters)
    accelerator.wait_for_everyone()
    pipe.adapter_source, pipe.adapter_training = str(output), record
    return TrainResult(output, step, losses, first, time.perf_counter() - start, cache.encoded, cache.reused,
                       accelerator.num_processes, engine_name(accelerator), held)


def _batch_loss(pipe, model, batch: dict, accelerator) -> torch.Tensor:
    """The backbone's objective on one micro-batch: DDPM noise + epsilon target (ModelScope),
    rectified flow + noise - x0 (Wan). Each sample's timestep comes from its own seed, so a
    sample trains the same whichever process or batch it lands in."""
    z0, noise = batch["video"].float(), batch["noise"].float()  # (B, C, t, h, w)
    parts = [pipe.backbone.training_sample(z0[i:i + 1], noise[i:i + 1], torch.Generator().manual_seed(int(s)))
             for i, s in enumerate(batch["timestep_seed"].tolist())]
    z_t, t, target = (torch.cat(x) for x in zip(*parts))
    dtype = pipe.denoiser.dtype
    with accelerator.autocast():
        pred = model(torch.cat([z_t, batch["condition"].float()], dim=1).to(dtype), t,
                     encoder_hidden_states=batch["caption"].to(dtype), return_dict=False)[0]
    wide = torch.promote_types(pred.dtype, torch.float32)  # the loss in fp32 at least (fp64 stays fp64)
    return torch.nn.functional.mse_loss(pred.to(wide), target.to(wide))


def _sharded(accelerator) -> bool:
    from accelerate.utils import DistributedType

    return accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)


def _check_engine(checkpoint: Path, accelerator) -> None:
    """DeepSpeed's optimiser state is its own (engine/); every other engine's is the single-process
    file, which one process, DDP and FSDP all read: refuse a checkpoint of the other kind."""
    deepspeed = _sharded(accelerator) and not is_fsdp(accelerator)
    if deepspeed and not (checkpoint / ENGINE_DIR).is_dir():
        raise AmgError(f"{checkpoint}: this checkpoint was written without DeepSpeed; go on from it without "
                       "DeepSpeed (one process, DDP or FSDP), or start a new output folder")
    if not deepspeed and (checkpoint / ENGINE_DIR).is_dir():
        raise AmgError(f"{checkpoint}: this checkpoint was written by DeepSpeed; go on from it with the same "
                       "accelerate config (configs/accelerate/deepspeed_zero2.yaml), or start a new output folder")


def _gathered_adapters(accelerator, pipe, model) -> dict[str, torch.Tensor] | None:
    """The full adapters when the denoiser's weights are sharded (FSDP; every process must call
    this, the main one gets them), else None (the denoiser's own are whole)."""
    if not is_fsdp(accelerator):
        return None
    full = gathered_trainable_state(model)
    return adapter_state_dict(pipe.denoiser, full) if accelerator.is_main_process else None


def _save(accelerator, pipe, model, optimizer, output: Path, step: int, losses: list[float], config: TrainConfig,
          dataset: TrainingData) -> Path:
    """A checkpoint, written by the main process. FSDP: the adapters and the optimiser state are
    gathered whole first (the same files as one process writes). DeepSpeed: every process writes
    its shard of the optimiser state through accelerate."""
    folder = output / "checkpoints" / f"step-{step:08d}"
    adapters = _gathered_adapters(accelerator, pipe, model)
    if is_fsdp(accelerator):
        optimizer_state = gathered_optimizer_state(model, optimizer)
    elif _sharded(accelerator):  # DeepSpeed; the frozen base is not saved (it is the base model)
        accelerator.save_state(str(folder / ENGINE_DIR), safe_serialization=True, exclude_frozen_parameters=True)
        optimizer_state = None
    else:
        optimizer_state = optimizer.state_dict()
    if accelerator.is_main_process:
        _checkpoint(pipe, optimizer_state, output, step, losses, config, dataset, accelerator.num_processes,
                    adapters)
    accelerator.wait_for_everyone()
    return folder


def _hparams(config: TrainConfig, processes: int) -> dict:
    """The run's settings for TensorBoard (it takes numbers, text and booleans)."""
    out = {k: v for k, v in asdict(config).items() if isinstance(v, (int, float, str, bool))}
    out["processes"] = processes
    out["effective_batch"] = processes * config.batch_size * config.gradient_accumulation_steps
    return out


def _log_clips(output: Path, step: int, clips: list[list[int]], processes: int) -> None:
    """OUTPUT/logs/clips.jsonl: per step, the clips each process trained on (dataset indices)."""
    per_rank = [[] for _ in range(processes)]
    for micro in clips:  # gathered: rank 0's batch, then rank 1's, ...
        size = len(micro) // processes
        for r in range(processes):
            per_rank[r].extend(micro[r * size:(r + 1) * size])
    path = output / LOG_DIR / CLIP_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"step": step, "clips_by_process": per_rank}) + "\n")


def _trim_clip_log(output: Path, step: int) -> None:
    """A resumed run redoes the steps after its checkpoint: drop the killed run's lines for them."""
    path = output / LOG_DIR / CLIP_LOG
    if not path.is_file():
        return
    keep = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            if json.loads(line)["step"] <= step:
                keep.append(line)
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by the kill
    atomic_write_text(path, "".join(x + "\n" for x in keep))


def _record(step: int, losses: list[float], config: TrainConfig, dataset: TrainingData,
            processes: int = 1) -> TrainingRecord:
    tail = losses[-20:]
    batch = processes * config.batch_size * config.gradient_accumulation_steps
    return TrainingRecord(steps=step, dataset=str(dataset.root),
                          notes=f"{len(dataset.clips)} clips of {dataset.frames} frames at "
                                f"{dataset.width}x{dataset.height}; learning rate {config.learning_rate:g}; "
                                f"effective batch {batch} ({processes} process(es) x {config.batch_size} x "
                                f"{config.gradient_accumulation_steps} accumulated)",
                          extra={"mean_loss_last_20": round(sum(tail) / len(tail), 6) if tail else None,
                                 "config": asdict(config), "processes": processes})


def _checkpoint(pipe, optimizer_state: dict | None, output: Path, step: int, losses: list[float],
                config: TrainConfig, dataset: TrainingData, processes: int = 1, adapters: dict | None = None) -> Path:
    """Write OUTPUT/checkpoints/step-N (state JSON last), then drop the oldest beyond the limit.
    `optimizer_state`: torch's optimiser state dict (None: DeepSpeed wrote its own in engine/);
    `adapters`: the tensors to write when the denoiser's own are sharded (FSDP)."""
    from safetensors.torch import save

    folder = output / "checkpoints" / f"step-{step:08d}"
    record = _record(step, losses, config, dataset, processes)
    pipe.save_adapters(folder, record, adapters)
    tensors, groups = ({}, []) if optimizer_state is None else _flatten_optimizer(optimizer_state)
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


def _flatten_optimizer(sd: dict) -> tuple[dict[str, torch.Tensor], list[dict]]:
    tensors = {f"{idx}.{k}": torch.as_tensor(v).detach().cpu().contiguous()
               for idx, st in sd["state"].items() for k, v in st.items()}
    return tensors, sd["param_groups"]


def _load_optimizer(optimizer, checkpoint: Path) -> None:
    """Load a checkpoint's optimiser state into an optimiser of one process (or DDP)."""
    try:
        optimizer.load_state_dict(_read_optimizer(checkpoint))
    except (ValueError, KeyError) as e:
        raise AmgError(f"{checkpoint}: optimiser state does not fit these adapters ({e})") from None


def _read_optimizer(checkpoint: Path) -> dict:
    """The optimiser state dict a checkpoint holds (torch's single-process layout)."""
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
    return {"state": state, "param_groups": groups}
