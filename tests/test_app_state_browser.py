"""The page always shows the session's Scene (issue 18): one app, one page, the bugs a new user hit
in the first hour, each checked the way the user met it. The server's own copy of the scene (the
session's scene.json) is the truth every control is compared with.

Runs in file order on one page (each step starts from where the last one left the page).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_app_browser import (another_user, browser, drag_slider, outside_requests,  # noqa: F401
                                    page, pick_option, shot, tab, upload_and_assign_sample_motion, video_src,
                                    wait_new_video, wait_settled)
from tests.test_app_harness import SAMPLES

pytestmark = pytest.mark.browser

SCENE_INPUT = "#scene-upload input[type=file], input[type=file][accept*='.amgscene']"
ZIP_HREF_JS = "() => (document.querySelector(\"#train-download a[href*='.zip']\") || {href: ''}).href"
CLIENT_JS = "() => window.sessionStorage.getItem('amg-studio-client')"


def server_scene(page, app) -> dict:
    """The scene the server holds for this page's session (what a render would use)."""
    cid = page.evaluate(CLIENT_JS)
    return json.loads((Path(app.workdir) / "sessions" / "sessions" / cid / "scene.json").read_text())


def slider_value(page, elem_id: str) -> float:
    return float(page.locator(f"#{elem_id} input[type=number]").input_value())


def prompt_box(page):
    return page.locator("#appearance-prompt textarea")


def test_camera_preview_follows_edits_made_in_other_tabs(page, app):
    tab(page, "Camera")
    page.wait_for_selector("#preview-video video", timeout=120_000)  # the first example renders on load
    before = wait_settled(page, "#preview-video video", "")
    tab(page, "Avatars")
    drag_slider(page, "avatar-height", 0.95)  # a much taller first person
    page.wait_for_function("() => Number(document.querySelector('#avatar-height input[type=number]').value) > 0.8")
    page.wait_for_timeout(1000)
    tab(page, "Camera")
    after = wait_new_video(page, "#preview-video video", before, timeout=60_000)  # was: the page-load video
    assert after != before
    shot(page, "state_camera_after_avatar_edit")


def test_a_body_slider_keeps_the_typed_prompt(page, app):
    tab(page, "Avatars")
    typed = "a very old man with a grey beard in a brown suit"
    prompt_box(page).fill(typed)
    drag_slider(page, "avatar-weight", 0.9)  # before "Build avatar"
    page.wait_for_function("() => Number(document.querySelector('#avatar-weight input[type=number]').value) > 0.8")
    page.wait_for_timeout(2500)  # the slider's reply has come back
    assert prompt_box(page).input_value() == typed
    page.click("#build-avatar")
    page.wait_for_timeout(2500)
    assert prompt_box(page).input_value() == typed
    person = page.locator("#avatar-person input").input_value()
    saved = next(p for p in server_scene(page, app)["people"] if p["id"] == person)
    assert saved["avatar"]["prompt"] == typed
    assert saved["avatar"]["phenotype"]["weight"] > 0.8


def test_typing_right_after_picking_a_person_is_kept(page, app):
    tab(page, "Avatars")
    people = page.evaluate("() => document.querySelector('#avatar-person input').value")
    other = "man" if people != "man" else "woman"
    typed = "a short boy in a green t-shirt"
    pick_option(page, "avatar-person", other)
    prompt_box(page).fill(typed)  # at once: the person's reply is still on its way
    page.wait_for_timeout(3000)
    assert prompt_box(page).input_value() == typed
    saved = next(p for p in server_scene(page, app)["people"] if p["id"] == other)
    assert saved["avatar"]["prompt"] == typed  # kept for the person the page shows
    shot(page, "state_prompt_kept")


def test_camera_sliders_show_what_the_scene_renders_after_preset_switches(page, app):
    tab(page, "Camera")
    src = video_src(page, "#preview-video video")
    pick_option(page, "camera-preset", "orbit")
    src = wait_settled(page, "#preview-video video", src)
    drag_slider(page, "cam-orbit-angle", 0.12)  # ~85 degrees
    src = wait_settled(page, "#preview-video video", src)
    angle = slider_value(page, "cam-orbit-angle")
    assert angle < 200
    pick_option(page, "camera-preset", "static")
    src = wait_settled(page, "#preview-video video", src)
    pick_option(page, "camera-preset", "orbit")
    wait_settled(page, "#preview-video video", src)
    shown = slider_value(page, "cam-orbit-angle")
    camera = server_scene(page, app)["camera"]
    assert camera["preset"] == "orbit"
    assert shown == pytest.approx(camera["params"].get("angle", 360.0))  # what the render uses
    assert shown == pytest.approx(angle)  # and the user's own value came back with the preset
    shot(page, "state_orbit_angle")


def test_back_to_the_preset_after_a_camera_import(page, app):
    sample = SAMPLES / "camera" / "nerfstudio_camera_path_translucent.json"
    if not sample.is_file():
        pytest.skip(f"sample camera path not found at {sample} (../shared/samples)")
    tab(page, "Camera")
    angle = server_scene(page, app)["camera"]["params"].get("angle")
    page.get_by_text("Camera files (nerfstudio").click()
    src = video_src(page, "#preview-video video")
    page.locator("#camera-upload input[type=file]").set_input_files(str(sample))
    src = wait_new_video(page, "#preview-video video", src, timeout=90_000)
    assert server_scene(page, app)["camera"]["file"]
    page.get_by_text("Custom path: keyframes").click()
    page.get_by_role("button", name="Back to the preset").click()
    wait_new_video(page, "#preview-video video", src, timeout=90_000)
    camera = server_scene(page, app)["camera"]
    assert camera["file"] is None and camera["preset"] == "orbit"  # was: static
    assert camera["params"].get("angle") == angle
    page.wait_for_function("() => document.querySelector('#camera-preset input').value === 'orbit'")
    assert slider_value(page, "cam-orbit-angle") == pytest.approx(angle if angle is not None else 360.0)


def test_generate_and_advanced_fields_survive_a_reload(page, app):
    tab(page, "Generate")
    steps = page.locator("#steps input[type=number]")
    steps.fill("7")
    steps.press("Enter")
    seed = page.locator("#gen-seed input")
    seed.fill("1234")
    seed.press("Tab")
    page.fill("#adapters-folder textarea, #adapters-folder input", "my_adapters")
    page.fill("#scene-prompt textarea", "two people dance in the rain")
    tab(page, "Advanced")
    page.fill("#train-caption textarea", "a man dribbles a ball")
    page.fill("#train-dataset textarea, #train-dataset input", "clips2")
    page.wait_for_timeout(1500)
    page.reload()
    tab(page, "Generate")
    page.wait_for_function("() => document.querySelector('#scene-prompt textarea').value.length > 0",
                           timeout=120_000)
    page.wait_for_timeout(1500)
    assert page.locator("#steps input[type=number]").input_value() == "7"
    assert page.locator("#gen-seed input").input_value() == "1234"
    assert page.locator("#adapters-folder textarea, #adapters-folder input").input_value() == "my_adapters"
    assert page.locator("#scene-prompt textarea").input_value() == "two people dance in the rain"
    tab(page, "Advanced")
    assert page.locator("#train-caption textarea").input_value() == "a man dribbles a ball"
    assert page.locator("#train-dataset textarea, #train-dataset input").input_value() == "clips2"
    shot(page, "state_reloaded_advanced")


def _preview_frames(page, tmp_path, name):
    from amg.video import read_video

    src = video_src(page, "#preview-video video")
    path = tmp_path / f"{name}.mp4"
    path.write_bytes(page.request.get(src).body())
    return read_video(path)[0]


def test_a_saved_bundle_opens_in_a_fresh_session_and_renders_the_same(page, app, browser, tmp_path):
    """A scene using an uploaded motion, saved as .amgscene, opens in another session (whose own
    uploads never held that file) and previews the same frames; its plain JSON there lists what is missing."""
    upload_and_assign_sample_motion(page)
    tab(page, "Camera")
    page.wait_for_timeout(1000)
    src = wait_settled(page, "#preview-video video", "")
    ours = _preview_frames(page, tmp_path, "ours")
    page.click("#save-scene")
    link = page.wait_for_selector("#scene-file a[href*='.amgscene']", state="attached", timeout=60_000)
    bundle = tmp_path / "saved.amgscene"
    bundle.write_bytes(page.request.get(link.get_attribute("href")).body())
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(server_scene(page, app)))
    assert src

    with another_user(browser, app) as p2:
        tab(p2, "Camera")
        first = wait_settled(p2, "#preview-video video", "")
        p2.locator(SCENE_INPUT).first.set_input_files(str(plain))
        p2.wait_for_function("() => document.querySelector('#scene-note').innerText.includes('not here')")
        note = p2.inner_text("#scene-note")
        assert "emotional_walk_pymo.bvh" in note and re.search(r"people\[\d\]\.motion\.source", note)
        p2.locator(SCENE_INPUT).first.set_input_files(str(bundle))
        p2.wait_for_function("() => document.querySelector('#scene-note').innerText.includes('Opened saved')")
        assert "not here" not in p2.inner_text("#scene-note")
        wait_settled(p2, "#preview-video video", first)
        theirs = _preview_frames(p2, tmp_path, "theirs")
        shot(p2, "state_bundle_opened")
    assert theirs.shape == ours.shape
    assert abs(theirs.astype(int) - ours.astype(int)).mean() < 1.0  # the same frames (H.264 twice)


def test_dataset_and_adapters_download_as_zips(page, app, tmp_path):
    """Advanced tab: the dataset and the adapters named there come as .zip files."""
    import zipfile

    cid = page.evaluate(CLIENT_JS)
    session = Path(app.workdir) / "sessions" / "sessions" / cid
    (session / "datasets" / "clips2" / "clip0000").mkdir(parents=True, exist_ok=True)
    (session / "datasets" / "clips2" / "amg_dataset.json").write_text("{}")
    (session / "datasets" / "clips2" / "clip0000" / "caption.txt").write_text("a man dribbles a ball")
    (session / "adapters" / "adapters").mkdir(parents=True, exist_ok=True)
    (session / "adapters" / "adapters" / "adapter_config.json").write_text("{}")
    tab(page, "Advanced")
    page.fill("#train-dataset textarea, #train-dataset input", "clips2")
    for button, expected in (("#download-dataset", "clips2/clip0000/caption.txt"),
                             ("#download-adapters", "adapters/adapter_config.json")):
        page.click(button)
        page.wait_for_function(f"(n) => ({ZIP_HREF_JS})().includes(n)", arg=expected.split("/")[0], timeout=60_000)
        data = page.request.get(page.evaluate(ZIP_HREF_JS)).body()
        (tmp_path / "got.zip").write_bytes(data)
        assert expected in zipfile.ZipFile(tmp_path / "got.zip").namelist()


def test_shot_shape_length_and_timeline(page, app):
    """A 16:9 shot at ModelScope's size, 3 s long: the preview has that shape and the Motion tab's
    timeline shows what each person's clip plays."""
    from tests.test_app_browser import VIDEO_STATE_JS

    tab(page, "Camera")
    src = video_src(page, "#preview-video video")
    page.locator("#shot-aspect").get_by_label("16:9").check()
    src = wait_settled(page, "#preview-video video", src)
    render = server_scene(page, app)["render"]
    assert (render["width"], render["height"]) == (456, 256)
    page.wait_for_function("() => document.querySelector('#preview-video video').videoWidth > 0")
    state = page.evaluate(VIDEO_STATE_JS, "#preview-video video")
    assert abs(state["width"] / state["height"] - 16 / 9) < 0.05, state
    assert "456x256" in page.inner_text("#shot-note")
    drag_slider(page, "shot-seconds", 0.1)  # ~3 s of the 0.25-30 s range
    wait_settled(page, "#preview-video video", src)
    render = server_scene(page, app)["render"]
    seconds = render["frames"] / render["fps"]
    assert 2.0 < seconds < 4.5 and f"{render['frames']} frames" in page.inner_text("#shot-note")
    shot(page, "state_shot_16x9")
    tab(page, "Motion")
    page.wait_for_selector("#motion-timeline img", timeout=60_000)
    drag_slider(page, "motion-offset", 0.55)  # this person starts ~1 s into the shot
    page.wait_for_function("() => Number(document.querySelector('#motion-offset input[type=number]').value) > 0.5")
    page.wait_for_timeout(3000)
    person = page.locator("#motion-person input").input_value()
    saved = next(p for p in server_scene(page, app)["people"] if p["id"] == person)
    assert saved["motion"]["offset"] > 0.5
    shot(page, "state_timeline")


def test_the_whole_scene_in_3d(page, app):
    """All people at once, animated, with the camera's path and frustum (last: WebGL is heavy here)."""
    tab(page, "Camera")
    page.click("#show-scene-3d")
    page.wait_for_selector("#scene-3d canvas", timeout=120_000)
    page.wait_for_timeout(4000)
    view = page.locator("#scene-3d canvas")
    view.scroll_into_view_if_needed()
    a = view.screenshot()
    page.wait_for_timeout(1500)
    b = view.screenshot()
    shot(page, "state_scene_3d")
    from io import BytesIO

    import numpy as np
    from PIL import Image

    ia, ib = (np.asarray(Image.open(BytesIO(x)).convert("RGB"), dtype=int) for x in (a, b))
    assert ia.std() > 3, "the 3D view is empty"
    assert np.abs(ia - ib).mean() > 0.05, "the 3D view does not move (its animation does not play)"
