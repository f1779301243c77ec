"""`amg setup`: one-time preparation after install (Anny's body data, the BlazePose model files)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("setup", help="prepare the embedded body model and the pose model (run once after install)")
    p.add_argument("--pose-wheel", help="build the pose model from this mediapipe 0.10.21 wheel file instead of "
                                        "downloading it with pip")
    p.add_argument("--skip-pose", action="store_true", help="do not build the pose model (no motion from video)")
    p.set_defaults(func=run)


def run(args) -> int:
    from amg.body.anny_model import ensure_compact_data

    path = ensure_compact_data()
    print(f"Anny body data: {path}")
    if not getattr(args, "skip_pose", False):
        from amg.capture.models import ensure_pose_task

        print(f"Pose model: {ensure_pose_task(wheel=getattr(args, 'pose_wheel', None))}")
    return 0
