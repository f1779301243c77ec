"""Memory of one live preview at the scene limits (8 people, 1024x1024, 1000 frames).

    python benchmarks/bench_preview_memory.py [--frames 1000] [--root CHECKOUT]

Runs `app.preview.render_preview` in a fresh process (one thread): first a 1-frame preview
of the same scene (avatars built, the GL context up: the baseline), then the full one.
Prints the peak resident memory (RSS, VmHWM) after each, the growth the full preview added, the
preview's size and seconds. `--root` measures another checkout (e.g. an older commit).
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
from amg.scene import MAX_PEOPLE, MAX_SIZE, Scene
from app.preview import preview_scene, render_preview

def peak_mb():  # VmHWM: this program's own peak (ru_maxrss keeps the forking parent's size across exec)
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024

frames, out = int(sys.argv[1]), Path(sys.argv[2])
people = [{"id": f"p{i}", "motion": {"source": ["walk", "idle", "wave", "jump"][i % 4]},
           "placement": {"x": (i % 4) - 1.5, "z": (i // 4) * 1.5}} for i in range(MAX_PEOPLE)]
def scene(n):
    return Scene.from_dict({"people": people, "render": {"width": MAX_SIZE, "height": MAX_SIZE, "frames": n, "fps": 8.0}})
render_preview(scene(1), out / "warm.mp4")
base = peak_mb()
start = time.perf_counter()
pv = render_preview(scene(frames), out / "full.mp4")
r = preview_scene(scene(frames)).render
print(json.dumps({"frames": frames, "preview": [r.frames, r.width, r.height], "seconds": round(time.perf_counter() - start, 1),
                  "baseline_peak_mb": round(base), "peak_mb": round(peak_mb()), "growth_mb": round(peak_mb() - base)}))
"""


def measure(root: Path, frames: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
        out = subprocess.run([sys.executable, "-c", CODE, str(frames), tmp], capture_output=True, text=True,
                             env=env, cwd=root, timeout=3600)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=1000)
    p.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    args = p.parse_args()
    print(json.dumps({"root": str(args.root), **measure(args.root.resolve(), args.frames)}))


if __name__ == "__main__":
    main()
