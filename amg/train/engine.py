"""The accelerate engine of a training run, and what FSDP needs around it.

`make_accelerator` builds the run's Accelerator from the launch's config (DDP, FSDP, DeepSpeed).
One gap is filled here: accelerate 1.15 attaches its FSDP plugin only to a process group on an
accelerator device (AcceleratorState looks at FSDP only for MULTI_GPU/XPU/...), so on a
CPU-only machine an FSDP config silently ran as DDP over gloo, or failed in the plugin's
GPU-only `sync_module_states`. torch's FSDP2 (`fully_shard`) runs on CPU over gloo, so on CPU
the process group is labelled an accelerator group just while accelerate sets up its state;
everything after that (wrapping, sharded optimiser, gradient sync) is accelerate's own FSDP2
path. FSDP1 is refused on CPU: torch crashes (SIGSEGV) gathering its full state dict there.
DeepSpeed is taken by accelerate only when the Accelerator is not told `cpu`: on CPU the gloo
group is set up first, then DeepSpeed's own CPU accelerator runs on it.

With FSDP the denoiser's weights are DTensor shards. Checkpoints still hold the *full*
adapters and the full optimiser state in the single-process format (gathered with torch's
distributed state-dict API, only the trainable weights), written by the main process, so a
run can resume on any number of processes and the adapters load anywhere.
"""

from __future__ import annotations

import os

import torch

from amg.errors import AmgError


def make_accelerator(cpu: bool, **kwargs):
    """accelerate.Accelerator(cpu=cpu, **kwargs), FSDP included on CPU (see the module docstring)."""
    from accelerate import Accelerator, PartialState
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    fsdp = os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true"
    deepspeed = os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true"
    state = PartialState(cpu=cpu)
    if cpu and deepspeed and state.distributed_type == DistributedType.MULTI_CPU:
        # gloo is up; accelerate takes DeepSpeed only when not told cpu (the device stays the CPU)
        return Accelerator(cpu=False, **kwargs)
    if not (cpu and fsdp and state.distributed_type == DistributedType.MULTI_CPU):
        return Accelerator(cpu=cpu, **kwargs)
    # every process loads the same base weights, so FSDP need not broadcast them (its GPU-only option)
    plugin = FullyShardedDataParallelPlugin(sync_module_states=False)
    if plugin.fsdp_version != 2:
        raise AmgError("FSDP on CPU needs fsdp_version: 2 in the accelerate config (FSDP1 crashes gathering "
                       "weights on CPU); configs/accelerate/fsdp.yaml has it")
    state.distributed_type = DistributedType.MULTI_GPU  # only while AcceleratorState picks the FSDP plugin up
    try:
        accelerator = Accelerator(cpu=True, fsdp_plugin=plugin, **kwargs)
    finally:
        if state.distributed_type == DistributedType.MULTI_GPU:
            state.distributed_type = DistributedType.MULTI_CPU
    if accelerator.distributed_type != DistributedType.FSDP:
        raise AmgError(f"accelerate did not set FSDP up on CPU (got {accelerator.distributed_type}); "
                       "launch with --multi_gpu for DDP instead")
    return accelerator


def is_fsdp(accelerator) -> bool:
    from accelerate.utils import DistributedType

    return accelerator.distributed_type == DistributedType.FSDP


def engine_name(accelerator) -> str:
    """What runs the processes, for people: 'one process', 'DDP', 'FSDP' or 'DeepSpeed'."""
    kind = accelerator.distributed_type.value
    return {"NO": "one process", "FSDP": "FSDP", "DEEPSPEED": "DeepSpeed"}.get(kind, "DDP" if kind.startswith("MULTI_")
                                                                          else kind)


def held_weights(model: torch.nn.Module) -> tuple[int, int]:
    """(weights this process holds, weights of the whole model): under FSDP each holds its shards."""
    from torch.distributed.tensor import DTensor

    held = sum(p.to_local().numel() if isinstance(p, DTensor) else p.numel() for p in model.parameters())
    return held, sum(p.numel() for p in model.parameters())


def trainable_names(model: torch.nn.Module) -> list[str]:
    """Names of the trained parameters, in the optimiser's order (it was built from the same walk)."""
    return [n for n, p in model.named_parameters() if p.requires_grad]


def gathered_trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The full (unsharded) trained weights of an FSDP model, on the main process's CPU (other
    processes get {}). Every process must call it. Frozen base weights are not gathered."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True,
                                                                 ignore_frozen_params=True))


def gathered_optimizer_state(model: torch.nn.Module, optimizer) -> dict:
    """The full optimiser state of an FSDP model in torch's single-process layout (parameters
    numbered in the optimiser's order), on the main process (others get {}). Every process calls it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    full = get_optimizer_state_dict(model, _torch_optimizer(optimizer),
                                    options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if not full:
        return {}
    index = {name: i for i, name in enumerate(trainable_names(model))}
    return {"state": {index[k]: v for k, v in full["state"].items()},
            "param_groups": [{**g, "params": [index[k] for k in g["params"]]} for g in full["param_groups"]]}


def load_optimizer_state(model: torch.nn.Module, optimizer, state: dict) -> None:
    """Shard a single-process optimiser state (as `gathered_optimizer_state` returns) into an FSDP
    run's optimiser. Every process calls it with the same state."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    names = trainable_names(model)
    used = [*state["state"], *(i for g in state["param_groups"] for i in g["params"])]
    if any(not isinstance(i, int) or not 0 <= i < len(names) for i in used):
        raise AmgError(f"optimiser state covers parameters this model does not train ({len(names)} trained)")
    full = {"state": {names[i]: v for i, v in state["state"].items()},
            "param_groups": [{**g, "params": [names[i] for i in g["params"]]} for g in state["param_groups"]]}
    optimizer = _torch_optimizer(optimizer)
    for group, saved in zip(optimizer.param_groups, state["param_groups"]):
        for key in saved.keys() - group.keys():  # added by the scheduler (initial_lr): torch's loader needs them here
            group[key] = saved[key]
    set_optimizer_state_dict(model, optimizer, full, options=StateDictOptions(full_state_dict=True))


def _torch_optimizer(optimizer):
    return getattr(optimizer, "optimizer", optimizer)  # accelerate's AcceleratedOptimizer wraps it
