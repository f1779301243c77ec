"""Motion importers and exporters: every sample format, round trips, bad input."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from amg.errors import AmgError
from amg.motion import edit
from amg.motion.formats.bvh import import_bvh, save_bvh
from amg.motion.formats import load_motion_file, save_amass, save_npz
from amg.motion.motion import JOINT_INDEX as J, Motion



def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation angle between axis-angle arrays (..., 3)."""
    ra, rb = Rotation.from_rotvec(a.reshape(-1, 3)), Rotation.from_rotvec(b.reshape(-1, 3))
    return (ra.inv() * rb).magnitude()


def _upright(m: Motion) -> None:
    j = edit.joints(m)
    assert np.median(j[:, J["head"], 1] - j[:, 0, 1]) > 0.4, "head must be above the pelvis (Y up)"


def test_amass_smplh_keeps_body_pose_and_goes_y_up(samples_dir):
    path = samples_dir / "motion" / "amass_sample_amassrepo.npz"
    raw = np.load(path)
    m = load_motion_file(path)[0]
    assert m.num_frames == 601 and m.fps == 120.0 and m.gender == "male"
    np.testing.assert_allclose(m.body_pose, raw["poses"][:, 3:66], atol=1e-12)
    # Z-up -> Y-up: the pelvis' world rotation is the file's one turned -90 deg about X
    expect = (Rotation.from_euler("x", -90, degrees=True) * Rotation.from_rotvec(raw["poses"][:, :3])).as_rotvec()
    assert _angle(m.global_orient, expect).max() < 1e-9
    _upright(m)


def test_amass_smplx_variant_55_joints_int_framerate(samples_dir):
    path = samples_dir / "motion" / "humangaussian_amass_test_17.npz"
    raw = np.load(path)
    m = load_motion_file(path)[0]
    assert m.num_frames == 136 and m.fps == 30.0
    np.testing.assert_allclose(m.body_pose, raw["poses"][:, 1:22].reshape(-1, 63), atol=1e-12)
    _upright(m)


def test_amass_gender_as_bytes_and_framerate_as_int(samples_dir, tmp_path):
    data = dict(np.load(samples_dir / "motion" / "amass_sample_amassrepo.npz"))
    data.update(gender=np.array(b"female"), mocap_framerate=np.array(60))
    for key in ("marker_data", "marker_labels", "dmpls"):
        data.pop(key)
    np.savez(tmp_path / "f.npz", **data)
    m = load_motion_file(tmp_path / "f.npz")[0]
    assert m.gender == "female" and m.fps == 60.0


def test_aistpp_dance_imports_in_metres(samples_dir):
    m = load_motion_file(samples_dir / "mocap" / "gBR_sBM_cAll_d04_mBR0_ch01.npz")[0]
    assert m.num_frames == 720 and m.fps == 60.0
    _upright(m)
    travel = np.ptp(m.transl[:, [0, 2]], axis=0)
    assert np.all(travel < 3.0), f"a dancer moves metres, not {travel} (scaling not applied?)"


@pytest.mark.parametrize("name, frames, fps", [
    ("mocap/02_01.bvh", 344, 120),        # cgspeed Daz rig (hip, abdomen, lThigh...)
    ("mocap/16_01.bvh", 322, 30),         # CMU ASF names (lfemur, ltibia...)
    ("mocap/141_16.bvh", 299, 120),       # MotionBuilder names (LeftUpLeg...)
    ("motion/cmu_01_01_fairmotion.bvh", 2752, 120),
    ("motion/emotional_walk_pymo.bvh", 1064, 120),
])
def test_bvh_rigs_import_upright(samples_dir, name, frames, fps):
    m = import_bvh(samples_dir / name)
    assert m.num_frames == frames and round(m.fps) == fps
    _upright(m)
    for joint in ("left_hip", "left_knee", "left_shoulder", "right_elbow", "head"):
        assert joint in m.meta["bvh_joints"]


def test_walk_bvh_moves_forward_with_alternating_feet(samples_dir):
    m = edit.to_origin(import_bvh(samples_dir / "mocap" / "16_11.bvh"))
    assert m.transl[-1, 2] > 2.0  # walks a few metres forward (+Z, the way it faces)
    soles = edit.sole_heights(edit.ground(m))
    lower = soles[:, 0] < soles[:, 1]
    changes = np.count_nonzero(np.diff(lower.astype(int)))
    assert changes >= 6, "the lower foot must alternate during a walk"


def test_mixamo_names_give_the_same_motion(samples_dir, tmp_path):
    src = samples_dir / "mocap" / "141_16.bvh"
    text = src.read_text()
    for name in ("Hips", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "RightUpLeg", "RightLeg", "RightFoot",
                 "RightToeBase", "Spine1", "Neck1", "Head", "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand",
                 "RightShoulder", "RightArm", "RightForeArm", "RightHand"):
        text = text.replace(f" {name}\n", f" mixamorig:{name}\n")
    mixamo = tmp_path / "mixamo.bvh"
    mixamo.write_text(text)
    a, b = import_bvh(src), import_bvh(mixamo)
    assert _angle(a.local_rotations(), b.local_rotations()).max() < 1e-9


def test_bvh_round_trip_is_exact(samples_dir, tmp_path):
    m = edit.trim(import_bvh(samples_dir / "mocap" / "141_16.bvh"), 0, 1.0)
    save_bvh(m, tmp_path / "out.bvh")
    back = import_bvh(tmp_path / "out.bvh")
    assert back.num_frames == m.num_frames and abs(back.fps - m.fps) < 1e-3
    assert _angle(back.local_rotations(), m.local_rotations()).max() < 1e-4
    assert np.abs(back.transl - m.transl).max() < 1e-5


def test_amass_round_trip_is_exact(samples_dir, tmp_path):
    m = load_motion_file(samples_dir / "motion" / "amass_sample_amassrepo.npz")[0]
    save_amass(m, tmp_path / "amass.npz")
    back = load_motion_file(tmp_path / "amass.npz")[0]
    assert back.fps == m.fps and back.num_frames == m.num_frames
    assert _angle(back.local_rotations(), m.local_rotations()).max() < 1e-4
    assert np.abs(back.transl - m.transl).max() < 1e-6


def test_our_npz_with_a_person_axis(tmp_path):
    a = Motion.rest(5, fps=30)
    b = edit.place(edit.mirror(Motion.rest(5, fps=30)), x=1.0)
    b.body_pose[:, 5] = 0.3
    save_npz([a, b], tmp_path / "pair.npz")
    back = load_motion_file(tmp_path / "pair.npz")
    assert len(back) == 2
    np.testing.assert_allclose(back[1].body_pose, b.body_pose, atol=1e-6)
    np.testing.assert_allclose(back[1].transl, b.transl, atol=1e-6)


def _smpl_params(frames=6, people=None, matrices=False, camera=False, joints=23):
    rng = np.random.default_rng(0)
    orient = np.tile([np.pi, 0.0, 0.0] if camera else [0.0, 0.0, 0.0], (frames, 1)) + rng.normal(0, 0.05, (frames, 3))
    body = rng.normal(0, 0.2, (frames, joints, 3))
    if matrices:
        orient = Rotation.from_rotvec(orient).as_matrix()[:, None]
        body = Rotation.from_rotvec(body.reshape(-1, 3)).as_matrix().reshape(frames, joints, 3, 3)
    else:
        body = body.reshape(frames, -1)
    transl = rng.normal(0, 0.1, (frames, 3))
    if people:
        orient, body, transl = (np.stack([x] * people) for x in (orient, body, transl))
    return {"global_orient": orient, "body_pose": body, "transl": transl, "betas": np.zeros(10)}


@pytest.mark.parametrize("kw", [{}, {"matrices": True}, {"people": 2}, {"camera": True}, {"joints": 21}])
def test_video_mocap_smpl_params(tmp_path, kw):
    data = _smpl_params(**kw)
    np.savez(tmp_path / "trace.npz", **data)
    motions = load_motion_file(tmp_path / "trace.npz", fps=25)
    assert len(motions) == kw.get("people", 1)
    m = motions[0]
    assert m.num_frames == 6 and m.fps == 25
    _upright(m)
    raw = data["body_pose"][0] if kw.get("people") else data["body_pose"]
    if kw.get("matrices"):
        raw = Rotation.from_matrix(raw.reshape(-1, 3, 3)).as_rotvec().reshape(6, -1, 3)
    np.testing.assert_allclose(m.body_pose, raw.reshape(6, -1, 3)[:, :21].reshape(6, 63), atol=1e-9)


def test_humanml3d_joint_positions_import(samples_dir):
    m = load_motion_file(samples_dir / "motion" / "humanml3d_new_joints_012314.npy")[0]
    assert m.num_frames == 170 and m.fps == 20.0
    _upright(m)


# ---- bad input ---------------------------------------------------------------------------------
def _write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_npz_without_pose_keys_names_what_is_accepted(tmp_path):
    path = _write_npz(tmp_path / "x.npz", foo=np.zeros(3), bar=np.ones((2, 2)))
    with pytest.raises(AmgError, match=r"no motion found.*bar, foo.*accepted motion files"):
        load_motion_file(path)


def test_humanml3d_feature_vectors_are_refused_with_advice(tmp_path):
    np.save(tmp_path / "feats.npy", np.zeros((40, 263), np.float32))
    with pytest.raises(AmgError, match=r"263.*recover_from_ric"):
        load_motion_file(tmp_path / "feats.npy")


def test_truncated_bvh(samples_dir, tmp_path):
    text = (samples_dir / "mocap" / "16_01.bvh").read_text()
    cut = tmp_path / "cut.bvh"
    cut.write_text(text[: len(text) // 2])
    with pytest.raises(AmgError, match=r"truncated BVH.*322 frames"):
        import_bvh(cut)
    head = tmp_path / "head.bvh"
    head.write_text(text[:2000])  # cut inside the hierarchy: must not hang the parser
    with pytest.raises(AmgError, match="MOTION"):
        import_bvh(head)


def test_nan_values(tmp_path, samples_dir):
    data = dict(np.load(samples_dir / "motion" / "humangaussian_amass_test_17.npz"))
    data["poses"] = data["poses"].copy()
    data["poses"][7, 3] = np.nan
    with pytest.raises(AmgError, match=r"'poses' contains NaN.*frame 7"):
        load_motion_file(_write_npz(tmp_path / "nan.npz", **data))


def test_pickle_inside_npz_is_never_loaded(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("open('PWNED','w').write('x')",))

    path = tmp_path / "evil.npz"
    np.savez(path, poses=np.zeros((3, 156)), trans=np.zeros((3, 3)), mocap_framerate=np.array(30.0),
             gender=np.array([Boom()], dtype=object))
    with pytest.raises(AmgError, match="pickled"):
        load_motion_file(path)
    # a bare pickle renamed .npy
    raw = tmp_path / "evil.npy"
    raw.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(AmgError, match="pickled"):
        load_motion_file(raw)
    assert not (tmp_path / "PWNED").exists()


def test_two_gigabyte_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "huge.npz"
    with open(big, "wb") as f:  # sparse: no disk is used
        f.truncate(2 * 1024 ** 3)
    with pytest.raises(AmgError, match="too large"):
        load_motion_file(big)


def test_damaged_npz_and_unknown_types(tmp_path):
    bad = tmp_path / "bad.npz"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("poses.npy", b"garbage")
    bad.write_bytes(buf.getvalue())
    with pytest.raises(AmgError, match="bad.npz"):
        load_motion_file(bad)
    (tmp_path / "m.fbx").write_bytes(b"x")
    with pytest.raises(AmgError, match="unknown motion file type"):
        load_motion_file(tmp_path / "m.fbx")
    with pytest.raises(AmgError, match="no such motion file"):
        load_motion_file(tmp_path / "missing.bvh")
