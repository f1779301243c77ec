"""Motion library performance: import + retarget + ground, inverse kinematics, search.

    python benchmarks/bench_motion.py [--repeat 3]

Uses ../shared/samples (AMASS and HumanML3D samples). Prints median seconds of
`--repeat` runs; the machine is shared, so read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not SAMPLES.is_dir():
        print(f"samples not found at {SAMPLES}")
        return 1
    import torch

    from amg.body.anny_body import AnnyBody
    from amg.motion import edit
    from amg.motion.formats import load_motion_file
    from amg.motion.ik import joints_to_motion
    from amg.motion.skeleton import forward_kinematics

    print(f"torch threads {torch.get_num_threads()}")
    # ---- a 10 s, 120 fps AMASS clip: the sample (5 s) played twice -----------------------
    raw = dict(np.load(SAMPLES / "motion" / "amass_sample_amassrepo.npz"))
    clip = {k: raw[k] for k in ("betas", "gender", "mocap_framerate")}
    clip["poses"] = np.concatenate([raw["poses"], raw["poses"][::-1]])[:1200]
    clip["trans"] = np.concatenate([raw["trans"], raw["trans"][::-1]])[:1200]
    body = AnnyBody()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "amass_10s.npz"
        np.savez(path, **clip)
        t_import, motion = timed(lambda: load_motion_file(path)[0], args.repeat)
        t_ground, grounded = timed(lambda: edit.ground(motion), args.repeat)
        t_rot, _ = timed(lambda: body.bone_pose_parameters(grounded), args.repeat)

        def mesh():
            for s in range(0, grounded.num_frames, 120):
                sub = edit.trim(grounded, s / grounded.fps, min((s + 119) / grounded.fps, grounded.duration))
                body.pose(sub)

        t_mesh, _ = timed(mesh, 1)
    n = motion.num_frames
    print(f"AMASS 10 s @ 120 fps ({n} frames):")
    print(f"  import (npz -> Motion, Z-up -> Y-up)        {t_import:8.3f} s")
    print(f"  ground (sole contact, one offset)           {t_ground:8.3f} s")
    print(f"  retarget rotations onto Anny (all frames)   {t_rot:8.3f} s")
    print(f"  import + retarget + ground                  {t_import + t_ground + t_rot:8.3f} s")
    print(f"  + skinning every frame's mesh (Anny, LBS)   {t_mesh:8.3f} s  ({n / t_mesh:.0f} frames/s)")

    # ---- inverse kinematics of a 200-frame joint-position file ---------------------------
    joints = np.load(SAMPLES / "motion" / "humanml3d_new_joints_012314.npy").astype(np.float64)
    joints = np.concatenate([joints, joints[::-1]])[:200]
    t_ik, solved = timed(lambda: joints_to_motion(joints, 20.0), args.repeat)
    fk = forward_kinematics(solved.local_rotations(), solved.transl)
    scale = solved.meta["source_scale"]  # the motion is kept at the canonical size
    err = np.linalg.norm(fk - joints / scale, axis=-1)
    limbs = [4, 5, 7, 8, 10, 11, 18, 19, 20, 21]
    print(f"IK of 200 frames of HumanML3D joints:          {t_ik:8.3f} s  ({200 / t_ik:.0f} frames/s, target >= 50)")
    print(f"  source skeleton {scale:.3f} x canonical; mean joint error against the positions at the canonical "
          f"size {100 * err.mean():.2f} cm (limbs {100 * err[:, limbs].mean():.2f} cm; SMPL's hip and spine "
          f"layout vs the avatar's included)")

    # ---- text search --------------------------------------------------------------------
    from amg.motion.search import search

    t_first, _ = timed(lambda: search("two people boxing"), 1)
    t_search, ranked = timed(lambda: search("a couple dancing a waltz"), args.repeat)
    print(f"search: first query (model load, cached library) {t_first:.3f} s; then {t_search * 1000:.0f} ms "
          f"per query (top: {ranked[0][0].name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
