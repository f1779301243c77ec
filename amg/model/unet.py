"""The avatar-conditioned UNet: ModelScope's UNet3D + wider conv_in + peft LoRA.

The paper widens the UNet's first convolution from 4 to 8 input channels so that the
VAE-encoded avatar video z_a, concatenated to the noisy latent z_t, reaches the network;
the new weights start at zero, so the initial model *is* the base model. We keep that
convolution as two parts, the frozen base conv on z_t and a zero-initialised bias-free
conv on z_a, summed: the same function as one 8-channel conv, but the base weights stay
untouched by training (no gradient, no weight decay on them).
"""

from __future__ import annotations

import hashlib
import json

import torch
from diffusers import UNet3DConditionModel
from diffusers.loaders import PeftAdapterMixin
from torch import nn

from amg.model.configs import AdapterConfig

ADAPTER_NAME = "amg"


class UNet3DWithPeft(UNet3DConditionModel, PeftAdapterMixin):
    """diffusers' UNet3DConditionModel with peft's add_adapter/set_adapter (0.42 lacks them)."""


class ConditionedConvIn(nn.Module):
    """conv_in over [z_t, z_a] on the channel axis = base_conv(z_t) + condition_conv(z_a)."""

    def __init__(self, base: nn.Conv2d, condition_channels: int):
        super().__init__()
        self.base = base
        self.base_channels = base.in_channels
        self.condition = nn.Conv2d(condition_channels, base.out_channels, base.kernel_size, base.stride,
                                   base.padding, bias=False, device=base.weight.device, dtype=base.weight.dtype)
        nn.init.zeros_(self.condition.weight)

    @property
    def in_channels(self) -> int:
        return self.base_channels + self.condition.in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B*F, C_base + C_cond, h, w)
        return self.base(x[:, :self.base_channels]) + self.condition(x[:, self.base_channels:])


def make_conditioned_unet(unet: UNet3DWithPeft, config: AdapterConfig) -> UNet3DWithPeft:
    """Add AMG's adapters to a base UNet in place: zero-init condition conv + LoRA (B = 0).

    Every base weight is frozen; only LoRA and the condition conv are trainable.
    """
    if isinstance(unet.conv_in, ConditionedConvIn):
        raise ValueError("this UNet already carries AMG adapters")
    from peft import LoraConfig

    unet.add_adapter(LoraConfig(r=config.rank, lora_alpha=config.alpha, target_modules=config.target_pattern(),
                                init_lora_weights=True), adapter_name=ADAPTER_NAME)
    unet.conv_in = ConditionedConvIn(unet.conv_in, config.condition_channels)
    for name, p in unet.named_parameters():
        p.requires_grad_(is_adapter_parameter(name))
    return unet


def is_adapter_parameter(name: str) -> bool:
    """True for the parameters AMG trains (LoRA matrices, condition conv)."""
    return ".lora_" in name or name.startswith("conv_in.condition.")


def adapter_state_dict(unet: UNet3DWithPeft) -> dict[str, torch.Tensor]:
    """LoRA weights (peft's naming, without the adapter name) and the condition conv."""
    from peft import get_peft_model_state_dict

    state = {f"lora.{k}": v for k, v in get_peft_model_state_dict(unet, adapter_name=ADAPTER_NAME).items()}
    state["conv_in.condition.weight"] = unet.conv_in.condition.weight
    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in state.items()}


def load_adapter_state_dict(unet: UNet3DWithPeft, state: dict[str, torch.Tensor]) -> None:
    """Load what adapter_state_dict wrote; every expected tensor must be there, nothing else."""
    from peft import set_peft_model_state_dict

    expected = set(adapter_state_dict(unet))
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise KeyError(f"{len(missing)} tensors missing (e.g. {missing[:2]}), "
                       f"{len(unexpected)} unexpected (e.g. {unexpected[:2]})")
    current = adapter_state_dict(unet)
    bad = [k for k in expected if tuple(state[k].shape) != tuple(current[k].shape)]
    if bad:
        k = bad[0]
        raise KeyError(f"{len(bad)} tensors have the wrong shape, e.g. {k}: "
                       f"{tuple(state[k].shape)} in the file, {tuple(current[k].shape)} in the model")
    lora = {k.removeprefix("lora."): v for k, v in state.items() if k.startswith("lora.")}
    result = set_peft_model_state_dict(unet, lora, adapter_name=ADAPTER_NAME)
    if getattr(result, "unexpected_keys", None):
        raise KeyError(f"LoRA tensors not used by the model: {result.unexpected_keys[:2]}")
    with torch.no_grad():
        unet.conv_in.condition.weight.copy_(state["conv_in.condition.weight"])


def architecture_hash(unet_config: dict, vae_config: dict) -> str:
    """sha256 of the architecture-defining config entries of the UNet and the VAE.

    Adapters only fit the base they were trained on: the LoRA shapes follow the UNet, and
    the condition conv reads the VAE's latent space.
    """
    def arch(cfg: dict) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in sorted(dict(cfg).items())
                if not k.startswith("_")}
    blob = json.dumps({"unet": arch(unet_config), "vae": arch(vae_config)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()
