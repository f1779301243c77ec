"""Per-step overhead of AMG's pipeline over the bare diffusers denoiser forward it wraps (CPU).

For each backbone, the same full-size denoiser (random weights: ModelScopeT2V's 1.41 B UNet3D,
Wan2.1-T2V-1.3B's transformer) at a small video size so a CPU finishes:
  ours:  seconds per denoising step of AMGPipeline.__call__ (adapters fused; guidance branches,
         the condition channels, the scheduler step), from its progress reports
  bare:  the base model's diffusers forward alone on the same inputs (the same module with its
         first layer swapped back to the base conv; zero-init LoRA fused, so every weight is the
         base's; no guidance, no scheduler), as many calls per step as the pipeline makes
         (ModelScope: one CFG batch of 2; Wan: 2 calls)
and the Wan VACE route against stock WanVACEPipeline on the same weights (whole calls; the VACE
denoiser at toy size, since only the wrapper differs). Text encoders are one layer wide enough
for the denoiser (they run once per call, outside the steps).

The default size is small (1 frame, 64x64) so the CPU finishes: the wrapper's share of a step
is then at its largest; at real sizes the forward grows and the overhead shrinks.

Run: python benchmarks/bench_backbones.py [--steps 3 --repeats 2] [--frames 1 --size 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402


def _light_text(family: str) -> dict:
    """A one-layer text encoder of the right width (the steps never run it)."""
    from amg.model import configs

    if family == "modelscope":
        from transformers import CLIPTextConfig, CLIPTextModel

        return dict(text_encoder=CLIPTextModel(CLIPTextConfig(**dict(configs.MODELSCOPE_TEXT_ENCODER,
                                                                     num_hidden_layers=1))))
    from transformers import UMT5Config, UMT5EncoderModel

    return dict(text_encoder=UMT5EncoderModel(UMT5Config(**dict(configs.WAN_TEXT_ENCODER, vocab_size=256,
                                                                num_layers=1, d_ff=256))))


def build(family: str, tiny: bool = False):
    """AMGPipeline on the full-size denoiser with fused zero-init adapters; toy VAE, tokenizer and
    scheduler settings of the family, a one-layer text encoder (none of them runs in a step)."""
    from amg.model import configs
    from amg.model import backbone_class
    from amg.model.configs import AdapterConfig
    from amg.model.pipeline import AMGPipeline
    from amg.model.unet import make_conditioned

    back = backbone_class(family)
    parts = back.random_components("tiny")
    torch.manual_seed(0)
    if tiny:
        pass
    elif family == "modelscope":
        from amg.model.unet import UNet3DWithPeft

        parts["unet"] = UNet3DWithPeft(**configs.MODELSCOPE_UNET)
    else:
        from diffusers import WanTransformer3DModel

        parts["transformer"] = WanTransformer3DModel(**configs.WAN_TRANSFORMER)
    if not tiny:
        parts.update(_light_text(family))
    config = AdapterConfig(condition_channels=back.latent_channels_of(parts["vae"]))
    parts[back.denoiser_name] = make_conditioned(parts[back.denoiser_name], config, back.first_layer,
                                                 back.lora_target_pattern(config))
    pipe = AMGPipeline(**{k: v.eval() if hasattr(v, "eval") else v for k, v in parts.items()})
    pipe.fuse_adapters()
    return pipe


class bare_model:
    """The pipeline's denoiser as the base model: its first layer swapped back to the base conv
    (zero-init LoRA is fused, so every weight is the base's). One copy of the weights in memory."""

    def __init__(self, pipe):
        self.denoiser, self.layer = pipe.denoiser, pipe.backbone.first_layer

    def __enter__(self):
        self.conditioned = getattr(self.denoiser, self.layer)
        setattr(self.denoiser, self.layer, self.conditioned.base)
        return self.denoiser

    def __exit__(self, *exc):
        setattr(self.denoiser, self.layer, self.conditioned)


def time_ours(pipe, frames: np.ndarray, steps: int) -> list[float]:
    marks = []

    def on(p):
        if p.stage == "denoising":
            marks.append(time.perf_counter())
    pipe("two people dance on a beach", frames, num_inference_steps=steps, guidance_scale=5.0,
         generator=torch.Generator().manual_seed(0), callback=on)
    per = np.diff(marks)  # marks[0] = denoising begins
    return list(per[1:] if len(per) > 2 else per)  # the first step warms caches


@torch.no_grad()
def time_bare(pipe, frames: np.ndarray, steps: int) -> list[float]:
    bb = pipe.backbone
    z = bb.encode_video(frames)
    text, negative = bb.encode_prompt("two people dance on a beach", "", True)
    t = bb.set_timesteps(steps)[0]
    x = torch.randn_like(z)
    times = []
    with bare_model(pipe) as bare:
        return _time_forwards(pipe, bare, x, t, text, negative, steps)


def _time_forwards(pipe, bare, x, t, text, negative, steps) -> list[float]:
    times = []
    for _ in range(max(steps, 2)):
        start = time.perf_counter()
        if pipe.family == "modelscope":
            bare(torch.cat([x, x]), t, encoder_hidden_states=torch.cat([negative, text]), return_dict=False)
        else:
            for e in (text, negative):
                bare(hidden_states=x, timestep=t.expand(1), encoder_hidden_states=e, return_dict=False)
        times.append(time.perf_counter() - start)
    return times[1:]


def bench_backbone(family: str, steps: int, t: int, size: int, repeats: int, tiny: bool) -> None:
    pipe = build(family, tiny)
    frames = np.random.default_rng(0).integers(0, 255, (t, size, size, 3), dtype=np.uint8)
    ours, base = [], []
    for _ in range(repeats):  # interleaved, so load from other processes hits both alike
        ours += time_ours(pipe, frames, steps)
        base += time_bare(pipe, frames, steps)
    n = sum(p.numel() for n_, p in pipe.denoiser.named_parameters() if ".lora_" not in n_) / 1e9
    print(f"{family}: {n:.3f} B-parameter denoiser, {t} frames {size}x{size}, CFG (2 branches), "
          f"{len(ours)} steps / {len(base)} forwards timed")
    for label, a, b in (("min", min(ours), min(base)), ("median", statistics.median(ours), statistics.median(base))):
        print(f"  {label}: ours {a:.3f} s/step, bare forward {b:.3f} s/step: overhead {100 * (a - b) / b:+.1f} %")
    del pipe
    gc.collect()


def bench_vace(steps: int, t: int, size: int) -> None:
    from PIL import Image

    from amg.model.vace import VACEControl

    vace = VACEControl.from_pretrained("vace-tiny-random", device="cpu")
    control = np.random.default_rng(0).integers(0, 255, (t, size, size, 3), dtype=np.uint8)
    refs = np.full((2, size, size, 3), 255, np.uint8)
    ours, stock = [], []
    for _ in range(3):
        start = time.perf_counter()
        vace("two people dance", control, reference_images=refs, num_inference_steps=steps,
             generator=torch.Generator().manual_seed(0))
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        vace.pipe("two people dance", negative_prompt="", video=[Image.fromarray(f) for f in control],
                  reference_images=[Image.fromarray(r) for r in refs], height=size, width=size, num_frames=t,
                  num_inference_steps=steps, generator=torch.Generator().manual_seed(0), output_type="np",
                  max_sequence_length=32)
        stock.append(time.perf_counter() - start)
    a, b = statistics.median(ours), statistics.median(stock)
    print(f"wan2.1-vace (toy-size VACE model, {t} frames {size}x{size}, {steps} steps, 2 reference images)")
    print(f"  ours {a:.3f} s/call, stock WanVACEPipeline {b:.3f} s/call: overhead {100 * (a - b) / b:+.1f} % "
          f"({(a - b) / steps * 1000:+.1f} ms/step)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--frames", type=int, default=1, help="frames (4k+1 for Wan)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tiny", action="store_true",
                        help="toy-size denoisers: the wrapper's share at its very largest (seconds, not minutes)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=("modelscope", "wan2.1", "vace"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for family in ("modelscope", "wan2.1"):
        if args.only in (None, family):
            bench_backbone(family, args.steps, args.frames, args.size, args.repeats, args.tiny)
    if args.only in (None, "vace"):
        bench_vace(args.steps * 3, 17, 256)


if __name__ == "__main__":
    main()
