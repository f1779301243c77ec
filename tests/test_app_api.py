"""The app's named endpoints through gradio_client: render_preview, generate, import_motion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amg.video import read_video
from tests.test_app_harness import ROOT, SAMPLES

gradio_client = pytest.importorskip("gradio_client")

TWO_PEOPLE = ROOT / "presets" / "scenes" / "two_people.json"


@pytest.fixture(scope="module")
def client(app):
    return gradio_client.Client(app.url, verbose=False)


def scene_json(**render) -> str:
    scene = json.loads(TWO_PEOPLE.read_text())
    scene["render"].update(render)
    return json.dumps(scene)


def readme_endpoints() -> set[str]:
    """The endpoints the README's API section documents (`api_name="/..."`)."""
    import re

    text = (ROOT / "README.md").read_text()
    section = text[text.index("**API.**"):text.index("## Command line")]
    return set(re.findall(r'api_name="(/\w+)"', section))


def test_the_api_lists_exactly_the_documented_endpoints(client):
    """Issue 18: "Use via API" listed 118 endpoints (/fn_1.., /build3d_1..); only the README's are public."""
    api = client.view_api(print_info=False, return_format="dict")
    documented = readme_endpoints()
    assert documented == {"/render_preview", "/generate", "/import_motion", "/export_scene", "/open_scene"}
    assert set(api["named_endpoints"]) == documented
    assert not api["unnamed_endpoints"]


def test_render_preview_returns_video_and_sketch(client):
    video, sketch, info = client.predict(scene_json(frames=8, width=128, height=128), api_name="/render_preview")
    path = Path(video["video"] if isinstance(video, dict) else video)
    frames, fps = read_video(path)
    assert frames.shape == (8, 128, 128, 3)
    assert fps == pytest.approx(8.0)
    assert frames.max() > 0  # the people are visible, not an empty frame
    assert Path(sketch).is_file() and Path(sketch).stat().st_size > 0
    assert info["frames"] == 8
    # the clip's length, and the time the render took, each under its own name
    assert info["clip_seconds"] == pytest.approx(8 / 8.0) and info["render_seconds"] > 0
    assert "seconds" not in info


def test_export_scene_returns_an_animated_glb(client):
    import pygltflib

    path = client.predict(scene_json(frames=4), "glb", api_name="/export_scene")
    doc = pygltflib.GLTF2().load(path)
    assert len(doc.skins) == 2 and len(doc.cameras) == 1
    assert doc.accessors[doc.animations[0].samplers[0].input].count == 4
    with pytest.raises(Exception, match="format 'fbx'"):
        client.predict(scene_json(), "fbx", api_name="/export_scene")


def test_render_preview_refuses_bad_scene_and_server_paths(client):
    with pytest.raises(Exception, match="not valid JSON"):
        client.predict("{not json", api_name="/render_preview")
    scene = json.loads(scene_json())
    scene["people"][0]["motion"]["source"] = "/etc/passwd"
    with pytest.raises(Exception, match="neither a preset nor a file uploaded"):
        client.predict(json.dumps(scene), api_name="/render_preview")


def test_generate_tiny_random_returns_files(client):
    video, condition, scene_file, result = client.predict(
        scene_json(frames=16, width=256, height=256), "two people talking in a park", "", 2, 9.0, 0.0, 7,
        "tiny-random", "", api_name="/generate")
    frames, fps = read_video(video["video"] if isinstance(video, dict) else video)
    cond, _ = read_video(condition["video"] if isinstance(condition, dict) else condition)
    assert frames.shape == (16, 256, 256, 3) and cond.shape == (16, 256, 256, 3)
    assert json.loads(Path(scene_file).read_text())["prompt"] == "two people talking in a park"
    assert result["seed"] == 7 and result["trained"] is False
    assert result["clip_seconds"] == pytest.approx(16 / 8.0) and result["generation_seconds"] > 0
    assert "seconds" not in result
    assert "UNTRAINED" in result["weights"]
    assert not [v for v in result.values() if isinstance(v, str) and v.startswith("/")]  # no server paths


def test_import_motion_then_use_it_in_a_scene(client):
    sample = SAMPLES / "motion" / "humanml3d_new_joints_012314.npy"
    if not sample.is_file():
        pytest.skip(f"sample motion not found at {sample} (../shared/samples)")
    info, npz = client.predict(gradio_client.handle_file(str(sample)), api_name="/import_motion")
    assert info["people"] == 1 and info["frames"] == [170]
    assert Path(npz).suffix == ".npz" and Path(npz).stat().st_size > 0
    scene = json.loads(scene_json(frames=4, width=64, height=64))
    scene["people"][0]["motion"]["source"] = info["source"]
    video, _, _ = client.predict(json.dumps(scene), api_name="/render_preview")
    frames, _ = read_video(video["video"] if isinstance(video, dict) else video)
    assert frames.shape[0] == 4


def test_import_motion_explains_a_bad_file(client, tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(Exception, match="broken.npz"):
        client.predict(gradio_client.handle_file(str(bad)), api_name="/import_motion")


def _fetch(app, path) -> int:
    import urllib.error
    import urllib.parse
    import urllib.request

    url = f"{app.url}gradio_api/file={urllib.parse.quote(str(path))}"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_one_session_cannot_fetch_another_sessions_files(app, client):
    """Issue 16: the work folder (every session's uploads, scenes, results) is not served by path."""
    root = app.workdir / "sessions"
    secret = root / "sessions" / ("a" * 32) / "uploads" / "secret.npz"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_bytes(b"another user's upload")
    client.predict(scene_json(frames=4, width=64, height=64), api_name="/render_preview")
    previews = sorted((root / "api" / "previews").glob("*/preview.mp4"))
    assert previews, "the API preview is written under the work folder"
    for path in (secret, previews[-1], root / "sessions"):
        assert _fetch(app, path) == 403, path
    # what a caller gets back lives in Gradio's cache, under a hash of its content
    video, _, _ = client.predict(scene_json(frames=4, width=64, height=64), api_name="/render_preview")
    assert str(root) not in str(video)


def test_generate_offers_only_the_operators_models_and_says_nothing_of_server_paths(client):
    args = (scene_json(frames=4, width=64, height=64), "x", "", 1, 9.0, 0.0, 1)
    for model in ("/etc", "/no/such/folder", "someone/some-hub-model"):
        with pytest.raises(Exception, match=r"is not offered here; choose one of: (amg-demo, )?tiny-random") as info:
            client.predict(*args, model, "", api_name="/generate")
        assert "exist" not in str(info.value) and "download" not in str(info.value)
    for adapters in ("/tmp", "/no/such/adapters"):
        with pytest.raises(Exception, match="are not offered here"):
            client.predict(*args, "tiny-random", adapters, api_name="/generate")


def test_api_errors_carry_no_python_text(client):
    scene = json.loads(scene_json())
    scene["people"][0]["motion"]["source"] = "walk\u0000/../x.npz"
    with pytest.raises(Exception) as info:
        client.predict(json.dumps(scene), api_name="/render_preview")
    assert "null byte" not in str(info.value) and "neither a preset" in str(info.value)
    with pytest.raises(Exception, match="nested"):
        client.predict('{"people": ' + "[" * 3000 + "]" * 3000 + "}", api_name="/render_preview")


def test_open_scene_takes_a_bundle_and_its_scene_renders(client, tmp_path):
    """A bundle made by `amg bundle` (here: save_bundle) opens through the API; the scene it returns
    refers to the unpacked files, and renders the same frames as the original."""
    import shutil

    from amg.bundle import save_bundle
    from amg.render import render_scene
    from amg.scene import Scene

    bvh = SAMPLES / "motion" / "emotional_walk_pymo.bvh"
    if not bvh.is_file():
        pytest.skip(f"sample motion not found at {bvh} (../shared/samples)")
    shutil.copy(bvh, tmp_path / "walk.bvh")
    data = json.loads(scene_json(frames=4, width=64, height=64))
    data["people"][0]["motion"] = {"source": "walk.bvh"}
    (tmp_path / "scene.json").write_text(json.dumps(data))
    scene = Scene.load(tmp_path / "scene.json")
    bundle = save_bundle(scene, tmp_path / "walkers.amgscene")
    opened, info = client.predict(gradio_client.handle_file(str(bundle)), api_name="/open_scene")
    assert info["missing"] == [] and info["files"] == 1 and info["clip_seconds"] == pytest.approx(0.5)
    assert "/" not in json.loads(opened)["people"][0]["motion"]["source"][:1]  # relative: no server path
    video, _, _ = client.predict(opened, api_name="/render_preview")
    frames, _ = read_video(video["video"] if isinstance(video, dict) else video)
    expected = render_scene(scene).rgb
    assert frames.shape == expected.shape
    assert abs(frames.astype(int) - expected.astype(int)).mean() < 2.0  # the same frames, through H.264
    # a plain JSON whose file is not on the server: the missing file is named
    _, info = client.predict(gradio_client.handle_file(str(tmp_path / "scene.json")), api_name="/open_scene")
    assert info["missing"] == ["people[0].motion.source: walk.bvh"]
