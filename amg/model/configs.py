"""Architecture configs of the base model, and the AMG adapter config.

The full-size configs are those of ModelScopeT2V (`ali-vilab/text-to-video-ms-1.7b`):
they build the real architecture with random weights (benchmarks, tests of the loading
code). The tiny ones keep every kind of block at toy width, so a whole generation runs
on a CPU in seconds.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

#: Hub id of the base text-to-video model the paper fine-tunes.
DEFAULT_MODEL = "ali-vilab/text-to-video-ms-1.7b"
#: Model names that build the architecture with seeded random weights instead of loading.
TINY_RANDOM = "tiny-random"
FULL_RANDOM = "modelscope-random"

# ---- ModelScopeT2V, full size (1.41 B-parameter UNet) ------------------------------------
MODELSCOPE_UNET = dict(
    sample_size=32, in_channels=4, out_channels=4,
    down_block_types=("CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "DownBlock3D"),
    up_block_types=("UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D"),
    block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, norm_num_groups=32,
    cross_attention_dim=1024, attention_head_dim=64,
)
MODELSCOPE_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, sample_size=256,
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32,
    scaling_factor=0.18215,
)
MODELSCOPE_TEXT_ENCODER = dict(
    vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_hidden_layers=23,
    num_attention_heads=16, max_position_embeddings=77, hidden_act="gelu", projection_dim=512,
    bos_token_id=49406, eos_token_id=49407, pad_token_id=0,
)
MODELSCOPE_SCHEDULER = dict(
    num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
    clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon",
)

# ---- the same architecture at toy size ---------------------------------------------------
TINY_UNET = dict(
    MODELSCOPE_UNET,
    down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
    up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
    block_out_channels=(32, 64), layers_per_block=1, norm_num_groups=8,
    cross_attention_dim=32, attention_head_dim=8,
)
# Four levels, like the real VAE, so 256 px frames still become 32x32 latents.
TINY_VAE = dict(MODELSCOPE_VAE, block_out_channels=(16, 16, 32, 32), layers_per_block=1, norm_num_groups=8)
TINY_TEXT_ENCODER = dict(
    MODELSCOPE_TEXT_ENCODER, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
    num_attention_heads=4, projection_dim=32,
)


# ---- AMG adapters -------------------------------------------------------------------------
#: The attention projections LoRA adapts (diffusers' Attention module names).
LORA_PROJECTIONS = ("to_q", "to_k", "to_v", "to_out.0")


@dataclass
class AdapterConfig:
    """What AMG trains on top of the frozen base UNet.

    LoRA on the attention projections of the spatial (`*.attentions.*`) and temporal
    (`*.temp_attentions.*`, `transformer_in`) transformers, and the extra input channels
    of conv_in that read the VAE-encoded avatar video.
    """

    rank: int = 4
    alpha: float = 4.0
    spatial: bool = True
    temporal: bool = True
    projections: tuple[str, ...] = LORA_PROJECTIONS
    #: Channels of the condition latent concatenated to the noisy latent (the VAE's).
    condition_channels: int = 4

    def __post_init__(self):
        self.projections = tuple(self.projections)
        if self.rank < 1:
            raise ValueError(f"LoRA rank must be at least 1, got {self.rank}")
        if not (self.spatial or self.temporal):
            raise ValueError("LoRA needs at least one attention group: spatial or temporal")
        unknown = set(self.projections) - set(LORA_PROJECTIONS)
        if unknown or not self.projections:
            raise ValueError(f"LoRA projections must be a non-empty subset of {LORA_PROJECTIONS}, got {self.projections}")

    def target_pattern(self) -> str:
        """A regex peft full-matches against module names to pick the LoRA targets."""
        groups = []
        if self.spatial:
            groups.append(r".*\.attentions\.\d+\..*")
        if self.temporal:
            groups += [r".*\.temp_attentions\.\d+\..*", r"transformer_in\..*"]
        projections = "|".join(re.escape(p) for p in self.projections)
        return rf"^(?:{'|'.join(groups)})\.(?:{projections})$"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["projections"] = list(self.projections)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "AdapterConfig":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class TrainingRecord:
    """How adapters were trained; written by the trainer, shown to users."""

    steps: int = 0
    dataset: str = ""
    notes: str = ""
    extra: dict = field(default_factory=dict)


# ---- Wan2.1 (diffusers layout of Wan-AI/Wan2.1-T2V-1.3B-diffusers and VACE-1.3B) -----------------
WAN_T2V_1_3B = "Wan-AI/Wan2.1-T2V-1.3B-diffusers"
WAN_TRANSFORMER = dict(
    patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
    text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024,
)
#: VACE-1.3B: the T2V transformer plus control blocks after every second layer.
WAN_VACE_EXTRA = dict(vace_layers=tuple(range(0, 30, 2)), vace_in_channels=96)
WAN_VAE = dict(base_dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
               temperal_downsample=[False, True, True])  # lists: the VAE concatenates them
#: umt5-xxl's encoder (5.7 B parameters).
WAN_TEXT_ENCODER = dict(vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
                        relative_attention_num_buckets=32, feed_forward_proj="gated-gelu", dropout_rate=0.0)
#: Wan's sampler: UniPC on flow-matching sigmas, shift 3.0 at 480p (5.0 at 720p).
WAN_SCHEDULER = dict(num_train_timesteps=1000, prediction_type="flow_prediction", use_flow_sigmas=True,
                     flow_shift=3.0)
WAN_MAX_SEQUENCE = 512
# The same at toy size (numbers from diffusers' own Wan pipeline tests).
TINY_WAN_TRANSFORMER = dict(
    WAN_TRANSFORMER, num_attention_heads=2, attention_head_dim=12, text_dim=32, ffn_dim=32, num_layers=2,
    rope_max_seq_len=32,
)
TINY_WAN_VACE_EXTRA = dict(vace_layers=(0, 2), vace_in_channels=96)  # with num_layers=3
TINY_WAN_VAE = dict(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                    temperal_downsample=[False, True, True])  # lists: the VAE concatenates them
TINY_WAN_TEXT_ENCODER = dict(WAN_TEXT_ENCODER, vocab_size=256, d_model=32, d_kv=8, d_ff=64, num_layers=2,
                             num_heads=4)
TINY_WAN_MAX_SEQUENCE = 32
#: Wan's LoRA targets: self- (attn1) and text cross-attention (attn2) of the main blocks only
#: (VACE's control blocks are `vace_blocks.*`, never matched).
WAN_LORA_PATTERN = r"^blocks\.\d+\.attn[12]\.(?:{projections})$"
