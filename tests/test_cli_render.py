"""`amg render`, `amg avatar`: real subprocesses, exit codes and messages."""

import json
import subprocess
import sys

import numpy as np
import pytest

from amg import PRESETS_DIR


def amg(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "amg", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_render_writes_a_playable_mp4(tmp_path):
    from amg.video import read_video

    out = tmp_path / "cond.mp4"
    r = amg("render", PRESETS_DIR / "scenes" / "two_people.json", "-o", out, "--frames", "6", "--width", "128",
            "--height", "96", "--masks", tmp_path / "masks.npz")
    assert r.returncode == 0, r.stderr
    frames, fps = read_video(out)
    assert frames.shape == (6, 96, 128, 3) and fps == pytest.approx(8.0)
    with np.load(tmp_path / "masks.npz", allow_pickle=False) as m:
        assert m["masks"].shape == (6, 2, 96, 128) and m["masks"].any()
    assert "2 people" in r.stdout


@pytest.mark.parametrize("scene, message", [
    ({"people": []}, "people"),
    ({"people": [{"id": "a"}], "render": {"width": 0}}, "render.width"),
    ({"people": [{"id": "a"}], "render": {"width": 100000}}, "render.width"),
    ({"people": [{"id": "a"}], "colour": 1}, "colour: unknown field"),
    ({"people": [{"id": "a", "avatar": {"body": "smplx"}}]}, "AMG_SMPLX_MODEL"),
])
def test_bad_scenes_exit_2_with_a_message_and_no_output(tmp_path, scene, message):
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(scene))
    out = tmp_path / "out.mp4"
    r = amg("render", path, "-o", out)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() and not any(p.suffix == ".mp4" for p in tmp_path.iterdir())


def test_non_utf8_scene_and_wrong_output(tmp_path):
    path = tmp_path / "scene.json"
    path.write_bytes(b"\xff\xfe{")
    r = amg("render", path, "-o", tmp_path / "x.mp4")
    assert r.returncode == 2 and "UTF-8" in r.stderr
    r = amg("render", PRESETS_DIR / "scenes" / "one_person.json", "-o", tmp_path / "x.avi")
    assert r.returncode == 2 and ".mp4" in r.stderr


def test_avatar_command_writes_glb(tmp_path):
    import trimesh

    out = tmp_path / "man.glb"
    r = amg("avatar", "A man wearing a white dress shirt and dark pants", "-o", out, "--height", "0.9")
    assert r.returncode == 0, r.stderr
    mesh = trimesh.load(out, force="mesh")
    assert len(mesh.vertices) > 10000 and mesh.visual.vertex_colors.shape[1] == 4
    assert "height=0.90" in r.stdout
    r = amg("avatar", "a man", "-o", tmp_path / "bad.glb", "--age", "3")
    assert r.returncode == 2 and "age" in r.stderr and not (tmp_path / "bad.glb").exists()


def test_render_passes_write_one_mp4_each(tmp_path):
    from amg.video import read_video

    out = tmp_path / "out.mp4"
    r = amg("render", PRESETS_DIR / "scenes" / "two_people.json", "-o", out, "--frames", "3", "--width", "64",
            "--height", "64", "--passes", "rgb,depth,pose,mask")
    assert r.returncode == 0, r.stderr
    for name in ("out.mp4", "out.depth.mp4", "out.pose.mp4", "out.mask.mp4"):
        frames, _ = read_video(tmp_path / name)
        assert frames.shape == (3, 64, 64, 3) and frames.max() > 100, name
    r = amg("render", PRESETS_DIR / "scenes" / "two_people.json", "-o", tmp_path / "bad.mp4", "--passes", "rgb,normal")
    assert r.returncode == 2 and "passes: normal; choose from rgb, depth, pose, mask" in r.stderr
    assert not (tmp_path / "bad.mp4").exists()
