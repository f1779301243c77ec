"""The synthetic world's results table: generated clips of several variants scored against a
ground truth (`amg.eval.ground_truth`), summarised Table-1 style, with a figure of frames.

An evaluation folder (written by `amg.synthetic.experiment`) holds:

    world_eval.json                 format "amg-world-eval"; variants; clips; background centroids;
                                    segmenter (optional): the people segmenter's file in the folder
    truth/<clip>.npz                condition, real, plate (T,H,W,3) uint8; masks (T,P,H,W) bool
    <variant>/<clip>.npz            frames (T,H,W,3) uint8 (and <clip>.mp4 to watch)

`amg eval --table FOLDER` recognises it and writes FOLDER/results.md, results.json and
results.png (condition | each variant | ground truth).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from amg.errors import AmgError
from amg.eval.ground_truth import people_pixels, score_clip
from amg.files import atomic_write_bytes, atomic_write_text

FORMAT = "amg-world-eval"
MANIFEST = "world_eval.json"
GROUND_TRUTH = "ground truth"


def is_world_eval(folder: str | Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise AmgError(f"{folder / MANIFEST}: cannot read ({e})") from None
    if manifest.get("format") != FORMAT:
        raise AmgError(f"{folder / MANIFEST}: not a synthetic-world evaluation (format must be {FORMAT!r})")
    return manifest


def _load(path: Path) -> dict:
    if not path.is_file():
        raise AmgError(f"{path}: missing")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _people_detector(folder: Path, manifest: dict) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """(frames, plate) -> (T, H, W) bool: the folder's people segmenter, else the clean-plate difference."""
    if not manifest.get("segmenter"):
        return people_pixels
    from amg.eval.segmenter import load_segmenter, segment_people

    model = load_segmenter(folder / manifest["segmenter"])
    return lambda frames, plate: segment_people(model, frames)


def score_world(folder: str | Path, progress: Callable[[int, int, str], None] | None = None) -> list[dict]:
    """One row per (variant, clip), ground truth included."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    variants = [v["name"] for v in manifest["variants"]] + [GROUND_TRUTH]
    rows, total, done = [], len(variants) * len(manifest["clips"]), 0
    people = _people_detector(folder, manifest)
    for clip in manifest["clips"]:
        truth = _load(folder / "truth" / f"{clip['id']}.npz")
        truth["info"] = clip["info"]
        for v, variant in zip(variants, [v.get("folder", v["name"]) for v in manifest["variants"]] + [None]):
            frames = truth["real"] if variant is None else _load(folder / variant / f"{clip['id']}.npz")["frames"]
            row = score_clip(frames, truth, people(frames, truth["plate"]), manifest["centroids"],
                             clip["camera_moves"])
            rows.append({"variant": v, "clip": clip["id"], "camera": clip["info"]["camera"],
                         "floor": clip["info"]["floor"], **row})
            done += 1
            if progress is not None:
                progress(done, total, f"{v} / {clip['id']}")
    return rows


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def summarize_world(rows: list[dict]) -> list[dict]:
    out = []
    for variant in dict.fromkeys(r["variant"] for r in rows):
        rs = [r for r in rows if r["variant"] == variant]
        orbit = [r for r in rs if r["camera"] == "orbit"]
        out.append({
            "variant": variant, "clips": len(rs),
            "motion_fidelity": _mean(r["motion_fidelity"] for r in rs),
            "psnr": _mean(r["psnr"] for r in rs), "ssim": _mean(r["ssim"] for r in rs),
            "placement_iou": _mean(r["placement_iou"] for r in rs),
            "people_motion": _mean(r.get("people_motion") for r in rs),
            "background_accuracy": _mean(float(r["background_ok"]) for r in rs),
            "background_motion_orbit_grid": _mean(r["background_motion"] for r in orbit if r["floor"]),
            "background_motion_orbit_no_grid": _mean(r["background_motion"] for r in orbit if not r["floor"]),
            "orbit_clips_grid": sum(1 for r in orbit if r["floor"]),
            "orbit_clips_no_grid": sum(1 for r in orbit if not r["floor"]),
        })
    return out


def _fmt(v, digits=2) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def world_table_markdown(summary: list[dict]) -> str:
    lines = ["| Variant | Clips | Motion Fidelity ↑ | PSNR ↑ | SSIM ↑ | Placement IoU ↑ | People motion ↑ "
             "| Background from text ↑ | Orbit: background moves, grid on ↑ | Orbit: background moves, grid off ↑ |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in summary:
        lines.append(f"| {s['variant']} | {s['clips']} | {_fmt(s['motion_fidelity'])} | {_fmt(s['psnr'])} | "
                     f"{_fmt(s['ssim'], 3)} | {_fmt(s['placement_iou'], 3)} | {_fmt(s['people_motion'], 1)} | "
                     f"{_fmt(s['background_accuracy'], 3)} | "
                     f"{_fmt(s['background_motion_orbit_grid'], 1)} (n={s['orbit_clips_grid']}) | "
                     f"{_fmt(s['background_motion_orbit_no_grid'], 1)} (n={s['orbit_clips_no_grid']}) |")
    lines += ["", "Means over the held-out clips (motions, camera paths and background/people combinations never "
              "seen in training). Motion Fidelity (0-100) against the condition video; PSNR (dB) and SSIM against "
              "the ground-truth video; placement IoU of the generated people pixels (found by the world's people "
              "segmenter; without one, by difference from the clean plate) with the condition's; people motion: "
              "agreement (x100) of those pixels' centroid motion with the condition's; background from text: "
              "share of clips whose background is classified as the caption's class (nearest colour-statistics centroid); orbit: agreement (x100) of the "
              "background's optical flow with the ground truth's, for clips with and without the floor grid in "
              "the condition. Definitions: amg/eval/ground_truth.py."]
    return "\n".join(lines) + "\n"


def _label(image: np.ndarray, text: str) -> np.ndarray:
    import cv2

    bar = np.full((14, image.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (2, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, image], axis=0)


def world_figure(folder: str | Path, clips: int = 4, frames: tuple[int, ...] = (0, -1), scale: int = 2) -> np.ndarray:
    """(H, W, 3) uint8: per clip and frame, condition | each variant | ground truth."""
    import cv2

    folder = Path(folder)
    manifest = read_manifest(folder)
    variants = manifest["variants"]
    rows = []
    for clip in manifest["clips"][:clips]:
        truth = _load(folder / "truth" / f"{clip['id']}.npz")
        videos = [("condition", truth["condition"])]
        videos += [(v["name"], _load(folder / v.get("folder", v["name"]) / f"{clip['id']}.npz")["frames"])
                   for v in variants]
        videos.append((GROUND_TRUTH, truth["real"]))
        for t in frames:
            tiles = []
            for name, video in videos:
                f = cv2.resize(video[t], None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
                tiles.append(_label(f, name if len(rows) == 0 else ""))
                tiles.append(np.full((tiles[-1].shape[0], 2, 3), 255, np.uint8))
            rows.append(np.concatenate(tiles, axis=1))
            rows.append(np.full((2, rows[-1].shape[1], 3), 255, np.uint8))
    return np.concatenate(rows, axis=0)


def write_world_results(folder: str | Path, out: str | Path | None = None,
                        progress: Callable[[int, int, str], None] | None = None) -> tuple[str, list[dict], Path]:
    """Score the folder; write OUT.md, OUT.json, OUT.png (default FOLDER/results.*). Returns the Markdown,
    the summary and the Markdown path."""
    import cv2

    folder = Path(folder)
    rows = score_world(folder, progress)
    summary = summarize_world(rows)
    markdown = world_table_markdown(summary)
    prefix = Path(out) if out else folder / "results"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    md = prefix.with_name(prefix.name + ".md")
    atomic_write_text(md, markdown)
    atomic_write_text(prefix.with_name(prefix.name + ".json"),
                      json.dumps({"summary": summary, "clips": rows}, indent=1) + "\n")
    ok, png = cv2.imencode(".png", world_figure(folder)[..., ::-1])
    if ok:
        atomic_write_bytes(prefix.with_name(prefix.name + ".png"), png.tobytes())
    return markdown, summary, md
