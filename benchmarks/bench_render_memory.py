"""Memory of `amg render` on a long clip: every pass, PNG sequences and the masks file.

    python benchmarks/bench_render_memory.py [--frames 480] [--size 512] [--people 2] [--root CHECKOUT]

Runs the CLI (`amg.cli.main`) in a fresh process (one thread) on a scene of walking, waving
people seen by an orbiting camera: first a 1-frame render of the same scene (avatars built,
the GL context up: the baseline), then the long one with `--passes rgb,depth,pose,mask,pose+depth
--frames-dir --masks`. Prints the peak resident memory (VmHWM) after each, the growth the long
render added, and its seconds. `--root` measures another checkout (e.g. main before streaming).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CODE = """
import json, sys, time
from pathlib import Path
from amg.cli import main

def peak_mb():  # VmHWM: this program's own peak (ru_maxrss keeps the forking parent's size across exec)
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024

frames, size, people, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
scene = {"people": [{"id": f"p{i}", "motion": {"source": ["walk", "wave", "jump", "idle"][i % 4]},
                     "placement": {"x": 1.2 * i - 0.6 * (people - 1), "z": 0.3 * (i % 2)}} for i in range(people)],
         "camera": {"preset": "orbit", "params": {"angle": 360.0}},
         "render": {"width": size, "height": size, "frames": frames, "fps": 8.0}}
(out / "scene.json").write_text(json.dumps(scene))
def render(n, name):
    code = main(["render", str(out / "scene.json"), "-o", str(out / f"{name}.mp4"), "--frames", str(n),
                 "--passes", "rgb,depth,pose,mask,pose+depth", "--frames-dir", str(out / f"{name}.frames"),
                 "--masks", str(out / f"{name}.npz")])
    assert code == 0, code
render(1, "warm")
base = peak_mb()
start = time.perf_counter()
render(frames, "long")
print(json.dumps({"frames": frames, "size": size, "people": people, "seconds": round(time.perf_counter() - start, 1),
                  "baseline_peak_mb": round(base), "peak_mb": round(peak_mb()), "growth_mb": round(peak_mb() - base)}))
"""


def measure(root: Path, frames: int, size: int, people: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
        out = subprocess.run([sys.executable, "-c", CODE, str(frames), str(size), str(people), tmp],
                             capture_output=True, text=True, env=env, cwd=root, timeout=7200)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=480)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--people", type=int, default=2)
    p.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    args = p.parse_args()
    print(json.dumps({"root": str(args.root), **measure(args.root.resolve(), args.frames, args.size, args.people)}))


if __name__ == "__main__":
    main()
