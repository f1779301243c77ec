"""Benchmark of motion capture from video (amg.capture): frames per second of video -> motion
for 1, 2 and 3 people, with the share of each stage (decode, BlazePose, tracking, camera
turning, IK), and
the memory of streaming a long high-resolution file.

    python benchmarks/bench_capture.py            # 1, 2, 3 people (copies of the sample side by side)
    python benchmarks/bench_capture.py --memory   # + peak RSS of reading a synthetic 4K file (streamed)

The target: at least real time for one person at 12 fps (the sample's rate). Needs
../shared/samples/video/mmhuman3d_single_person_demo.mp4 and `amg setup` (the pose model).
Each configuration runs once after a warm-up run (the first IK call pays torch's start-up).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VIDEO = ROOT.parent / "shared" / "samples" / "video" / "mmhuman3d_single_person_demo.mp4"


def people_video(n: int, folder: Path) -> Path:
    """The sample repeated n times side by side (each copy 1080x1920 scaled to keep the frame <= 1920 wide)."""
    from amg.video import read_video, write_mp4

    if n == 1:
        return VIDEO
    frames, fps = read_video(VIDEO, max_side=960)  # (40, 960, 540, 3)
    out = np.concatenate([frames if k % 2 == 0 else frames[::-1] for k in range(n)], axis=2)
    return write_mp4(out, folder / f"people{n}.mp4", fps)


def run(video: Path, people: int) -> dict:
    from amg.capture import CaptureConfig, motion_from_video

    start = time.perf_counter()
    r = motion_from_video(video, CaptureConfig(people=people))
    wall = time.perf_counter() - start
    t = r.timings
    n = len(r.times)
    return {"people": r.num_people, "frames": n, "wall": wall, "fps": n / wall, "decode": t["decode"] / wall,
            "detect": t["detect"] / wall, "track": t["track"] / wall, "ik": t["ik"] / wall,
            "camera": t.get("camera", 0.0) / wall,
            "video_seconds": n / r.fps}


def memory(folder: Path) -> None:
    """Peak RSS while streaming a 3840x2160 file through iter_frames (a few seconds are encoded
    here; the reader holds one frame at a time, so a 10-minute file costs the same)."""
    import av

    from amg.video import iter_frames

    path = folder / "4k.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
        s.width, s.height, s.pix_fmt = 3840, 2160, "yuv420p"
        ramp = np.linspace(0, 255, 3840, dtype=np.float32)[None, :, None]
        for k in range(90):
            img = np.broadcast_to(ramp + k, (2160, 3840, 3)).astype(np.uint8)
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    n = sum(1 for _ in iter_frames(path, fps=12, max_side=1280))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"4K stream: {n} frames sampled at 12 fps from 3 s of 3840x2160 in {wall:.1f} s "
          f"({n / wall:.1f} frames/s); peak RSS {before:.0f} MB before, {after:.0f} MB after "
          f"(a whole 3 s of 4K frames would be {90 * 3840 * 2160 * 3 / 1e6:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--people", type=int, nargs="*", default=[1, 2, 3])
    args = parser.parse_args()
    if not VIDEO.exists():
        sys.exit(f"{VIDEO} is absent")
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.memory:
            memory(tmp)
        run(VIDEO, 1)  # warm-up: model load, torch start-up
        print("people  frames  wall s  frames/s  (real time at 12 fps = 12)  decode  BlazePose  track  camera  IK")
        for n in args.people:
            r = run(people_video(n, tmp), n)
            print(f"{r['people']:>6}  {r['frames']:>6}  {r['wall']:>6.1f}  {r['fps']:>8.1f}  "
                  f"{'':>27}  {r['decode']:>6.0%}  {r['detect']:>9.0%}  {r['track']:>5.0%}  {r['camera']:>6.0%}  "
                  f"{r['ik']:>3.0%}")


if __name__ == "__main__":
    main()
