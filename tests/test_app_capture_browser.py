"""Motion from a video in the real app (Chromium): the Motion tab captures the sample's man,
shows him with his avatar over the video, and drives the scene's avatar with him; the
Advanced tab makes a training clip from the video alone with the overlay beside it.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

import pytest

from tests.test_app_browser import browser, outside_requests, page, pick_option, shot, tab  # noqa: F401
from tests.test_app_harness import SAMPLES

pytestmark = pytest.mark.browser
VIDEO = SAMPLES / "video" / "mmhuman3d_single_person_demo.mp4"


@pytest.fixture(scope="module", autouse=True)
def needs():
    from amg.capture.models import pose_task_path

    if not VIDEO.exists():
        pytest.skip(f"{VIDEO} is absent")
    if not pose_task_path().is_file():
        pytest.skip("pose model not built: run `amg setup`")


def test_motion_tab_captures_a_video_and_drives_the_avatar(page):
    tab(page, "Motion")
    page.get_by_text("Motion from a video", exact=True).click()
    page.locator("#capture-video input[type=file]").set_input_files(str(VIDEO))
    page.wait_for_timeout(1000)
    page.click("#capture-go")
    page.wait_for_function("() => document.querySelector('#capture-status').innerText.includes('Captured')",
                           timeout=240_000)
    status = page.inner_text("#capture-status")
    assert "1 person" in status and "camera:" in status and "focal length assumed" in status
    page.wait_for_selector("#capture-overlay video", timeout=30_000)
    page.locator("#capture-overlay").scroll_into_view_if_needed()
    shot(page, "motion_captured")
    page.click("#capture-assign")
    page.wait_for_function("() => document.querySelector('#motion-current').innerText.includes('capture.npz')",
                           timeout=60_000)
    assert "mmhuman3d_single_person_demo-capture.npz" in page.inner_text("#motion-current")
    page.wait_for_selector("#motion-preview video", timeout=120_000)
    shot(page, "motion_from_video_assigned")


def test_advanced_tab_adds_a_clip_from_the_video_alone(page):
    tab(page, "Advanced")
    page.locator("#train-video input[type=file]").set_input_files(str(VIDEO))
    pick_option(page, "train-size", "64x64")
    box = page.locator("#train-frames input[type=number]")
    box.fill("8")
    box.press("Enter")
    page.fill("#train-caption textarea", "a man dribbling a basketball")
    page.wait_for_timeout(500)
    page.click("#train-add")
    page.wait_for_function("() => document.querySelector('#train-summary').innerText.includes('clip')"
                           " && document.querySelector('#train-clip-overlay video')", timeout=240_000)
    assert "captured from the video" in page.inner_text("#train-clips")
    page.locator("#train-clip-overlay").scroll_into_view_if_needed()
    shot(page, "advanced_clip_from_video")
