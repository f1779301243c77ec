"""The app's server-side pieces without a browser: sessions, jobs, the sketch, the command line."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from amg.errors import AmgError
from amg.scene import Person, Scene
from app.jobs import JobRegistry
from app.session import SessionStore
from app.sketch import CAMERA, draw_top_down


# ---- sessions ------------------------------------------------------------------------------
def test_sessions_are_separate_and_survive_a_reload(tmp_path):
    store = SessionStore(tmp_path)
    a, b = store.get(None), store.get(None)
    assert a.id != b.id and a.dir != b.dir
    a.set_scene(Scene(name="mine", people=[Person(id="alice")]))
    (a.subdir("uploads") / "walk.bvh").write_text("HIERARCHY")
    assert b.scene.name != "mine"
    # a reload brings the same id back; a restarted server finds the scene and uploads on disk
    assert store.get(a.id) is a
    restored = SessionStore(tmp_path).get(a.id)
    assert restored.scene.name == "mine" and restored.scene.people[0].id == "alice"
    assert "walk.bvh" in restored.motions


def test_malformed_client_ids_get_a_fresh_session(tmp_path):
    store = SessionStore(tmp_path)
    for bad in ("../../etc", "x" * 32, "", None):
        s = store.get(bad)
        assert s.dir.parent == tmp_path / "sessions" and s.id != bad


def test_damaged_autosave_does_not_block_the_page(tmp_path):
    store = SessionStore(tmp_path)
    s = store.get(None)
    (s.dir / "scene.json").write_text("{ broken")
    again = SessionStore(tmp_path).get(s.id)
    assert again.scene.people  # a usable default scene


def test_idle_sessions_are_swept(tmp_path):
    store = SessionStore(tmp_path, ttl_s=0.0)
    s = store.get(None)
    time.sleep(0.01)
    store.sweep()
    assert not s.dir.exists() and len(store) == 0


def test_new_files_never_reuse_a_name(tmp_path):
    s = SessionStore(tmp_path).get(None)
    names = {s.new_file("previews", "preview", ".mp4").name for _ in range(50)}
    assert len(names) == 50


# ---- jobs ------------------------------------------------------------------------------------
def test_jobs_wait_in_line_and_report_progress():
    jobs = JobRegistry(max_running=1)
    gate = threading.Event()

    def slow(job):
        for i in range(3):
            job.report(i + 1, 3, 0.1 * (2 - i), f"step {i + 1}")
            gate.wait(5)
        return {"ok": True}

    first = jobs.submit(slow, owner="a")
    second = jobs.submit(lambda job: {"second": True}, owner="b")
    deadline = time.time() + 5
    while first.status != "running" and time.time() < deadline:
        time.sleep(0.01)
    assert first.status == "running" and second.status == "queued"
    assert jobs.place_in_line(second) == 1
    gate.set()
    jobs.wait(first, timeout=10)
    jobs.wait(second, timeout=10)
    assert first.status == "done" and first.result == {"ok": True} and first.step == 3
    assert second.status == "done"


def test_cancel_stops_a_running_job_between_steps():
    jobs = JobRegistry()
    steps = []

    def work(job):
        for i in range(1000):
            steps.append(i)
            job.report(i, 1000)
            time.sleep(0.005)
        return {}

    job = jobs.submit(work, owner="a")
    while not steps:
        time.sleep(0.01)
    jobs.cancel(job.id)
    jobs.wait(job, timeout=10)
    assert job.status == "cancelled" and job.result is None and len(steps) < 1000


def test_cancel_in_line_leaves_at_once():
    jobs = JobRegistry(max_running=1)
    gate = threading.Event()
    running = jobs.submit(lambda job: gate.wait(10) and {}, owner="a")
    waiting = jobs.submit(lambda job: {"never": True}, owner="b")
    time.sleep(0.2)
    jobs.cancel(waiting.id)
    jobs.wait(waiting, timeout=2)
    assert waiting.status == "cancelled" and running.status == "running"
    gate.set()
    assert jobs.wait(running, timeout=10).status == "done"


def test_bad_input_fails_the_job_with_its_message():
    jobs = JobRegistry()

    def work(job):
        raise AmgError("scene prompt: empty")

    job = jobs.wait(jobs.submit(work, owner="a"), timeout=10)
    assert job.status == "failed" and job.error == "scene prompt: empty"


# ---- sketch ------------------------------------------------------------------------------
def test_sketch_draws_people_tracks_and_camera_path():
    t = np.linspace(0, 2 * np.pi, 16)
    cams = np.stack([4 * np.sin(t), np.full_like(t, 1.5), 4 * np.cos(t)], axis=1)
    forward = -cams / np.linalg.norm(cams, axis=1, keepdims=True)
    tracks = np.stack([np.stack([np.linspace(-1, 1, 16), np.zeros(16)], 1),
                       np.stack([np.full(16, 0.7), np.zeros(16)], 1)])
    img = np.asarray(draw_top_down(tracks, ["a", "b"], ["#2f6fd0", "#d04a3a"], cams, forward,
                                   headings=np.array([90.0, -90.0])))
    assert img.shape == (320, 320, 3)
    is_camera = np.all(img == CAMERA, axis=-1)
    is_blue = np.all(img == (47, 111, 208), axis=-1)
    assert is_camera.sum() > 200  # the orbit circle
    assert is_blue.sum() > 50  # person a's dot and track
    # the circle surrounds the people: camera pixels on both sides of the image centre
    cols = np.nonzero(is_camera)[1]
    assert cols.min() < 100 and cols.max() > 220


# ---- command line and API guard ----------------------------------------------------------------
def test_app_defaults_listen_on_this_machine_only():
    import app as app_module  # the package; app.py is loaded by path below
    from importlib.util import module_from_spec, spec_from_file_location
    from pathlib import Path

    assert app_module.__doc__
    spec = spec_from_file_location("app_main", Path(__file__).resolve().parents[1] / "app.py")
    main = module_from_spec(spec)
    spec.loader.exec_module(main)
    args = main.parse_args([])
    assert (args.host, args.port, args.share, args.auth) == ("127.0.0.1", 7860, False, None)
    assert main.main(["--auth", "nopassword"]) == 2
    import os

    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_api_scenes_may_only_reference_presets_and_api_uploads(tmp_path):
    from app.api import ApiEndpoints
    from app.context import AppConfig, Ctx

    api = ApiEndpoints(Ctx(AppConfig(root=tmp_path)))
    scene = json.loads(Scene(people=[Person(id="a")]).to_json())
    assert api._scene(json.dumps(scene)).people[0].motion.source == "idle"
    for bad in ("/etc/passwd", "../../secret.npz", "~/.ssh/id_rsa"):
        scene["people"][0]["motion"]["source"] = bad
        with pytest.raises(AmgError, match="neither a preset nor a file uploaded"):
            api._scene(json.dumps(scene))
    (tmp_path / "api" / "motions" / "abc").mkdir(parents=True)
    scene["people"][0]["motion"]["source"] = "motions/abc/walk.bvh"
    api._scene(json.dumps(scene))
    with pytest.raises(AmgError, match="not valid JSON"):
        api._scene("{")


def test_keyframe_table_becomes_a_camera_path_file(tmp_path):
    from amg.camera.formats import load_camera_path
    from app.context import AppConfig, Ctx
    from app.tabs.camera import DEFAULT_KEYS, CameraTab

    ctx = Ctx(AppConfig(root=tmp_path))
    session = ctx.session(None)
    tab = CameraTab(ctx)
    rel = tab.keyframes_file(session, DEFAULT_KEYS)
    path = load_camera_path(session.dir / rel)
    assert [k.time for k in path.keyframes] == [0.0, 2.0]
    assert np.allclose(path.keyframes[0].position, DEFAULT_KEYS[0][1:4])
    with pytest.raises(AmgError, match="row 2: every cell must be a number"):
        tab.keyframes_file(session, [DEFAULT_KEYS[0], ["x"] * 8])
    with pytest.raises(AmgError, match="at least two keyframes"):
        tab.keyframes_file(session, DEFAULT_KEYS[:1])


def test_opened_scenes_may_only_reference_presets_and_this_sessions_files(tmp_path):
    """A scene file opened in the browser cannot make the server read its files or another session's uploads."""
    from app.context import AppConfig, Ctx
    from app.session import confine_file_refs

    ctx = Ctx(AppConfig(root=tmp_path))
    mine, other = ctx.session(None), ctx.session(None)
    upload = other.new_file("uploads", "walk", ".npz")
    scene = Scene(people=[Person(id="a")])
    confine_file_refs(scene, mine.dir, "s.json", "a file uploaded in this session")  # preset "idle"
    for bad in (str(upload), "/etc/passwd", "../" + other.dir.name + "/uploads/x.npz"):
        scene.people[0].motion.source = bad
        with pytest.raises(AmgError, match="s.json people\\[0\\].motion.source"):
            confine_file_refs(scene, mine.dir, "s.json", "a file uploaded in this session")
    scene.people[0].motion.source = str(mine.new_file("uploads", "walk", ".npz"))
    confine_file_refs(scene, mine.dir, "s.json", "a file uploaded in this session")
    scene.camera.file = "/etc/hosts"
    with pytest.raises(AmgError, match="camera.file"):
        confine_file_refs(scene, mine.dir, "s.json", "a file uploaded in this session")


# ---- engine features, the avatar view ---------------------------------------------------------
def test_a_feature_whose_import_fails_is_named_with_the_reason(monkeypatch):
    from app import engine

    def broken():
        raise ImportError("No module named 'moderngl'")

    monkeypatch.setitem(engine.FEATURES, "render", (broken, "the avatar preview video"))
    engine.missing.cache_clear()
    try:
        assert not engine.has("render")
        assert engine.missing("render") == ("the avatar preview video is not available in this installation "
                                            "(ImportError: No module named 'moderngl')")
    finally:
        engine.missing.cache_clear()
    assert engine.has("export") and engine.get("export").__name__ == "export_scene"


def test_the_avatar_view_stands_back_for_tall_avatars(tmp_path):
    import trimesh

    from app.tabs.avatar import _view_radius

    for height, radius in ((1.7, 2.7), (2.4, 1.45 * 2.4)):
        path = tmp_path / f"box{height}.glb"
        trimesh.creation.box(extents=(0.5, height, 0.3)).export(path)
        assert _view_radius(path) == pytest.approx(radius, abs=0.01)
