"""Pick the avatar guidance of a synthetic experiment on validation clips (not the table's).

    PYTHONPATH=. python tools/pick_avatar_guidance.py EXPERIMENT [--scales none 3 6 9] [--clips 8]

The table (`amg.synthetic.experiment`, stage eval) scores the first `eval_clips` held-out
clips; this generates the *next* held-out clips with the trained adapters at each avatar
guidance scale ("none": text guidance only, as the paper samples) and prints their placement
IoU (the world's people segmenter) and Motion Fidelity, so the scale is chosen without
looking at the table's clips. Then: `python -m amg.synthetic.experiment EXPERIMENT
--avatar-guidance S` (after renaming the eval stage in experiment.json to redo it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from amg.eval.ground_truth import motion_fidelity, placement_iou
from amg.eval.segmenter import SEGMENTER_FILE, load_segmenter, segment_people
from amg.model.pipeline import AMGPipeline
from amg.synthetic.data import load_truth
from amg.synthetic.experiment import STATE_FILE
from amg.train.dataset import TrainingData


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("experiment", type=Path)
    p.add_argument("--scales", nargs="+", default=["none", "3", "6", "9"])
    p.add_argument("--clips", type=int, default=8)
    args = p.parse_args()
    torch.set_num_threads(1)
    out = args.experiment
    config = json.loads((out / STATE_FILE).read_text())["config"]
    test = TrainingData.open(out / "data" / "test")
    clips = test.clips[config["eval_clips"]:config["eval_clips"] + args.clips]
    if not clips:
        raise SystemExit(f"{out}: no held-out clips beyond the table's {config['eval_clips']}")
    pipe = AMGPipeline.from_pretrained(str(out / "model"), out / "adapters", device="cpu")
    pipe.fuse_adapters()
    segmenter = load_segmenter(out / "segmenter" / SEGMENTER_FILE)
    scales = [None if s == "none" else float(s) for s in args.scales]
    scores = {s: [] for s in scales}
    with tqdm(total=len(clips) * len(scales), desc="validation clips") as bar:
        for k, clip in enumerate(clips):
            truth = load_truth(clip.folder(test.root))
            for s in scales:
                frames = pipe(prompt=clip.caption, condition=truth["condition"],
                              num_inference_steps=config["eval_steps"], guidance_scale=config["guidance"], avatar_guidance_scale=s,
                              generator=torch.Generator().manual_seed(1000 + k)).frames
                scores[s].append((placement_iou(segment_people(segmenter, frames), truth["masks"]),
                                  motion_fidelity(frames, truth["condition"], truth["masks"]) or 0.0))
                bar.update()
    print(f"{len(clips)} validation clips ({clips[0].id} .. {clips[-1].id}), {config['eval_steps']} DDIM steps, "
          f"text guidance {config['guidance']}")
    for s in scales:
        a = np.asarray(scores[s])
        print(f"avatar guidance {'none' if s is None else s:>5}: placement IoU {a[:, 0].mean():.3f}  "
              f"Motion Fidelity {a[:, 1].mean():.2f}")


if __name__ == "__main__":
    main()
