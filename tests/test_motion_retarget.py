"""Retargeting is right, not merely running: checked on the avatar (Anny) itself."""

from __future__ import annotations

import numpy as np
import pytest

from amg.avatar.avatar import build_avatars
from amg.body.anny_body import AnnyBody
from amg.motion import edit
from amg.motion.formats import load_motion_file
from amg.motion.ik import joints_to_motion
from amg.motion.library import load_preset
from amg.motion.motion import JOINT_INDEX as J, Motion
from amg.motion.skeleton import PELVIS_HEIGHT
from amg.scene import AvatarSpec

LIMBS = [J[f"{s}_{j}"] for s in ("left", "right") for j in ("knee", "ankle", "foot", "elbow", "wrist")]


@pytest.fixture(scope="module")
def body():
    return AnnyBody()


def test_wave_raises_the_right_hand_and_its_mirror_the_left(body, samples_dir):
    wave = load_motion_file(samples_dir / "mocap" / "141_16.bvh")[0]
    wave = edit.resample(edit.trim(wave, 1 / wave.fps, None), 10.0)
    for motion, up, still in ((wave, "right_wrist", "left_wrist"), (edit.mirror(wave), "left_wrist", "right_wrist")):
        j = body.pose(motion).joints
        rel = j[..., 1] - j[:, :1, 1]  # height above the pelvis
        assert rel[:, J[up]].max() - rel[0, J[up]] > 0.4, f"{up} must rise"
        assert rel[:, J[still]].max() - rel[0, J[still]] < 0.1, f"{still} must not rise"


def test_left_arm_raise_through_bvh(body, tmp_path):
    """A synthetic left-arm raise written as BVH and read back moves only the avatar's left arm."""
    from amg.motion.formats.bvh import import_bvh, save_bvh

    m = Motion.rest(5, fps=10)
    pose = m.body_pose.reshape(5, 21, 3)
    pose[:, J["left_shoulder"] - 1, 2] = np.linspace(-1.2, 0.6, 5)  # from hanging to raised
    save_bvh(Motion(m.global_orient, pose.reshape(5, 63), m.transl, fps=10), tmp_path / "raise.bvh")
    j = body.pose(import_bvh(tmp_path / "raise.bvh")).joints
    assert j[-1, J["left_wrist"], 1] - j[0, J["left_wrist"], 1] > 0.6
    assert np.abs(j[:, J["right_wrist"]] - j[0, J["right_wrist"]]).max() < 1e-4


def _contact_phases(flat: np.ndarray) -> list[tuple[int, int]]:
    phases, start = [], None
    for i, c in enumerate(list(flat) + [False]):
        if c and start is None:
            start = i
        if not c and start is not None:
            if i - start >= 3:
                phases.append((start, i))
            start = None
    return phases


@pytest.mark.parametrize("name", ["walk", "walk_veer_left"])
def test_walk_feet_alternate_stay_on_the_floor_and_do_not_slide(body, name):
    m = edit.ground(load_preset(name)[0])
    posed = body.pose(m)
    v, j = posed.vertices, posed.joints
    assert v[..., 1].min() > -0.01, "no part of a foot more than 1 cm below the floor"
    soles = edit.sole_points(m)  # (T, 2, K, 3) heel, ball... of each foot
    lower = soles[..., 1].min(-1).argmin(1)  # which foot is lower
    assert np.count_nonzero(np.diff(lower)) >= 4, "the supporting foot must alternate"
    for side, ankle in ((0, J["left_ankle"]), (1, J["right_ankle"])):
        flat = (soles[:, side, 1, 1] < 0.02) & (soles[:, side, 3, 1] < 0.02)  # heel and ball down
        phases = _contact_phases(flat)
        assert phases, f"foot {side} never stands flat on the floor"
        for a, b in phases:
            slide = np.linalg.norm(j[a:b, ankle][:, [0, 2]] - j[a, ankle][[0, 2]], axis=1).max()
            assert slide < 0.02, f"foot {side} slides {slide:.3f} m in contact (frames {a}-{b})"


def test_ik_reproduces_joint_positions_of_our_skeleton(body, samples_dir):
    """Positions made by the avatar itself are solved back to within 1 cm."""
    src = edit.resample(load_preset("jump")[0], 15.0)
    target = body.pose(src).joints.astype(np.float64)
    solved = joints_to_motion(target, 15.0)
    err = np.linalg.norm(body.pose(solved).joints - target, axis=-1)
    assert err.mean() < 0.01, f"mean {err.mean():.4f} m"


def _height_for_size(scale: float, age: float) -> float:
    """Anny's height value giving a body of `age` whose standing pelvis is `scale` times the
    canonical one (secant steps)."""
    def size(h):
        return AnnyBody({"age": age, "height": h}).pelvis_height() / PELVIS_HEIGHT

    h0, h1 = 0.3, 0.4
    k0, k1 = size(h0), size(h1)
    for _ in range(2):
        h0, k0, h1 = h1, k1, h1 + (scale - k1) * (h1 - h0) / (k1 - k0)
        k1 = size(h1)
    assert abs(k1 - scale) < 2e-3
    return h1


def test_ik_on_humanml3d_joints(body, samples_dir):
    """HumanML3D's skeleton is ~6% bigger than the average avatar. The import measures that,
    solves the rotations at the performer's size and keeps the motion at the canonical size:
    the average avatar follows the positions scaled to its size, and an avatar as big as the
    performer reproduces the positions themselves, both within 3 cm mean over all 22 joints."""
    path = samples_dir / "motion" / "humanml3d_new_joints_012314.npy"
    target = np.load(path).astype(np.float64)
    m = load_motion_file(path)[0]
    scale = m.meta["source_scale"]
    assert 1.03 < scale < 1.09, scale
    err = np.linalg.norm(body.pose(m).joints - target / scale, axis=-1)  # (T, 22)
    assert err.mean() < 0.03, f"average avatar, all joints {err.mean():.4f} m"
    assert err[:, LIMBS].mean() < 0.02, f"average avatar, limb joints {err[:, LIMBS].mean():.4f} m"
    age = 0.5  # the canonical skeleton's build (amg.motion.skeleton), made taller
    performer = build_avatars([AvatarSpec(phenotype={"age": age, "height": _height_for_size(scale, age)})])[0]
    err = np.linalg.norm(performer.pose(m).joints - target, axis=-1)
    assert err.mean() < 0.03, f"performer-size avatar, all joints {err.mean():.4f} m"
    assert err[:, LIMBS].mean() < 0.02, f"performer-size avatar, limb joints {err[:, LIMBS].mean():.4f} m"


def test_long_joint_files_are_solved_in_chunks_with_progress(samples_dir):
    target = np.load(samples_dir / "motion" / "humanml3d_new_joints_012314.npy").astype(np.float64)[:50]
    calls = []
    chunked = joints_to_motion(target, 20.0, progress=lambda done, total: calls.append((done, total)), chunk=20)
    assert calls == [(20, 50), (40, 50), (50, 50)]
    whole = joints_to_motion(target, 20.0)
    diff = np.linalg.norm(edit.joints(chunked) - edit.joints(whole), axis=-1)
    assert diff.mean() < 0.01
