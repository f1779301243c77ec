"""Camera-path speed and accuracy: what a slider drag or a file import costs.

    python benchmarks/bench_camera.py [--repeats 7]

Prints medians over repeats (milliseconds) for: building + evaluating each preset for a
16-frame render (what the UI does on every slider change) and for 1000 frames; importing
and exporting the nerfstudio sample; fitting the RealEstate10K sample onto two people.
Also prints the orbit's radius error and the nerfstudio round trip's largest deviation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from amg.camera import Subjects, fit_to_subjects, load_camera_path, make_preset, save_camera_path
from amg.camera.presets import PRESETS

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "camera"


def median_ms(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times), out


def two_people(frames: int) -> np.ndarray:
    ys = np.linspace(0.08, 1.6, 22)
    j = np.zeros((2, frames, 22, 3))
    for p, x in enumerate((-0.7, 0.7)):
        j[p, :, :, 0], j[p, :, :, 1] = x, ys
    return j


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    subjects = Subjects.from_joints(two_people(16))

    print("preset        build+evaluate 16 frames (ms)   evaluate 1000 frames (ms)   keyframes")
    for name in PRESETS:
        t16, path = median_ms(lambda: make_preset(name, {}, subjects, 15 / 8).evaluate(16, 8.0), args.repeats)
        long = make_preset(name, {}, subjects, 999 / 8)
        t1000, _ = median_ms(lambda: long.evaluate(1000, 8.0), max(1, args.repeats // 2))
        print(f"{name:12s}  {t16:29.2f}   {t1000:26.1f}   {len(make_preset(name, {}, subjects).keyframes):9d}")

    orbit = make_preset("orbit", {"angle": 360}, subjects, 15 / 8)
    c2w, _ = orbit.poses_at(np.linspace(0, 15 / 8, 5000))
    off = c2w[:, :3, 3] - subjects.centroid
    radius = np.hypot(off[:, 0], off[:, 2])
    print(f"orbit 360: radius relative error over 5000 samples {np.ptp(radius) / radius.mean():.2e}, "
          f"height spread {np.ptp(c2w[:, 1, 3]):.1e} m")

    ns = SAMPLES / "nerfstudio_camera_path_translucent.json"
    if ns.exists():
        t_in, path = median_ms(lambda: load_camera_path(ns), args.repeats)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.json"
            t_out, _ = median_ms(lambda: save_camera_path(path, out, "nerfstudio"), args.repeats)
            src, dst = json.loads(ns.read_text()), json.loads(out.read_text())
        dev = max(np.abs(np.array(a["camera_to_world"]) - np.array(b["camera_to_world"])).max()
                  for a, b in zip(src["camera_path"], dst["camera_path"]))
        print(f"nerfstudio sample ({len(path.keyframes)} keys, {len(path.samples)} cameras): import {t_in:.2f} ms, "
              f"export {t_out:.2f} ms, round-trip max |c2w diff| {dev:.1e}")
    else:
        print(f"nerfstudio sample absent ({ns}): skipped")

    re10k = SAMPLES / "re10k_cameractrl_0bf152ef84195293.txt"
    if re10k.exists():
        t_in, path = median_ms(lambda: load_camera_path(re10k), args.repeats)
        t_fit, _ = median_ms(lambda: fit_to_subjects(path, subjects).evaluate(16, 8.0, retime=True), args.repeats)
        print(f"RealEstate10K sample ({len(path.keyframes)} poses): import {t_in:.2f} ms, "
              f"fit + retime + evaluate 16 frames {t_fit:.2f} ms")
    else:
        print(f"RealEstate10K sample absent ({re10k}): skipped")


if __name__ == "__main__":
    main()
