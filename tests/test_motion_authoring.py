"""Keyframed authoring: planted feet stay put, hands reach their targets, pivots keep contact."""

from __future__ import annotations

import numpy as np

from amg.motion import edit
from tools.authoring import ANKLE_HEIGHT, Clip, build
from amg.motion.motion import JOINT_INDEX as J



def test_weight_shift_keeps_planted_feet_still_and_ankles_on_target():
    clip = Clip("shift", [(0.0, {}), (1.0, {"x": 0.08, "y": 0.82, "yaw": 15.0, "roll": 4.0}),
                          (2.0, {"x": -0.06, "y": 0.85, "yaw": -10.0})])
    m = build(clip)
    j = edit.joints(m)
    for ankle, x in ((J["left_ankle"], 0.11), (J["right_ankle"], -0.11)):
        np.testing.assert_allclose(j[:, ankle], np.tile([x, ANKLE_HEIGHT, 0.0], (len(j), 1)), atol=1e-6)
    assert np.ptp(j[:, 0, 0]) > 0.12  # while the pelvis travels sideways


def test_keys_ease_in_and_out():
    m = build(Clip("ease", [(0.0, {"x": 0.0}), (1.0, {"x": 0.1})], fps=30.0))
    v = np.diff(m.transl[:, 0])
    assert v[0] < 0.2 * v.max() and v[-1] < 0.2 * v.max()  # starts and stops gently
    assert np.all(v >= -1e-12)  # never overshoots the key


def test_hands_reach_their_targets():
    target_l, target_r = (0.03, 1.2, 0.33), (-0.03, 1.2, 0.33)
    keys = {"lh.x": target_l[0], "lh.y": target_l[1], "lh.z": target_l[2],
            "rh.x": target_r[0], "rh.y": target_r[1], "rh.z": target_r[2]}
    j = edit.joints(build(Clip("clap", [(0.0, keys), (0.5, {})])))
    np.testing.assert_allclose(j[:, J["left_wrist"]], np.tile(target_l, (len(j), 1)), atol=1e-6)
    np.testing.assert_allclose(j[:, J["right_wrist"]], np.tile(target_r, (len(j), 1)), atol=1e-6)


def test_heel_raise_pivots_on_the_ball():
    m = build(Clip("pivot", [(0.0, {}), (0.5, {"rf.pitch": 25.0}), (1.0, {"rf.pitch": 0.0})]))
    soles = edit.sole_points(m)[:, 1]  # right foot points (T, K, 3)
    assert soles[..., 1].min() > -0.005, "the toes must not go through the floor"
    assert soles[15, :2, 1].min() > 0.03, "the heel is up at the peak"
    assert soles[15, 3:, 1].min() < 0.01, "the ball stays on the floor"
