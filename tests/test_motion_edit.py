"""Motion editing: trim, speed, loop, mirror, resample, place, ground."""

from __future__ import annotations

import numpy as np
import pytest

from amg.errors import AmgError
from amg.motion import edit
from amg.motion.formats import load_motion_file
from amg.motion.motion import JOINT_INDEX as J, Motion



def _arm_raise(frames=10, side="left", fps=10.0) -> Motion:
    m = Motion.rest(frames, fps=fps)
    pose = m.body_pose.reshape(frames, 21, 3)
    sign = 1.0 if side == "left" else -1.0
    pose[:, J[f"{side}_shoulder"] - 1, 2] = sign * np.linspace(0, 1.2, frames)  # +Z lifts the +X arm
    return Motion(m.global_orient, pose.reshape(frames, 63), m.transl + [0.3, 0, 0], fps=fps)


def test_mirror_swaps_sides_and_is_its_own_inverse():
    m = _arm_raise(side="left")
    mm = edit.mirror(m)
    j, jm = edit.joints(m), edit.joints(mm)
    # the raised arm is now the right one, at the mirrored place
    np.testing.assert_allclose(jm[:, J["right_wrist"]], j[:, J["left_wrist"]] * [-1, 1, 1], atol=1e-9)
    assert jm[-1, J["right_wrist"], 1] > jm[0, J["right_wrist"], 1] + 0.3
    assert abs(jm[-1, J["left_wrist"], 1] - jm[0, J["left_wrist"], 1]) < 1e-9
    back = edit.mirror(mm)
    np.testing.assert_allclose(edit.joints(back), j, atol=1e-9)


def test_trim_speed_and_retime():
    m = _arm_raise(frames=31, fps=10.0)  # 3 s
    t = edit.trim(m, 1.0, 2.0)
    assert t.num_frames == 11 and abs(t.duration - 1.0) < 1e-9
    np.testing.assert_allclose(t.body_pose[0], m.body_pose[10], atol=1e-9)
    fast = edit.speed(m, 2.0)
    assert abs(fast.duration - 1.5) < 1e-9
    held = edit.retime(m, fps=10.0, num_frames=50, loop=False)
    np.testing.assert_allclose(held.body_pose[-1], m.body_pose[-1], atol=1e-9)
    looped = edit.retime(m, fps=10.0, num_frames=50, loop=True)
    np.testing.assert_allclose(looped.body_pose[:31], m.body_pose, atol=1e-9)  # first cycle as is
    # the second cycle starts from the last pose and is back on the clip 0.5 s later
    np.testing.assert_allclose(looped.body_pose[30], m.body_pose[-1], atol=1e-9)
    np.testing.assert_allclose(looped.body_pose[35:50], m.body_pose[5:20], atol=1e-9)
    with pytest.raises(AmgError, match="trim start"):
        edit.trim(m, 5.0)


def test_loop_seam_is_cross_faded():
    """An arm raise ends far from its start; looped, the jump back is spread over the fade,
    and a clip that already loops is left as it is."""
    m = _arm_raise(frames=31, fps=10.0)
    looped = edit.retime(m, fps=10.0, num_frames=90, loop=True)
    wrist = edit.joints(looped)[:, J["left_wrist"]]
    step = np.linalg.norm(np.diff(wrist, axis=0), axis=1)
    seam = np.linalg.norm(edit.joints(m)[-1, J["left_wrist"]] - edit.joints(m)[0, J["left_wrist"]])
    assert seam > 0.5  # without the fade the wrist would jump this far at each seam
    assert step.max() < 0.35 * seam, f"largest step {step.max():.3f} m, the seam {seam:.3f} m"
    there_and_back = Motion(*(np.concatenate([a, a[-2::-1]]) for a in (m.global_orient, m.body_pose, m.transl)),
                            fps=10.0)
    again = edit.retime(there_and_back, fps=10.0, num_frames=150, loop=True)
    np.testing.assert_allclose(again.body_pose[61:121], there_and_back.body_pose[1:], atol=1e-9)


def test_looped_walk_keeps_going_forward(samples_dir):
    m = edit.to_origin(load_motion_file(samples_dir / "mocap" / "16_11.bvh")[0])
    m = edit.trim(m, 0, 2.0)
    out = edit.retime(m, fps=10.0, num_frames=60, loop=True)  # 6 s from a 2 s clip
    step = np.linalg.norm(np.diff(out.transl[:, [0, 2]], axis=0), axis=1)
    assert step.max() < 0.3, "no jump back to the start at the loop point"
    assert np.linalg.norm(out.transl[-1, [0, 2]] - out.transl[0, [0, 2]]) > 3.0


def test_place_turns_and_moves_on_the_floor():
    m = Motion.rest(2)
    p = edit.place(m, x=1.0, z=-2.0, heading=90.0)
    assert abs(edit.facing_yaw(p) - 90.0) < 1e-6  # +Z turned towards +X
    np.testing.assert_allclose(p.transl[0], [1.0, m.transl[0, 1], -2.0], atol=1e-9)
    j = edit.joints(p)[0]
    assert j[J["left_wrist"], 2] < -2.5  # the left arm (+X at rest) now points to -Z


def test_ground_puts_the_lowest_sole_on_the_floor(samples_dir):
    m = load_motion_file(samples_dir / "motion" / "amass_sample_amassrepo.npz")[0]
    g = edit.ground(m)
    assert abs(edit.sole_heights(g).min()) < 1e-9
    assert np.allclose(np.diff(g.transl[:, 1] - m.transl[:, 1]), 0)  # one offset for the clip
    assert abs(edit.sole_heights(edit.ground(Motion.rest(1))).min()) < 1e-9
    assert abs(edit.ground_offset(Motion.rest(1))) < 0.002  # the rest pose already stands on the floor


@pytest.mark.parametrize("name, skip", [("motion/amass_sample_amassrepo.npz", 0), ("mocap/141_16.bvh", 1)])
def test_resample_120_to_8_and_back(samples_dir, name, skip):
    m = load_motion_file(samples_dir / name)[0]
    m = edit.trim(m, skip / m.fps, None)
    assert m.fps == pytest.approx(120, abs=0.01)
    low = edit.resample(m, 8.0)
    assert abs(low.duration - m.duration) < 1 / 8
    idx = np.round(np.arange(low.num_frames) * m.fps / 8).astype(int)
    np.testing.assert_allclose(edit.joints(low), edit.joints(m)[idx], atol=2e-3)  # exact at its own samples
    back = edit.resample(low, m.fps)
    err = np.linalg.norm(edit.joints(back) - edit.joints(m)[:back.num_frames], axis=-1)
    assert err.mean() < 0.02, f"mean joint error {err.mean():.3f} m after 120 -> 8 -> 120 fps"


def test_resample_interpolates_on_the_sphere():
    """Half-way between two rotations about one axis is the half angle (not a per-component average)."""
    m = Motion.rest(2, fps=1.0)
    m.global_orient[0] = [0.0, np.pi * 0.9, 0.0]
    m.global_orient[1] = [0.0, -np.pi * 0.9, 0.0]  # 36 degrees apart, across +-pi
    mid = m.sample(np.array([0.5]))
    angle = np.linalg.norm(mid.global_orient[0])
    assert abs(angle - np.pi) < 1e-6
