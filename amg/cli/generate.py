"""`amg generate SCENE.json -o out.mp4 [--model ...]`: render the scene's condition, then generate the video.

Routes by model (see amg.generate): the paper's AMG adapters on ModelScopeT2V (`modelscope`,
the default), AMG adapters on Wan2.1 (`wan2.1-t2v-1.3b`), or Wan VACE control with no
training (`wan2.1-vace-1.3b --control pose|depth|pose+depth`). Random test models:
tiny-random, wan-tiny-random, vace-tiny-random. The input may also be a condition video file
with --prompt. Steps show with tqdm and time left; Ctrl-C stops cleanly (no output file is
written until the video is complete, and then atomically).
"""

from __future__ import annotations

from pathlib import Path

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".gif")


def register(sub) -> None:
    from amg.generate import CONTROLS, ROUTE_NOTES

    p = sub.add_parser("generate", help="generate a video from a scene (or a condition video) and a prompt",
                       description="Render the scene's condition and generate a video that follows it and the "
                                   "prompt. Routes: " + "; ".join(f"{k}: {v}" for k, v in ROUTE_NOTES.items()))
    p.add_argument("input", help="scene JSON file or .amgscene bundle, or a condition video (avatars on black / a control pass) with --prompt")
    p.add_argument("-o", "--output", required=True, help="output .mp4 (OUTPUT_STEM.condition.mp4 and .json beside it)")
    p.add_argument("--prompt", help="text prompt (default: the scene's prompt)")
    p.add_argument("--negative", help="negative prompt (default: the scene's negative prompt)")
    p.add_argument("--model", default=None,
                   help="amg-demo (the small model trained here on synthetic renders; the default when the "
                        "paper's base weights are not on this machine), modelscope (the paper's; the default when "
                        "its weights are here), wan2.1-t2v-1.3b, wan2.1-t2v-14b, wan2.1-vace-1.3b, "
                        "wan2.1-vace-14b, a hub id or local diffusers folder of those families, or a random test "
                        "model: tiny-random, wan-tiny-random, vace-tiny-random")
    p.add_argument("--adapters", help="folder of trained AMG adapters (modelscope and wan2.1 routes)")
    p.add_argument("--control", choices=CONTROLS, default="pose+depth",
                   help="VACE route: the control pass (default pose+depth: the skeleton drawn over the depth)")
    p.add_argument("--control-strength", type=float, default=1.0, help="VACE route: conditioning scale (default 1)")
    p.add_argument("--no-references", action="store_true",
                   help="VACE route: no avatar reference images (identity/clothing)")
    p.add_argument("--steps", type=int, help="sampling steps (default: 20 DDIM for modelscope, 50 for Wan)")
    p.add_argument("--guidance", type=float, help="text guidance scale (default: 9 modelscope, 5 Wan)")
    p.add_argument("--avatar-guidance", type=float, default=None,
                   help="AMG routes: avatar guidance scale, turns on dual guidance (text vs avatar)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); the same seed gives the same video")
    p.add_argument("--frames", type=int, help="frames (default: the scene's; Wan takes 4k+1, e.g. 81)")
    p.add_argument("--width", type=int, help="width (default: the scene's; Wan: a multiple of 16, e.g. 832)")
    p.add_argument("--height", type=int, help="height (default: the scene's; Wan: a multiple of 16, e.g. 480)")
    p.add_argument("--fps", type=float, help="frame rate (default: the scene's; Wan: 16)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    p.add_argument("--dtype", choices=("fp32", "fp16", "bf16"), help="default: fp16 (modelscope) / bf16 (Wan) on "
                                                                      "CUDA, fp32 on CPU")
    p.add_argument("--low-memory", action="store_true", help="attention/VAE slicing, Wan VAE tiling (slower)")
    p.add_argument("--cpu-offload", action="store_true",
                   help="CUDA: keep only the running model on the GPU (Wan 1.3B then fits ~8-10 GB)")
    p.add_argument("--resample-condition", action="store_true",
                   help="fit a condition video of another size to the model's grid instead of refusing it")
    p.add_argument("--side-by-side", action="store_true",
                   help="also write OUTPUT_side_by_side.mp4: condition | result")
    p.set_defaults(func=run)


def run(args) -> int:
    from amg.errors import AmgError
    from amg.generate import GenerateSettings, generate
    from amg.bundle import load_scene

    output = Path(args.output)
    if output.suffix.lower() != ".mp4":
        raise AmgError(f"output {args.output!r}: must be an .mp4 file")
    source = Path(args.input)
    suffix = source.suffix.lower()
    if suffix in (".json", ".amgscene"):
        source = load_scene(source)
    elif suffix not in VIDEO_SUFFIXES:
        raise AmgError(f"input {args.input!r}: expected a scene (.json, .amgscene bundle) or a condition video "
                       f"({', '.join(VIDEO_SUFFIXES)})")
    elif args.prompt is None:
        raise AmgError(f"{args.input}: a condition video has no prompt of its own; pass --prompt")
    from amg.model.demo import default_model

    settings = GenerateSettings(
        model=args.model or default_model(), adapters=args.adapters, control=args.control, control_strength=args.control_strength,
        references=not args.no_references, steps=args.steps, guidance=args.guidance,
        avatar_guidance=args.avatar_guidance, seed=args.seed, prompt=args.prompt, negative_prompt=args.negative,
        frames=args.frames, width=args.width, height=args.height, fps=args.fps,
        resample_condition=args.resample_condition)
    with _TqdmProgress() as progress:
        result = generate(source, settings, output, progress=progress, log=print, side_by_side=args.side_by_side,
                          load_options=dict(device=args.device, dtype=args.dtype, low_memory=args.low_memory,
                                            cpu_offload=args.cpu_offload))
    s = result.settings
    print("settings:\n" + "\n".join(f"  {k}: {s.get(k)}" for k in (
        "prompt", "model", "backbone", "adapters", "control", "steps", "guidance_scale", "avatar_guidance_scale", "seed",
        "device", "dtype") if k in s and (s.get(k) is not None or k != "avatar_guidance_scale")))
    print(f"wrote {result.video}: {result.frames} frames {result.width}x{result.height} at {result.fps:g} fps "
          f"({result.seconds:.1f} s); condition {result.condition}")
    if result.references:
        print(f"wrote {result.references}: the avatar reference images")
    if not result.weights.trained:
        print(f"note: {'random' if result.weights.random_base else 'untrained'} weights; the video is not a real "
              "generation")
    return 0


class _TqdmProgress:
    """A tqdm bar per pipeline stage; the postfix shows the whole call's time left."""

    def __init__(self):
        self.bar, self.stage = None, None

    def __call__(self, p) -> None:
        from tqdm import tqdm

        if p.stage != self.stage:
            self.close()
            self.stage = p.stage
            self.bar = tqdm(total=p.total, desc=p.stage, unit="step" if p.stage == "denoising" else "part",
                            dynamic_ncols=True)
        self.bar.n = p.step
        if p.seconds_left is not None:
            self.bar.set_postfix_str(f"about {_duration(p.seconds_left)} left in all", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
