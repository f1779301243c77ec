"""Per-step overhead of AMG's pipeline over the bare diffusers denoiser forward it wraps (CPU).

For each backbone, the same full-size denoiser (random weights: ModelScopeT2V's 1.41 B UNet3D,
Wan2.1-T2V-1.3B's transformer) at a small video size so a CPU finishes:
  ours:  seconds per denoising step of AMGPipeline.__call__ (adapters fused; guidance branches,
         the condition channels, the scheduler step), from its progress reports
  bare:  the base model's forward alone on the same inputs (no adapters, no scheduler), as many
         calls per step as the pipeline makes (ModelScope: one CFG batch of 2; Wan: 2 calls)
and the Wan VACE route against stock WanVACEPipeline on the same weights (whole calls; the VACE
denoiser at toy size, since only the wrapper differs). Text encoders are one layer wide enough
for the denoiser (they run once per call, outside the steps).

Run: python benchmarks/bench_backbones.py [--steps 3] [--frames 5 --size 64] [--threads 2]
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


def build(family: str):
    """(AMGPipeline with fused zero-init adapters, the same denoiser without adapters)."""
    from amg.model.backbone import backbone_class
    from amg.model.configs import AdapterConfig
    from amg.model.pipeline import AMGPipeline
    from amg.model.unet import make_conditioned

    back = backbone_class(family)
    parts = back.random_components("full")
    if family == "modelscope":  # the small test VAE: only the steps are timed
        parts.update({k: v for k, v in back.random_components("tiny").items() if k == "vae"})
    else:
        parts.update({k: v for k, v in back.random_components("tiny").items() if k in ("vae", "tokenizer")})
    parts.update(_light_text(family))
    name = back.denoiser_name
    base = parts[name]
    bare = type(base).from_config(base.config)
    bare.load_state_dict(base.state_dict())
    config = AdapterConfig(condition_channels=back.latent_channels_of(parts["vae"]))
    parts[name] = make_conditioned(base, config, back.first_layer, back.lora_target_pattern(config))
    pipe = AMGPipeline(**{k: v.eval() if hasattr(v, "eval") else v for k, v in parts.items()})
    pipe.fuse_adapters()
    return pipe, bare.eval()


def time_ours(pipe, frames: np.ndarray, steps: int) -> float:
    marks = []

    def on(p):
        if p.stage == "denoising":
            marks.append(time.perf_counter())
    pipe("two people dance on a beach", frames, num_inference_steps=steps, guidance_scale=5.0,
         generator=torch.Generator().manual_seed(0), callback=on)
    per = np.diff(marks)  # marks[0] = denoising begins
    return float(statistics.median(per[1:] if len(per) > 2 else per))  # the first step warms caches


@torch.no_grad()
def time_bare(pipe, bare, frames: np.ndarray, steps: int) -> float:
    bb = pipe.backbone
    z = bb.encode_video(frames)
    text, negative = bb.encode_prompt("two people dance on a beach", "", True)
    t = bb.set_timesteps(steps)[0]
    x = torch.randn_like(z)
    times = []
    for _ in range(max(steps, 2)):
        start = time.perf_counter()
        if pipe.family == "modelscope":
            bare(torch.cat([x, x]), t, encoder_hidden_states=torch.cat([negative, text]), return_dict=False)
        else:
            for e in (text, negative):
                bare(hidden_states=x, timestep=t.expand(1), encoder_hidden_states=e, return_dict=False)
        times.append(time.perf_counter() - start)
    return float(statistics.median(times[1:]))


def bench_backbone(family: str, steps: int, t: int, size: int) -> None:
    pipe, bare = build(family)
    frames = np.random.default_rng(0).integers(0, 255, (t, size, size, 3), dtype=np.uint8)
    ours = time_ours(pipe, frames, steps)
    base = time_bare(pipe, bare, frames, steps)
    n = sum(p.numel() for p in bare.parameters()) / 1e9
    print(f"{family}: {n:.2f} B-parameter denoiser, {t} frames {size}x{size}, CFG (2 branches)")
    print(f"  ours {ours:.3f} s/step, bare forward {base:.3f} s/step: overhead {100 * (ours - base) / base:+.1f} %")
    del pipe, bare
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
    parser.add_argument("--frames", type=int, default=5, help="frames (4k+1 for Wan)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=("modelscope", "wan2.1", "vace"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for family in ("modelscope", "wan2.1"):
        if args.only in (None, family):
            bench_backbone(family, args.steps, args.frames, args.size)
    if args.only in (None, "vace"):
        bench_vace(args.steps * 3, 17, 256)


if __name__ == "__main__":
    main()
