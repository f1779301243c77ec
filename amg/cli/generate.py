"""`amg generate SCENE.json -o out.mp4`: render the avatar condition video, then generate the video.

The input may also be a condition video file (avatars on black), with --prompt. Steps
show with tqdm and time left; Ctrl-C stops cleanly (no output file is written until the
video is complete, and then atomically).
"""

from __future__ import annotations

import time
from pathlib import Path

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".gif")


def register(sub) -> None:
    from amg.model.configs import DEFAULT_MODEL

    p = sub.add_parser("generate", help="generate a video from a scene (or a condition video) and a prompt",
                       description="Render the scene's avatar condition video and generate a video that follows "
                                   "it and the prompt (AMG: ModelScopeT2V + avatar adapters, 20-step DDIM).")
    p.add_argument("input", help="scene JSON file, or a condition video (avatars on black) with --prompt")
    p.add_argument("-o", "--output", required=True, help="output .mp4")
    p.add_argument("--prompt", help="text prompt (default: the scene's prompt)")
    p.add_argument("--negative", help="negative prompt (default: the scene's negative prompt)")
    p.add_argument("--steps", type=int, default=20, help="DDIM steps (default 20, as in the paper)")
    p.add_argument("--guidance", type=float, default=9.0, help="text guidance scale (default 9)")
    p.add_argument("--avatar-guidance", type=float, default=None,
                   help="avatar guidance scale: turns on dual guidance (text vs avatar); off by default")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); the same seed gives the same video")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"base model: hub id, local diffusers folder, or tiny-random (default {DEFAULT_MODEL})")
    p.add_argument("--adapters", help="folder of trained AMG adapters (LoRA + conv_in)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    p.add_argument("--dtype", choices=("fp32", "fp16", "bf16"), help="default: fp16 on CUDA, fp32 on CPU")
    p.add_argument("--low-memory", action="store_true", help="attention and VAE slicing (small GPUs; slower)")
    p.add_argument("--resample-condition", action="store_true",
                   help="fit a condition video of another size to a multiple of 8 instead of refusing it")
    p.add_argument("--side-by-side", action="store_true",
                   help="also write OUTPUT_side_by_side.mp4: condition | result")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np
    import torch

    from amg.errors import AmgError
    from amg.model import check_settings, load_pipeline
    from amg.render.video import write_mp4
    from amg.scene import Scene

    output = Path(args.output)
    if output.suffix.lower() != ".mp4":
        raise AmgError(f"output {args.output!r}: must be an .mp4 file")
    source = Path(args.input)
    suffix = source.suffix.lower()
    if suffix == ".json":
        scene = Scene.load(source)
        prompt = args.prompt if args.prompt is not None else scene.prompt
        negative = args.negative if args.negative is not None else scene.negative_prompt
        if not (prompt or "").strip():
            raise AmgError(f"{source}: the scene has no prompt; set \"prompt\" in it or pass --prompt")
    elif suffix in VIDEO_SUFFIXES:
        scene, prompt, negative = None, args.prompt, args.negative
        if prompt is None:
            raise AmgError(f"{source}: a condition video has no prompt of its own; pass --prompt")
    else:
        raise AmgError(f"input {args.input!r}: expected a scene .json or a condition video ({', '.join(VIDEO_SUFFIXES)})")
    # Settings are checked before the slow work (model loading, rendering).
    check_settings(prompt, negative, args.steps, args.guidance, args.avatar_guidance)

    start = time.time()
    print(f"loading model {args.model}" + (f" with adapters {args.adapters}" if args.adapters else ""))
    pipe = load_pipeline(args.model, adapters=args.adapters, device=args.device, dtype=args.dtype,
                         low_memory=args.low_memory)
    status = pipe.weights_status
    if not status.trained:
        print(f"WARNING: {status.message}")

    if scene is not None:
        from amg.render import render_scene

        print(f"rendering the condition video of {source}")
        rendered = render_scene(scene, progress=lambda msg: print(f"  {msg}..."))
        condition, fps = rendered.rgb, rendered.fps
    else:
        from amg.render.video import read_video

        condition, fps = read_video(source)
        fps = fps or 8.0

    t, h, w = condition.shape[:3]
    settings = {"prompt": prompt, "negative": negative or "", "steps": args.steps, "guidance": args.guidance,
                "avatar guidance": "off" if args.avatar_guidance is None else args.avatar_guidance,
                "seed": args.seed, "model": args.model, "adapters": args.adapters or "none (zero-initialised)",
                "device": f"{pipe.device} {str(pipe.unet.dtype).removeprefix('torch.')}",
                "video": f"{t} frames {w}x{h} at {fps:g} fps"}
    print("settings:\n" + "\n".join(f"  {k}: {v}" for k, v in settings.items()))

    with _TqdmProgress() as progress:
        out = pipe(prompt=prompt, condition=condition, negative_prompt=negative or None,
                   num_inference_steps=args.steps, guidance_scale=args.guidance,
                   avatar_guidance_scale=args.avatar_guidance,
                   generator=torch.Generator(device="cpu").manual_seed(args.seed),
                   resample_condition=args.resample_condition, callback=progress)

    metadata = {"title": prompt[:200], **status.metadata()}
    write_mp4(out.frames, output, fps, metadata=metadata)
    print(f"wrote {output}: {len(out.frames)} frames {out.frames.shape[2]}x{out.frames.shape[1]} "
          f"({time.time() - start:.1f} s)")
    if args.side_by_side:
        side = output.with_name(f"{output.stem}_side_by_side.mp4")
        write_mp4(np.concatenate([out.condition, out.frames], axis=2), side, fps, metadata=metadata)
        print(f"wrote {side}: condition | result")
    if not status.trained:
        print(f"note: {'random' if status.random_base else 'untrained'} weights; the video is not a real generation")
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
            self.bar = tqdm(total=p.total, desc=p.stage, unit="step" if p.stage == "denoising" else "chunk",
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
