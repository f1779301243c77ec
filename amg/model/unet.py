"""AMG's adapters on a denoiser (ModelScope's UNet3D, Wan's transformer): a wider first conv + peft LoRA.

The paper widens the UNet's first convolution from 4 to 8 input channels so that the
VAE-encoded avatar video z_a, concatenated to the noisy latent z_t, reaches the network;
the new weights start at zero, so the initial model *is* the base model. We keep that
convolution as two parts, the frozen base conv on z_t and a zero-initialised bias-free
conv on z_a, summed: the same function as one wider conv, but the base weights stay
untouched by training (no gradient, no weight decay on them). The same holds for Wan's
`patch_embedding` (a Conv3d). Which layer and which LoRA targets: the backbone's.
"""

from __future__ import annotations

import torch
from diffusers import UNet3DConditionModel
from diffusers.loaders import PeftAdapterMixin
from torch import nn

from amg.model.configs import AdapterConfig

ADAPTER_NAME = "amg"


class UNet3DWithPeft(UNet3DConditionModel, PeftAdapterMixin):
    """diffusers' UNet3DConditionModel with peft's add_adapter/set_adapter (0.42 lacks them)."""

    # the blocks never split over devices; FSDP's transformer-based wrap shards each as one unit
    # (as Wan's transformer declares its WanTransformerBlock)
    _no_split_modules = ["CrossAttnDownBlock3D", "DownBlock3D", "UNetMidBlock3DCrossAttn", "CrossAttnUpBlock3D",
                         "UpBlock3D"]


class ConditionedConvIn(nn.Module):
    """The first conv over [z_t, z_a] on the channel axis = base_conv(z_t) + condition_conv(z_a).

    Given z_t alone (a stock diffusers pipeline driving the model), the condition is absent:
    the base conv's output, exactly."""

    def __init__(self, base: nn.Conv2d | nn.Conv3d, condition_channels: int):
        super().__init__()
        self.base = base
        self.base_channels = base.in_channels
        self.condition = type(base)(condition_channels, base.out_channels, base.kernel_size, base.stride,
                                    base.padding, bias=False, device=base.weight.device, dtype=base.weight.dtype)
        nn.init.zeros_(self.condition.weight)

    @property
    def in_channels(self) -> int:
        return self.base_channels + self.condition.in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B*F, C_base + C_cond, h, w) or (B, C, T, h, w)
        if x.shape[1] == self.base_channels:
            return self.base(x)
        return self.base(x[:, :self.base_channels]) + self.condition(x[:, self.base_channels:])


def make_conditioned_unet(unet: UNet3DWithPeft, config: AdapterConfig) -> UNet3DWithPeft:
    """Add AMG's adapters to a base ModelScope UNet in place (see make_conditioned)."""
    return make_conditioned(unet, config, "conv_in", config.target_pattern())


def make_conditioned(denoiser: nn.Module, config: AdapterConfig, first_layer: str, lora_pattern: str) -> nn.Module:
    """Add AMG's adapters to a base denoiser in place: zero-init condition conv on `first_layer`
    + LoRA (B = 0) on the modules `lora_pattern` full-matches.

    Every base weight is frozen; only LoRA and the condition conv are trainable.
    """
    if isinstance(getattr(denoiser, first_layer), ConditionedConvIn):
        raise ValueError("this model already carries AMG adapters")
    from peft import LoraConfig

    denoiser.add_adapter(LoraConfig(r=config.rank, lora_alpha=config.alpha, target_modules=lora_pattern,
                                    init_lora_weights=True), adapter_name=ADAPTER_NAME)
    setattr(denoiser, first_layer, ConditionedConvIn(getattr(denoiser, first_layer), config.condition_channels))
    for name, p in denoiser.named_parameters():
        p.requires_grad_(is_adapter_parameter(name))
    return denoiser


def is_adapter_parameter(name: str) -> bool:
    """True for the parameters AMG trains (LoRA matrices, condition conv)."""
    return ".lora_" in name or name.split(".")[1:2] == ["condition"] and name.count(".") == 2


def conditioned_layer_name(denoiser: nn.Module) -> str:
    for name, module in denoiser.named_children():
        if isinstance(module, ConditionedConvIn):
            return name
    raise ValueError("this model carries no AMG adapters")


def adapter_state_dict(denoiser: nn.Module, full_state: dict[str, torch.Tensor] | None = None
                       ) -> dict[str, torch.Tensor]:
    """LoRA weights (peft's naming, without the adapter name) and the condition conv
    (`conv_in.condition.weight` on a UNet, `patch_embedding.condition.weight` on Wan).
    `full_state`: the denoiser's whole state dict when its own parameters are sharded (FSDP)."""
    from peft import get_peft_model_state_dict

    state = {f"lora.{k}": v for k, v in get_peft_model_state_dict(denoiser, state_dict=full_state,
                                                                  adapter_name=ADAPTER_NAME).items()}
    layer = conditioned_layer_name(denoiser)
    key = f"{layer}.condition.weight"
    state[key] = getattr(denoiser, layer).condition.weight if full_state is None else full_state[key]
    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in state.items()}


def load_adapter_state_dict(unet: nn.Module, state: dict[str, torch.Tensor]) -> None:
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
    layer = conditioned_layer_name(unet)
    with torch.no_grad():
        getattr(unet, layer).condition.weight.copy_(state[f"{layer}.condition.weight"])


def architecture_hash(unet_config: dict, vae_config: dict) -> str:
    """The ModelScope UNet's architecture hash (see amg.model.backbone.architecture_hash)."""
    from amg.model.backbone import architecture_hash as family_hash

    return family_hash("modelscope", unet_config, vae_config)
