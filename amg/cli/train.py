"""`amg data prepare` (videos + motion -> training clips) and `amg train` (adapter fine-tuning)."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    from amg.model.configs import DEFAULT_MODEL

    d = sub.add_parser("data", help="training data: prepare clips from videos and their motion")
    dsub = d.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = dsub.add_parser("prepare", help="add clips (video + avatar video of its motion + caption) to a dataset",
                        description="Resample the video to the dataset's clip size, render the avatars of the "
                                    "people's motion with the camera, and add the pair with its caption. With no "
                                    "--motion, every person is captured from the video itself (BlazePose, offline) "
                                    "with the camera, and the avatars take the people's colours. A FOLDER of videos "
                                    "is cut into consecutive clips; clips where a person is lost are dropped (reasons "
                                    "in DATASET/prepare_log.jsonl) and a second run resumes.")
    p.add_argument("video", help="video file of the people, or a folder of videos")
    p.add_argument("-o", "--output", required=True, help="dataset folder (created, or added to)")
    p.add_argument("--caption", help="what the video shows (the training prompt)")
    p.add_argument("--caption-command", help="an external captioner instead of/besides --caption: a command with "
                                              "{video} {frame} (a PNG) {out} (it writes the caption text there); "
                                              "also describes each person for their avatar")
    p.add_argument("--motion", help="motion of the people in the video: a motion file or a preset name "
                                    "(default: captured from the video)")
    p.add_argument("--people", type=int, default=4, help="with the motion captured: follow up to this many people")
    p.add_argument("--focal-mm", type=float, help="with the motion captured: the camera's 35 mm-equivalent focal "
                                                  "length (default: from the video, else 26 mm)")
    p.add_argument("--estimator", help="instead of --motion, a pose estimator command with {video} and {out} "
                                       "(run without a shell; it writes a motion file to {out})")
    p.add_argument("--camera", default="static", help="camera preset or camera file the avatars are seen from "
                                                      "(with --motion; a capture uses its own camera)")
    p.add_argument("--start", type=float, default=0.0, help="seconds into the video where the clip begins")
    p.add_argument("--frames", type=int, default=16, help="frames per clip for a new dataset (default 16)")
    p.add_argument("--size", default="256x256", help="WIDTHxHEIGHT for a new dataset (default 256x256)")
    p.add_argument("--fps", type=float, default=8.0, help="frame rate for a new dataset (default 8)")
    p.add_argument("--id", help="clip id (default: from the video's name)")
    p.add_argument("--workers", type=int, default=1,
                   help="with a FOLDER: make its clips in this many processes at once (default 1)")
    p.set_defaults(func=prepare)

    t = sub.add_parser("train", help="fine-tune AMG adapters on a dataset (resumes from its checkpoints)",
                       description="Train the LoRA and avatar-condition weights on a dataset made by "
                                   "`amg data prepare`. Checkpoints go to OUTPUT/checkpoints; running again "
                                   "with the same OUTPUT resumes; Ctrl-C (or creating the file OUTPUT/STOP) saves "
                                   "a checkpoint and stops. Many processes/GPUs: `accelerate launch "
                                   "[--config_file configs/accelerate/ddp.yaml] --num_processes N -m amg train ...` "
                                   "(on CPU: --multi_gpu --num_processes N).")
    t.add_argument("dataset", help="dataset folder")
    t.add_argument("-o", "--output", required=True, help="adapters folder (for amg generate --adapters)")
    t.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"base model: modelscope (the paper's), wan2.1-t2v-1.3b, a hub id or folder of either "
                        f"family, or a random test model (tiny-random, wan-tiny-random) (default {DEFAULT_MODEL}); "
                        "Wan trains with its flow-matching target and needs 4k+1-frame clips")
    t.add_argument("--steps", type=int, default=1000)
    t.add_argument("--lr", type=float, default=1e-4, help="learning rate (default 1e-4)")
    t.add_argument("--batch-size", type=int, default=1)
    t.add_argument("--checkpoint-every", type=int, default=100)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    t.add_argument("--mixed-precision", choices=("no", "fp16", "bf16"), default="no",
                   help="autocast the forward pass (accelerate); the frozen base weights are then kept in that "
                        "precision too, the trained adapters always in fp32")
    t.add_argument("--dtype", choices=("auto", "fp32", "fp16", "bf16", "fp64"), default="auto",
                   help="dtype of the frozen base weights (auto: fp32, or the mixed precision's on CUDA; fp64: CPU "
                        "only, for numerical checks)")
    t.add_argument("--gradient-accumulation", type=int, default=1, metavar="N",
                   help="accumulate N batches per step: effective batch = processes x batch size x N")
    t.add_argument("--gradient-checkpointing", action="store_true",
                   help="recompute each block's activations in the backward pass (less memory, ~30%% slower)")
    t.add_argument("--warmup-steps", type=int, default=50)
    t.add_argument("--keep-checkpoints", type=int, default=3)
    t.add_argument("--validate-every", type=int, default=0, metavar="K",
                   help="every K steps generate the held-out validation scenes, save them under "
                        "OUTPUT/validation and log their Motion Fidelity to TensorBoard (OUTPUT/logs)")
    t.add_argument("--validation-clips", type=int, default=0, metavar="N",
                   help="hold out the dataset's last N clips as validation scenes (never trained on)")
    t.add_argument("--validation-steps", type=int, default=20, help="inference steps of a validation video")
    t.add_argument("--validation-clip-model", help="CLIP weights (hub id or folder, on disk) to also log a CLIP "
                                                   "score; without, only Motion Fidelity")
    t.add_argument("--progress-json", action="store_true",
                   help="print progress as JSON lines (for programs that run this command, e.g. the app)")
    t.set_defaults(func=run_train)


def _size(text: str) -> tuple[int, int]:
    from amg.errors import AmgError

    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise AmgError(f"--size {text!r}: must look like 256x256") from None
    return w, h


def prepare(args) -> int:
    import math
    import shutil

    from amg.errors import AmgError
    from amg.train import PrepareConfig, TrainingData, prepare_clip
    from amg.train.dataset import INDEX
    from amg.train.prepare import check_start, estimate_motion, prepare_folder

    if args.motion and args.estimator:
        raise AmgError("give the people's motion with --motion FILE|PRESET or a pose estimator with --estimator, "
                       "not both (or neither: it is then captured from the video)")
    if not (args.caption or "").strip() and not args.caption_command:
        raise AmgError("give a caption (--caption TEXT) or a captioning command (--caption-command)")
    if not (math.isfinite(args.fps) and 0 < args.fps <= 120):
        raise AmgError(f"--fps must be a frame rate between 0 and 120, got {args.fps}")
    check_start(args.start, "--start")
    if args.workers < 1:
        raise AmgError(f"--workers must be 1 or more, got {args.workers}")
    if args.workers > 1 and not Path(args.video).is_dir():
        raise AmgError(f"{args.video}: --workers is for a folder of videos (one video is one clip)")
    width, height = _size(args.size)
    root = Path(args.output)
    fresh = not (root / INDEX).exists()
    existed = root.exists()
    data = TrainingData.create(root, frames=args.frames, width=width, height=height, fps=args.fps)
    config = PrepareConfig(start=args.start, camera=args.camera, max_people=args.people, focal_mm=args.focal_mm,
                           captioner=args.caption_command)
    motion = None
    try:
        if Path(args.video).is_dir():
            if args.motion or args.estimator:
                raise AmgError(f"{args.video}: a folder of videos takes no --motion/--estimator (each clip is captured)")
            added, dropped = prepare_folder(data, args.video, args.caption or "", config,
                                            progress=lambda msg: print(f"  {msg}"), workers=args.workers)
            print(f"{data.root}: {len(added)} clip(s) added, {len(dropped)} dropped (reasons in "
                  f"{data.root / 'prepare_log.jsonl'}); now {len(data.clips)} clips")
            return 0
        motion = estimate_motion(args.video, args.estimator) if args.estimator else args.motion
        clip = prepare_clip(data, args.video, motion, args.caption or "", config, clip_id=args.id,
                            progress=lambda msg: print(f"  {msg}"))
    finally:
        if args.estimator and motion is not None:
            shutil.rmtree(Path(motion).parent, ignore_errors=True)
        if fresh and not data.clips and not Path(args.video).is_dir():
            # a failed first preparation leaves no empty dataset behind (a folder run keeps its log of reasons)
            (root / INDEX).unlink(missing_ok=True)
            if not existed and root.is_dir() and not any(root.iterdir()):
                root.rmdir()
    n = len(data.clips)
    print(f"added clip {clip.id!r} to {data.root}: now {n} clip{'s' if n != 1 else ''} of {data.frames} frames at "
          f"{data.width}x{data.height}, {data.fps:g} fps")
    if clip.motion == "captured from the video":
        print(f"  avatars over the footage: {clip.folder(data.root) / 'overlay.mp4'}")
    return 0


STOP_FILE = "STOP"


def _process_device(device: str) -> tuple[str, bool]:
    """(device, is main process): under `accelerate launch` each process takes the device
    accelerate gives it (its own GPU; the CPU with --multi_gpu on a machine without one)."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from accelerate import PartialState

        import torch

        state = PartialState(cpu=device == "cpu" or not torch.cuda.is_available())
        return (str(state.device) if device == "auto" else device), state.is_main_process
    return device, True


def run_train(args) -> int:
    import json
    import signal

    from tqdm import tqdm

    from amg.model import load_pipeline
    from amg.train import TrainConfig, TrainingCancelled, TrainingData, train

    config = TrainConfig(steps=args.steps, learning_rate=args.lr, batch_size=args.batch_size,
                         checkpoint_every=args.checkpoint_every, seed=args.seed,
                         mixed_precision=args.mixed_precision, gradient_accumulation_steps=args.gradient_accumulation,
                         gradient_checkpointing=args.gradient_checkpointing, warmup_steps=args.warmup_steps,
                         keep_checkpoints=args.keep_checkpoints, validate_every=args.validate_every,
                         validation_clips=args.validation_clips, validation_steps=args.validation_steps,
                         validation_clip_model=args.validation_clip_model)
    config.check()  # before the slow loading
    data = TrainingData.open(args.dataset)
    device, main = _process_device(args.device)
    dtype = args.dtype
    if dtype == "auto":  # the frozen weights in half precision only where the forward runs in it anyway
        from amg.model.device import resolve_device

        cuda = resolve_device(device).type == "cuda"
        dtype = args.mixed_precision if args.mixed_precision != "no" and cuda else "fp32"
    pipe = load_pipeline(args.model, device=device, fuse_adapters=False, dtype=dtype)
    if pipe.random_base and main:
        print(f"note: the base model {args.model!r} has random weights; the adapters will only fit it")
    bars: dict[str, tqdm] = {}
    stop_file = Path(args.output) / STOP_FILE
    if main:
        stop_file.unlink(missing_ok=True)  # a stop asked of an earlier run

    def progress(p):
        if args.progress_json:
            event = {"stage": p.stage, "step": p.step, "total": p.total, "loss": p.loss, "seconds_left": p.seconds_left}
            if "cuda" in str(pipe.device):
                import torch

                event["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated(pipe.device) / 2**20, 1)
            print(json.dumps(event), flush=True)
            return
        bar = bars.get(p.stage)
        if bar is None:
            bar = bars[p.stage] = tqdm(total=p.total, desc=p.stage, unit="step" if p.stage == "training" else "clip",
                                       initial=p.step - 1, disable=None)
        bar.update(p.step - bar.n)
        if p.loss is not None:
            bar.set_postfix(loss=f"{p.loss:.4f}")

    stop = {"now": False}

    def interrupt(signum, frame):
        if stop["now"]:  # a second Ctrl-C: stop at once (the last checkpoint stays)
            raise KeyboardInterrupt
        stop["now"] = True
        print("\nstopping after this step (a checkpoint is written); Ctrl-C again to stop at once")

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        result = train(pipe, data, args.output, config, progress=progress,
                       should_cancel=lambda: stop["now"] or stop_file.exists())
    except TrainingCancelled as e:
        if main:
            print(f"amg train: {e}; run the same command again to go on")
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
        for bar in bars.values():
            bar.close()
    if not main:
        return 0
    if args.progress_json:
        print(json.dumps({"stage": "done", "adapters": str(result.output), "steps": result.steps,
                          "resumed_from": result.resumed_from, "seconds": round(result.seconds, 1),
                          "losses": result.losses, "random_base": pipe.random_base,
                          "processes": result.processes, "engine": result.engine,
                          "weights_held": list(result.weights_held)}), flush=True)
        return 0
    print(f"latents: {result.encoded_clips} clip(s) encoded, {result.cached_clips} from the cache; "
          f"{result.processes} process(es) ({result.engine}), effective batch "
          f"{result.processes * config.batch_size * config.gradient_accumulation_steps}")
    if result.engine == "FSDP":
        held, total = result.weights_held
        print(f"FSDP: the main process held {held:,} of the denoiser's {total:,} weights ({100 * held / total:.0f}%)")
    mean = sum(result.losses[-20:]) / max(1, len(result.losses[-20:]))
    resumed = f", resumed at step {result.resumed_from}" if result.resumed_from else ""
    print(f"trained to step {result.steps} ({result.steps - result.resumed_from} steps this run{resumed}) in "
          f"{result.seconds:.1f} s; mean loss of the last 20 steps {mean:.4f}")
    print(f"adapters in {result.output}: amg generate SCENE.json -o out.mp4 --model {args.model} "
          f"--adapters {result.output}")
    return 0
