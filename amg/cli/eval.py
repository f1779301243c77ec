"""`amg eval`: CLIP score and Motion Fidelity Score (AMG's Table 1).

    amg eval --video GEN.mp4 --reference REF.mp4 [--prompt TEXT] [--json]
    amg eval --table RUN_DIR [RUN_DIR ...] [--out PREFIX]
    amg eval --table EXPERIMENT/eval [--out PREFIX]    (synthetic world: scores against the ground truth)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from amg.errors import AmgError


def register(sub) -> None:
    p = sub.add_parser("eval", help="score generated videos: CLIP score and Motion Fidelity (Table 1)",
                       description="Score a generated video against its reference (condition or input) video: "
                                   "Motion Fidelity Score (0-100) and CLIP score of the frames against the prompt. "
                                   "With --table, score every triplet of run folders into a Table-1 style table.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--video", metavar="GEN.mp4", help="the generated video")
    what.add_argument("--table", nargs="+", metavar="RUN_DIR",
                      help="run folders of (generated, reference, prompt) triplets: triplets.jsonl/.csv, or "
                           "sub-folders with generated.mp4, reference.mp4 (or condition.mp4), prompt.txt; or a "
                           "synthetic-world evaluation folder (EXPERIMENT/eval of `amg experiment`): Motion "
                           "Fidelity, PSNR, SSIM, placement IoU, background accuracy and motion vs ground truth")
    p.add_argument("--reference", metavar="REF.mp4", help="the reference video whose motion should be followed")
    p.add_argument("--prompt", help="caption for the CLIP score (omit to skip it)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--out", metavar="PREFIX", help="--table: write PREFIX.md and PREFIX.csv "
                                                    "(default: RUN_DIR/eval_table.* of the first run)")
    p.add_argument("--tracker", default="auto", choices=("auto", "lk", "lk-grid", "cotracker"),
                   help="point tracker: CoTracker when available (auto), else OpenCV Lucas-Kanade "
                        "on good features (lk) or on a dense grid (lk-grid)")
    p.add_argument("--grid-step", type=int, default=8, metavar="PX", help="lk-grid spacing in pixels (default 8)")
    p.add_argument("--cotracker-checkpoint", metavar="PTH", help="CoTracker3 offline weights (scaled_offline.pth)")
    p.add_argument("--cotracker-repo", metavar="DIR", help="a co-tracker checkout (default: torch.hub's cache)")
    p.add_argument("--mask", metavar="PNG", help="seed points only inside this mask (white), in the "
                                                 "reference's pixels, for both videos")
    p.add_argument("--mask-box", action="store_true", help="use the mask's bounding box (as the DMT code does)")
    p.add_argument("--tracks-png", metavar="PNG", help="also save reference | generated last frames with the "
                                                       "tracklets drawn (colour = direction, grey = still)")
    p.add_argument("--resample", action="store_true",
                   help="when frame counts differ, pick frames of the longer video evenly (else refuse)")
    p.add_argument("--max-side", type=int, default=512, metavar="PX", help="track at most this size (default 512)")
    p.add_argument("--still-px", type=float, default=None, metavar="PX",
                   help="steps shorter than this are 'still' (default 0.1; 0 = the paper's raw formula)")
    p.add_argument("--min-extent-px", type=float, default=None, metavar="PX",
                   help="ignore tracklets that never move this far (default 1.0; 0 keeps all)")
    p.add_argument("--clip-model", default=None, metavar="ID|DIR",
                   help="CLIP weights: hub id or local folder (default laion/CLIP-ViT-H-14-laion2B-s32B-b79K); "
                        "'tiny-random' runs an untrained tiny model")
    p.add_argument("--download", action="store_true", help="allow downloading missing CLIP / CoTracker weights")
    p.set_defaults(func=run)


def _config(args):
    from amg.eval import EvalConfig

    config = EvalConfig(tracker=args.tracker, grid_step_px=args.grid_step, resample=args.resample,
                        max_side=args.max_side or None, allow_download=args.download)
    if args.grid_step <= 0:
        raise AmgError(f"--grid-step must be a positive number of pixels, got {args.grid_step}")
    if args.clip_model:
        config.clip_model = args.clip_model
    if args.still_px is not None:
        config.motion.still_px = args.still_px
    if args.min_extent_px is not None:
        config.motion.min_extent_px = args.min_extent_px
    config.cotracker.checkpoint = args.cotracker_checkpoint
    config.cotracker.repo_dir = args.cotracker_repo
    config.cotracker.allow_download = args.download
    return config


def _read_mask(path: str):
    import cv2
    import numpy as np

    if not Path(path).is_file():
        raise AmgError(f"--mask {path}: file not found")
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise AmgError(f"--mask {path}: cannot read as an image")
    if image.ndim == 3:
        image = image[..., 3] if image.shape[2] == 4 else image.max(axis=2)
    return np.asarray(image) > 127


def _write_png(path: str, rgb) -> None:
    import cv2

    from amg.files import atomic_write_bytes

    ok, data = cv2.imencode(".png", rgb[..., ::-1])
    if not ok:
        raise AmgError(f"--tracks-png {path}: could not encode the image")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(path), data.tobytes())


def _format_result(r) -> str:
    h, w = r.size_compared
    lines = []
    if r.motion_fidelity is None:
        lines.append("Motion Fidelity: n/a")
    else:
        lines.append(f"Motion Fidelity: {r.motion_fidelity:.2f} / 100  (raw {r.motion_fidelity_raw:.4f} of 2)")
    lines.append(f"  tracker {r.tracker}: {r.tracklets_generated} generated / {r.tracklets_reference} reference "
                 f"moving tracklets; {r.frames_compared} frames at {w}x{h} "
                 f"(given {r.frames_generated} generated, {r.frames_reference} reference)")
    if r.clip_status == "ok":
        flag = "  [UNTRAINED weights: not a real score]" if r.clip_untrained else ""
        lines.append(f"CLIP score: {r.clip_score:.2f}  ({r.clip_model}, mean of {len(r.clip_per_frame)} frames){flag}")
    else:
        lines.append(f"CLIP score: {r.clip_status}" + (f" ({r.clip_reason})" if r.clip_reason else ""))
    lines += [f"note: {n}" for n in r.notes]
    lines.append(f"({r.seconds:.2f} s)")
    return "\n".join(lines)


def _run_pair(args, config) -> int:
    from tqdm import tqdm

    from amg.eval import evaluate_pair

    if not args.reference:
        raise AmgError("--reference is required with --video (the video whose motion should be followed)")
    mask = _read_mask(args.mask) if args.mask else None
    if args.mask_box and mask is None:
        raise AmgError("--mask-box needs --mask")
    with tqdm(total=100, desc="amg eval", file=sys.stderr, disable=args.json, leave=False,
              bar_format="{desc}: {percentage:3.0f}% |{bar}| {postfix}") as bar:
        def progress(fraction: float, message: str):
            bar.set_postfix_str(message)
            bar.update(round(100 * fraction) - bar.n)

        result = evaluate_pair(args.video, args.reference, args.prompt, config, mask=mask,
                               mask_box=args.mask_box, progress=progress, panel=bool(args.tracks_png))
    if args.tracks_png:
        _write_png(args.tracks_png, result.panel)
        result.notes.append(f"tracklets drawn in {args.tracks_png}")
    print(json.dumps(result.to_dict(), indent=2) if args.json else _format_result(result))
    return 0


def _bar_progress(bar):
    """progress(done, total, name) that moves a tqdm bar."""
    def progress(done: int, total: int, name: str):
        bar.total = total
        bar.set_postfix_str(name)
        bar.update(done - bar.n)

    return progress


def _run_world_table(args) -> int:
    """A synthetic-world evaluation folder: scores against the ground truth, table and figure."""
    from tqdm import tqdm

    from amg.eval.world_table import write_world_results

    if len(args.table) != 1:
        raise AmgError("--table with a synthetic-world evaluation folder takes that one folder only")
    with tqdm(desc="amg eval", unit="clip", file=sys.stderr, leave=False) as bar:
        markdown, summary, path = write_world_results(args.table[0], args.out, progress=_bar_progress(bar))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(markdown, end="")
        print(f"\nwrote {path} and its .json and .png (condition | variants | ground truth)")
    return 0


def _run_table(args, config) -> int:
    from tqdm import tqdm

    from amg.eval.world_table import is_world_eval

    if len(args.table) >= 1 and is_world_eval(args.table[0]):
        return _run_world_table(args)

    from amg.eval.table import evaluate_runs, summarize, table_csv, table_markdown
    from amg.files import atomic_write_text

    if args.reference or args.mask or args.tracks_png:
        raise AmgError("--table takes its references from the run folders: drop --reference/--mask/--tracks-png")
    with tqdm(desc="amg eval", unit="pair", file=sys.stderr, leave=False) as bar:
        scores = evaluate_runs(args.table, config, progress=_bar_progress(bar))
    summary = summarize(scores)
    markdown, csv_text = table_markdown(summary), table_csv(scores, summary)
    prefix = Path(args.out) if args.out else Path(args.table[0]) / "eval_table"
    md_path, csv_path = prefix.with_name(prefix.name + ".md"), prefix.with_name(prefix.name + ".csv")
    md_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(md_path, markdown)
    atomic_write_text(csv_path, csv_text)
    for s in scores:
        if s.error:
            print(f"amg eval: {s.run}/{s.triplet.name} skipped: {s.error}", file=sys.stderr)
    if args.json:
        print(json.dumps({"runs": summary, "pairs": [dict(run=s.run, name=s.triplet.name, error=s.error,
                                                         **(s.result.to_dict() if s.result else {}))
                                                    for s in scores]}, indent=2))
    else:
        print(markdown, end="")
        print(f"\nwrote {md_path} and {csv_path}")
    return 0


def run(args: argparse.Namespace) -> int:
    config = _config(args)
    return _run_table(args, config) if args.table else _run_pair(args, config)
