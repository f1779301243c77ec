"""Issue 16, without a server: the password limit, the sweep of unheld files, path-free messages."""

from __future__ import annotations

import os
import time

from app.access import MAX_FAILURES, WINDOW_S, RateLimitedAuth
from app.context import AppConfig, Ctx, public_message


def test_wrong_passwords_lock_the_login_for_a_while():
    now = [0.0]
    slept = []
    auth = RateLimitedAuth("ann", "s3cret", clock=lambda: now[0], sleep=slept.append)
    assert auth("ann", "s3cret")
    for _ in range(30):  # the trial: 30 guesses in under a second, then the right one worked
        assert not auth("ann", "guess")
    assert not auth("ann", "s3cret")  # locked, even for the right password
    assert len(slept) == MAX_FAILURES  # each wrong guess cost a delay until the lock took over
    now[0] += WINDOW_S + 1
    assert auth("ann", "s3cret")
    assert not auth("bob", "s3cret")


def test_unheld_api_files_and_job_folders_are_swept(tmp_path):
    ctx = Ctx(AppConfig(root=tmp_path / "work"))
    root = ctx.store.root
    old = time.time() - 3600
    made = {}
    for rel in ("api/previews/p1/preview.mp4", "api/exports/e1/scene.glb", "jobs/j-free/video.mp4",
                "jobs/j-held/video.mp4", "api/motions/m1/walk.npz"):
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"x")
        os.utime(f.parent, (old, old))
        made[rel.split("/")[-2]] = f.parent
    session = ctx.session(None)
    session.history.append({"video": str(made["j-held"] / "video.mp4")})
    fresh = root / "api" / "previews" / "p2"
    fresh.mkdir()
    gone = {p.name for p in ctx.sweep_files()}
    assert gone == {"p1", "e1", "j-free"}
    assert made["j-held"].is_dir() and made["m1"].is_dir() and fresh.is_dir() and session.dir.is_dir()


def test_messages_name_files_not_server_folders(tmp_path):
    ctx = Ctx(AppConfig(root=tmp_path / "work"))
    inside = ctx.store.root / "sessions" / ("b" * 32) / "uploads" / "walk.npz"
    assert public_message(f"{inside}: not a motion") == "walk.npz: not a motion"
