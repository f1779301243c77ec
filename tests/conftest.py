"""Shared test fixtures. Samples come from ../shared/samples (skipped with a reason if absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"third-party samples not found at {SAMPLES} (they live in ../shared/samples)")
    return SAMPLES


@pytest.fixture(scope="module")
def app(tmp_path_factory, request):
    """The real app (`python app.py`) on a free port, one process per test module."""
    from tests.test_app_harness import AppProcess

    proc = AppProcess(tmp_path_factory.mktemp(f"app-{request.module.__name__.rsplit('.', 1)[-1]}"))
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.close()


@pytest.fixture(scope="session")
def video(samples_dir) -> Path:
    """The real single-person sample video (a man dribbling a ball), or a skip with the reason."""
    path = samples_dir / "video" / "mmhuman3d_single_person_demo.mp4"
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/samples not beside the repository)")
    return path
