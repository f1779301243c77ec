"""Evaluation speed: scoring a 16-frame 256x256 (generated, reference) pair with the
classical tracker (target: under 1 s on the 2-core CPU), and the tracklet counts.

    python benchmarks/bench_eval.py [--repeats 5]

Prints medians over repeats: from arrays (tracking + scoring), from MP4 files (adds
decoding), per tracker variant, and the cost of the score itself at CoTracker's 55x55 grid.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def median_seconds(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import cv2

    from amg.eval import EvalConfig, correlation_matrix, evaluate_pair
    from amg.eval.motion_fidelity import symmetric_nearest_neighbour
    from amg.eval.synthetic import moving_blobs_video
    from amg.video import write_mp4

    cv2.setNumThreads(1)  # the shared machine: measure one core's work
    # A reference with a still textured backdrop (like a real scene) and a generated video
    # with the same motion shifted, as a well-behaved generator would give.
    ref, _ = moving_blobs_video(num_frames=16, size=256, num_blobs=8, seed=0, textured_background=True)
    gen, _ = moving_blobs_video(num_frames=16, size=256, num_blobs=8, seed=0, offset=(10, -6))
    print(f"pair: 16 frames, 256x256, 8 moving textured blobs (reference on a still textured backdrop); "
          f"median of {args.repeats}, cv2 threads 1")

    for tracker, label in (("lk", "Lucas-Kanade, good features (default classical)"), ("lk-grid", "Lucas-Kanade, 8 px grid")):
        config = EvalConfig(tracker=tracker)
        seconds, result = median_seconds(lambda: evaluate_pair(gen, ref, config=config), args.repeats)
        print(f"  {label}: {seconds:.3f} s from arrays; motion fidelity {result.motion_fidelity:.2f}; "
              f"moving tracklets used {result.tracklets_generated} generated / {result.tracklets_reference} reference")

    from amg.eval.evaluate import track

    for tracker in ("lk", "lk-grid"):
        tracks = track(ref, EvalConfig(tracker=tracker))
        print(f"  {tracks.tracker}: seeded {tracks.seeded}, kept {len(tracks)} over 16 frames, "
              f"moving (>= 1 px) {len(tracks.moving(1.0))}")

    with tempfile.TemporaryDirectory() as tmp:
        gen_path, ref_path = write_mp4(gen, Path(tmp) / "gen.mp4", fps=8), write_mp4(ref, Path(tmp) / "ref.mp4", fps=8)
        config = EvalConfig(tracker="lk")
        seconds, result = median_seconds(lambda: evaluate_pair(gen_path, ref_path, config=config), args.repeats)
        print(f"  from MP4 files (decode + track + score), Lucas-Kanade: {seconds:.3f} s; "
              f"motion fidelity {result.motion_fidelity:.2f} (H.264 round trip)")

    rng = np.random.default_rng(0)
    a = np.cumsum(rng.normal(size=(55 * 55, 16, 2)), axis=1).astype(np.float32)
    b = np.cumsum(rng.normal(size=(55 * 55, 16, 2)), axis=1).astype(np.float32)
    seconds, _ = median_seconds(lambda: symmetric_nearest_neighbour(correlation_matrix(a, b, 0.1)), args.repeats)
    print(f"  score alone for 3025 x 3025 tracklets (CoTracker's 55x55 grid): {seconds:.3f} s")


if __name__ == "__main__":
    main()
