"""Scene bundles (.amgscene): a scene with its files, opened anywhere; reading one is data only."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from amg.bundle import load_scene, missing_files, open_bundle, read_bundle, save_bundle
from amg.errors import AmgError
from amg.scene import CameraRef, MotionRef, Person, RenderSettings, Scene


@pytest.fixture
def scene_with_files(tmp_path, samples_dir):
    """A scene in a 'session' folder using an uploaded BVH and an imported camera path."""
    session = tmp_path / "session"
    (session / "uploads").mkdir(parents=True)
    (session / "cameras").mkdir()
    shutil.copy(samples_dir / "motion" / "emotional_walk_pymo.bvh", session / "uploads" / "walk.bvh")
    shutil.copy(samples_dir / "camera" / "nerfstudio_camera_path_translucent.json", session / "cameras" / "path.json")
    scene = Scene(name="walkers", people=[Person(id="a", motion=MotionRef(source="uploads/walk.bvh")),
                                          Person(id="b", motion=MotionRef(source="uploads/walk.bvh", start=0.5)),
                                          Person(id="c", motion=MotionRef(source="wave"))],
                  camera=CameraRef(preset="orbit", params={"retime": True, "fit": True}, file="cameras/path.json"),
                  render=RenderSettings(width=64, height=64, frames=4))
    scene.people[1].placement.x = 1.0
    scene.people[2].placement.x = -1.0
    scene.save(session / "scene.json")
    return Scene.load(session / "scene.json")


def test_a_bundle_opens_elsewhere_and_renders_the_same_frames(tmp_path, scene_with_files):
    from amg.render import render_scene

    bundle = save_bundle(scene_with_files, tmp_path / "walkers.amgscene")
    names = sorted(zipfile.ZipFile(bundle).namelist())
    assert names == ["files/path.json", "files/walk.bvh", "scene.json"]  # one copy of a file used twice
    original = render_scene(scene_with_files).rgb
    shutil.rmtree(tmp_path / "session")  # the session is gone; the bundle is all there is
    opened = open_bundle(bundle, tmp_path / "elsewhere")
    assert opened.people[0].motion.source == "walk.bvh" and opened.camera.file == "path.json"
    assert opened.camera.preset == "orbit" and opened.people[1].motion.start == 0.5
    assert not missing_files(opened)
    again = render_scene(opened).rgb
    assert again.shape == original.shape and np.array_equal(again, original)
    # load_scene (so every command taking a scene) opens it too, into AMG's cache
    loaded = load_scene(bundle)
    assert np.array_equal(render_scene(loaded).rgb, original)


def test_references_can_be_relative_to_an_outer_folder(tmp_path, scene_with_files):
    bundle = save_bundle(scene_with_files, tmp_path / "s.amgscene")
    session = tmp_path / "new-session"
    scene = open_bundle(bundle, session / "uploads" / "opened", base=session)
    assert scene.people[0].motion.source == "uploads/opened/walk.bvh"
    assert scene.resolve_path(scene.camera.file).is_file()


def test_the_cli_renders_a_bundle(tmp_path, scene_with_files):
    bundle = tmp_path / "walkers.amgscene"
    r = subprocess.run([sys.executable, "-m", "amg", "bundle", str(scene_with_files._base_dir / "scene.json"),
                        "-o", str(bundle)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "2 file(s)" in r.stdout
    shutil.rmtree(scene_with_files._base_dir)
    out = tmp_path / "cond.mp4"
    r = subprocess.run([sys.executable, "-m", "amg", "render", str(bundle), "-o", str(out)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0 and "3 people" in r.stdout


def test_saving_names_the_missing_files(tmp_path):
    scene = Scene(people=[Person(id="a", motion=MotionRef(source="uploads/gone.bvh"))])
    scene._base_dir = tmp_path
    assert [r.where for r in missing_files(scene)] == ["people[0].motion.source"]
    with pytest.raises(AmgError, match=r"missing: people\[0\].motion.source: gone.bvh"):
        save_bundle(scene, tmp_path / "x.amgscene")
    assert not (tmp_path / "x.amgscene").exists()


def _zip(path, members: dict[str, bytes], link: str | None = None):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (0o120777 << 16)  # a symbolic link
            z.writestr(info, "/etc/passwd")
    return path


SCENE = json.dumps({"people": [{"id": "a", "motion": {"source": "files/m.bvh"}}]}).encode()


@pytest.mark.parametrize("members, link, message", [
    ({"scene.json": SCENE, "../evil.bvh": b"x"}, None, "not allowed"),
    ({"scene.json": SCENE, "files/../../evil": b"x"}, None, "not allowed"),
    ({"scene.json": SCENE, "/etc/evil": b"x"}, None, "not allowed"),
    ({"scene.json": SCENE, "files/sub/m.bvh": b"x"}, None, "not allowed"),
    ({"scene.json": SCENE}, "files/m.bvh", "not a plain file"),
    ({"files/m.bvh": b"x"}, None, "no scene.json"),
    ({"scene.json": b"[1, 2]"}, None, "JSON object"),
    ({"scene.json": b"\xff\xfe"}, None, "not text"),
    ({"scene.json": SCENE}, None, "does not hold"),
    ({"scene.json": SCENE, **{f"files/f{i}": b"" for i in range(70)}}, None, "at most 64"),
])
def test_hostile_or_broken_bundles_are_refused(tmp_path, members, link, message):
    path = _zip(tmp_path / "bad.amgscene", members, link)
    with pytest.raises(AmgError, match=message) as info:
        open_bundle(path, tmp_path / "out")
    assert "bad.amgscene" in str(info.value)
    assert not (tmp_path / "evil.bvh").exists() and not (tmp_path / "evil").exists()


def test_a_zip_bomb_member_is_refused_while_reading(tmp_path, monkeypatch):
    import amg.bundle

    monkeypatch.setattr(amg.bundle, "MAX_MEMBER_BYTES", 2**20)
    path = tmp_path / "bomb.amgscene"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("scene.json", SCENE)
        z.writestr("files/m.bvh", b"\0" * (3 * 2**20))  # 3 MB of zeros compress to a few KB
    with pytest.raises(AmgError, match="MB"):
        read_bundle(path)


def test_a_file_that_is_not_a_zip_is_a_plain_message(tmp_path):
    path = tmp_path / "x.amgscene"
    path.write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(AmgError, match="x.amgscene"):
        load_scene(path)
