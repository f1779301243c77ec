"""Camera-path interchange: nerfstudio, RealEstate10K/CameraCtrl, MotionCtrl, TUM, AMG JSON (issue 4)."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from amg.camera import Subjects, load_camera_path, make_preset, save_camera_path
from amg.camera.formats import dump_camera_path
from amg.errors import AmgError

SAMPLES = Path(__file__).parents[2] / "shared" / "samples" / "camera"
NERFSTUDIO = SAMPLES / "nerfstudio_camera_path_translucent.json"
RE10K = SAMPLES / "re10k_cameractrl_0bf152ef84195293.txt"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"sample {path.name} is absent (expected in ../shared/samples/camera)")
    return path


def test_nerfstudio_import_export_reproduces_the_file(tmp_path):
    src = json.loads(need(NERFSTUDIO).read_text())
    path = load_camera_path(NERFSTUDIO)
    assert len(path.keyframes) == len(src["keyframes"]) == 7
    assert len(path.samples) == len(src["camera_path"]) == 96
    out = save_camera_path(path, tmp_path / "out.json", "nerfstudio")
    dst = json.loads(out.read_text())
    # keyframes: the legacy string is column-major; the export writes nerfstudio's current row-major list
    assert len(dst["keyframes"]) == len(src["keyframes"])
    for a, b in zip(src["keyframes"], dst["keyframes"]):
        col_major = np.array(json.loads(a["matrix"]), dtype=np.float64).reshape(4, 4).T
        assert np.abs(np.array(b["matrix"]).reshape(4, 4) - col_major).max() < 1e-6
        assert b["fov"] == a["fov"]
    # the dense path: every camera_to_world within 1e-6 and its FOV exactly, no re-timing
    assert len(dst["camera_path"]) == len(src["camera_path"])
    for a, b in zip(src["camera_path"], dst["camera_path"]):
        assert np.abs(np.array(a["camera_to_world"]) - np.array(b["camera_to_world"])).max() < 1e-6
        assert b["fov"] == a["fov"]
    for key in ("fps", "seconds", "render_width", "render_height", "is_cycle", "camera_type"):
        assert dst[key] == src[key]
    # and the keyframe times survive the change of layout (TIME fractions -> transitions)
    again = load_camera_path(out)
    assert [k.time for k in again.keyframes] == pytest.approx([k.time for k in path.keyframes], abs=1e-12)


def test_nerfstudio_keyframe_times_match_the_dense_path():
    path = load_camera_path(need(NERFSTUDIO))
    dense = path.samples
    for k in path.keyframes[:-1]:  # the legacy viewer's TIME, read for a cycle, lands on its own dense frame
        i = int(np.argmin(np.abs(dense.times - k.time)))
        assert abs(dense.times[i] - k.time) < 1e-9
        assert np.abs(dense.c2w[i] - k.c2w).max() < 1e-6
    cams = path.evaluate(96, 24.0)
    assert all(np.array_equal(c.c2w, m) for c, m in zip(cams, dense.c2w))


def test_nerfstudio_optional_fields_may_be_missing(tmp_path):
    ours = make_preset("orbit", {"angle": 90}, duration=2.0)
    data = json.loads(dump_camera_path(ours, "nerfstudio", fps=10))
    for key in ("default_fov", "default_transition_sec", "camera_type", "smoothness_value", "is_cycle"):
        data.pop(key, None)
    for k in data["keyframes"]:
        k.pop("override_transition_enabled"), k.pop("override_transition_sec"), k.pop("aspect")
    f = tmp_path / "minimal.json"
    f.write_text(json.dumps(data))
    path = load_camera_path(f)
    assert len(path.samples) == 21 and len(path.keyframes) == len(ours.keyframes)
    assert path.keyframes[-1].time == pytest.approx(2.0)  # spread over `seconds`
    # only the dense path
    data.pop("keyframes")
    f.write_text(json.dumps(data))
    assert len(load_camera_path(f).samples) == 21


def test_re10k_sample_imports_with_cameras_facing_as_its_matrices_say():
    text = need(RE10K).read_text()
    rows = [list(map(float, line.split())) for line in text.splitlines()[1:] if line.strip()]
    path = load_camera_path(RE10K)
    assert len(path.keyframes) == len(rows) == 16
    assert path.meta["re10k"]["url"].startswith("https://www.youtube.com/")
    for k, row in zip(path.keyframes, rows):
        w2c = np.array(row[7:]).reshape(3, 4)
        r, t = w2c[:, :3], w2c[:, 3]
        # OpenCV camera looks along its +z: in the world that is the third row of R
        assert np.allclose(-k.c2w[:3, 2], r[2], atol=1e-6)
        assert np.allclose(k.c2w[:3, 1], -r[1], atol=1e-6)  # image up is -y in OpenCV
        assert np.allclose(k.c2w[:3, 3], -r.T @ t, atol=1e-6)
        assert k.fov_y_deg == pytest.approx(np.degrees(2 * np.arctan(0.5 / row[2])))
    assert path.aspect == pytest.approx(rows[0][2] / rows[0][1])
    times = [k.time for k in path.keyframes]
    assert times[0] == 0 and times[-1] == pytest.approx((rows[-1][0] - rows[0][0]) * 1e-6)


def test_re10k_export_round_trip(tmp_path):
    path = load_camera_path(need(RE10K)).retimed(15 / 8)
    out = save_camera_path(path, tmp_path / "poses.txt", "re10k", fps=8)
    again = load_camera_path(out)
    assert len(again.keyframes) == 16  # sampled at 8 fps over 15/8 s
    c2w, fov = path.poses_at(np.arange(16) / 8)
    for b, m, f, i in zip(again.keyframes, c2w, fov, range(16)):
        assert np.abs(m - b.c2w).max() < 1e-6 and b.time == pytest.approx(i / 8, abs=1e-6)
        assert b.fov_y_deg == pytest.approx(f, abs=1e-6)


def test_motionctrl_list_of_matrices(tmp_path):
    # MotionCtrl's "pan left" style: identity rotation, world-to-camera x translation growing
    poses = [[1, 0, 0, 0.2 + 0.0875 * i, 0, 1, 0, 0, 0, 0, 1, 0] for i in range(16)]
    f = tmp_path / "camera_L.json"
    f.write_text(json.dumps(poses))
    path = load_camera_path(f, fps=8.0, fov=45.0)
    assert len(path.keyframes) == 16 and path.duration == pytest.approx(15 / 8)
    pos = np.stack([k.position for k in path.keyframes])
    assert np.allclose(np.diff(pos[:, 0]), -0.0875) and np.allclose(pos[:, 1:], 0)  # the camera moves left
    assert np.allclose(-path.keyframes[0].c2w[:3, 2], [0, 0, 1])  # looking along the world +z, OpenCV style
    out = save_camera_path(path, tmp_path / "back.json", "motionctrl", fps=8.0)
    assert np.allclose(json.loads(out.read_text()), poses, atol=1e-12)
    f.write_text(json.dumps({"camera_poses": [np.array(p).reshape(3, 4).tolist() for p in poses]}))
    assert len(load_camera_path(f).keyframes) == 16


def test_tum_trajectory(tmp_path):
    rng = np.random.default_rng(1)
    quats = Rotation.from_rotvec(rng.normal(size=(5, 3)) * 0.3).as_quat()
    lines = ["# ground truth trajectory", "# timestamp tx ty tz qx qy qz qw"]
    for i, q in enumerate(quats):
        lines.append(" ".join(map(str, [1305031102.175304 + 0.1 * i, i * 0.1, 1.0, -0.5 * i, *q])))
    f = tmp_path / "groundtruth.txt"
    f.write_text("\n".join(lines) + "\n")
    path = load_camera_path(f, fov=50.0)
    assert len(path.keyframes) == 5 and path.keyframes[0].time == 0.0
    assert path.duration == pytest.approx(0.4)
    for k, q, i in zip(path.keyframes, quats, range(5)):
        r = Rotation.from_quat(q).as_matrix()
        assert np.allclose(-k.c2w[:3, 2], r[:, 2]) and np.allclose(k.position, [i * 0.1, 1.0, -0.5 * i])
    out = save_camera_path(path, tmp_path / "back.txt", "tum", fps=10.0)
    again = load_camera_path(out)
    for a, b in zip(path.keyframes, again.keyframes):
        assert np.abs(a.c2w - b.c2w).max() < 1e-6


def test_amg_json_round_trip_keeps_everything(tmp_path):
    path = make_preset("orbit", {"angle": 180, "shake": 0.7, "seed": 5, "tension": 0.2},
                       Subjects.standing_person(), 3.0)
    out = save_camera_path(path, tmp_path / "orbit.json")
    doc = json.loads(out.read_text())
    assert doc["format"] == "amg-camera-path" and doc["version"] == 1
    again = load_camera_path(out)
    a, b = path.evaluate(24, 8.0), again.evaluate(24, 8.0)
    assert all(np.allclose(x.c2w, y.c2w, atol=1e-12) and x.fov_y_deg == y.fov_y_deg for x, y in zip(a, b))
    assert again.anchor is not None and again.shake.seed == 5 and again.tension == 0.2


def _write(tmp_path, name, text):
    f = tmp_path / name
    f.write_text(text)
    return f


def _ns(keyframes=None, camera_path=None, **top):
    eye = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 0, 0, 0, 1]  # row-major, 2 m along +z
    doc = {"keyframes": keyframes if keyframes is not None else [{"matrix": eye, "fov": 50, "aspect": 1}],
           "camera_path": camera_path if camera_path is not None else
           [{"camera_to_world": eye, "fov": 50, "aspect": 1}, {"camera_to_world": eye, "fov": 50, "aspect": 1}],
           "fps": 24, "seconds": 1, "render_width": 64, "render_height": 64}
    doc.update(top)
    return json.dumps(doc)


@pytest.mark.parametrize("name, text, message", [
    ("broken.json", '{"keyframes": [', "not valid JSON"),
    ("nomatrix.json", _ns(keyframes=[{"fov": 50}]), r"keyframes\[0\]: missing 'matrix'"),
    ("nodense.json", _ns(camera_path=[{"fov": 50}, {"fov": 50}]), r"camera_path\[0\]: missing 'camera_to_world'"),
    ("scaled.json", _ns(camera_path=[{"camera_to_world": [2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
                                      "fov": 50}] * 2), "not orthonormal"),
    ("nan.json", _ns(camera_path=[{"camera_to_world": [1, 0, 0, float("nan"), 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
                                   "fov": 50}] * 2), "NaN"),
    ("empty.json", _ns(keyframes=[], camera_path=[]), "no cameras"),
    ("zero.json", _ns(seconds=0), "zero-length"),
    ("fov0.json", _ns(camera_path=[{"camera_to_world": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
                                    "fov": 0}] * 2), "between 0 and 180"),
    ("fov180.json", _ns(keyframes=[{"matrix": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], "fov": 180}]),
     "between 0 and 180"),
    ("single.json", json.dumps({"format": "amg-camera-path", "version": 1, "keyframes": [
        {"time": 0, "c2w": np.eye(4).tolist(), "fov": 40}]}), "at least two keyframes"),
    ("sametime.json", json.dumps({"format": "amg-camera-path", "version": 1, "keyframes": [
        {"time": 1, "c2w": np.eye(4).tolist(), "fov": 40}] * 3}), "zero-length"),
    ("typo.json", json.dumps({"format": "amg-camera-path", "version": 1, "keyframes": [], "tenson": 1}),
     r"tenson: unknown field"),
    ("one.txt", "https://example.com/v\n1 0.5 0.8 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1 0\n", "at least two keyframes"),
    ("short.txt", "https://example.com/v\n1 0.5 0.8 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1\n", "line 2: expected 19"),
    ("tum.txt", "# tum\n0 0 0 0 0 0 0 2\n1 0 0 0 0 0 0 1\n", "line 2: the quaternion must have unit length"),
    ("motionctrl.json", json.dumps([[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], []]), r"\[1\]: missing matrix"),
    ("what.json", json.dumps({"hello": 1}), "unrecognised camera JSON"),
])
def test_bad_files_name_the_file_and_the_problem(tmp_path, name, text, message):
    f = _write(tmp_path, name, text)
    with pytest.raises(AmgError, match=message) as err:
        load_camera_path(f)
    assert str(f) in str(err.value)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(AmgError, match="cannot read camera file"):
        load_camera_path(tmp_path / "nope.json")
    f = tmp_path / "bin.json"
    f.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(AmgError, match="not a UTF-8 text file"):
        load_camera_path(f)


def test_a_failed_export_leaves_the_existing_file_alone(tmp_path):
    f = _write(tmp_path, "keep.json", "precious")
    path = make_preset("static", {}, duration=1.0)
    with pytest.raises(AmgError, match="unknown"):
        save_camera_path(path, f, "blender")
    assert f.read_text() == "precious"


def test_nerfstudio_keyframes_in_either_layout_and_seconds_is_frames_over_fps(tmp_path):
    ours = make_preset("orbit", {"angle": 90}, duration=2.0)
    data = json.loads(dump_camera_path(ours, "nerfstudio", fps=10))
    assert data["seconds"] * data["fps"] == pytest.approx(len(data["camera_path"]))  # 21 frames: 2.1 s
    # older nerfstudio: row-major JSON text (translation at 3, 7, 11); and column-major lists
    swapped = json.loads(json.dumps(data))
    for i, k in enumerate(swapped["keyframes"]):
        m = np.array(k["matrix"]).reshape(4, 4)
        k["matrix"] = json.dumps(m.reshape(-1).tolist()) if i % 2 else m.T.reshape(-1).tolist()
    f = tmp_path / "older.json"
    f.write_text(json.dumps(swapped))
    path = load_camera_path(f)
    for k, orig in zip(path.keyframes, ours.keyframes):
        assert np.abs(k.c2w - orig.c2w).max() < 1e-9
    again = load_camera_path(save_camera_path(path, tmp_path / "again.json", "nerfstudio"))
    assert again.keyframes[-1].time == pytest.approx(path.keyframes[-1].time)
    # a string where a number belongs is named, not a traceback
    swapped["keyframes"][1].update(override_transition_enabled=True, override_transition_sec="two")
    f.write_text(json.dumps(swapped))
    with pytest.raises(AmgError, match=r"keyframes\[1\]: override_transition_sec"):
        load_camera_path(f)
