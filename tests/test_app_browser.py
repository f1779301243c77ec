"""The real app in a real browser: `python app.py` driven by Playwright in Debian's Chromium.

One app process and one browser for the whole module; the tests run in file order and
build on each other like a user's session (example scene -> camera -> avatar -> motion
-> generate). Screenshots of every tab go to tests/artifacts/.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest

from tests.test_app_harness import ARTIFACTS, CHROMIUM_ARGS, SAMPLES, chromium_path

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright (PyPI `playwright`) is not installed")

FIRST_FRAME_JS = """
async (selector) => {
  const v = document.querySelector(selector);
  if (!v || !v.src) return null;
  const probe = document.createElement('video');
  probe.muted = true;
  probe.src = v.src;
  await new Promise((ok, bad) => { probe.onloadeddata = ok; probe.onerror = () => bad(new Error('cannot load ' + v.src)); });
  probe.currentTime = 0;
  await new Promise(ok => { probe.onseeked = ok; setTimeout(ok, 1500); });
  const c = document.createElement('canvas'); c.width = 64; c.height = 64;
  const g = c.getContext('2d');
  g.drawImage(probe, 0, 0, 64, 64);
  return Array.from(g.getImageData(0, 0, 64, 64).data);
}
"""
VIDEO_STATE_JS = """
(selector) => {
  const v = document.querySelector(selector);
  return v ? {src: v.src, readyState: v.readyState, duration: v.duration, error: v.error ? v.error.code : null,
              width: v.videoWidth, height: v.videoHeight} : null;
}
"""


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium not found: apt-get install -y chromium (Debian's package; never `playwright install`)")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def outside_requests():
    return []


@pytest.fixture(scope="module")
def page(browser, app, outside_requests):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})

    def check(request):
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if url.hostname not in ("127.0.0.1", "localhost"):
            outside_requests.append(request.url)

    context.on("request", check)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(app.url)
    yield pg
    context.close()


def shot(page, name: str) -> None:
    """Full-page screenshot (messages from earlier steps closed first)."""
    for close in page.locator(".toast-close").all():
        if close.is_visible():
            close.click()
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"app_{name}.png"), full_page=True)


def tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    page.wait_for_timeout(300)


def video_src(page, selector: str) -> str:
    return page.evaluate(f"() => (document.querySelector('{selector}') || {{}}).src || ''")


def wait_new_video(page, selector: str, old: str, timeout: float = 60_000) -> str:
    page.wait_for_function(
        "([sel, old]) => { const v = document.querySelector(sel); return v && v.src && v.src !== old; }",
        arg=[selector, old], timeout=timeout)
    return video_src(page, selector)


def wait_settled(page, selector: str, old: str, quiet_ms: int = 1500) -> str:
    """The video source once it changed and then stayed the same for `quiet_ms`
    (one drag can fire more than one release)."""
    src = wait_new_video(page, selector, old)
    while True:
        page.wait_for_timeout(quiet_ms)
        now = video_src(page, selector)
        if now == src:
            return src
        src = now


def drag_slider(page, elem_id: str, fraction: float) -> None:
    """Drag a slider's thumb the way a user does (pointer down, move, up: Gradio's 'release')."""
    slider = page.locator(f"#{elem_id} input[type=range]")
    slider.scroll_into_view_if_needed()  # the mouse only reaches what is on screen
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * fraction, y, steps=6)
    page.mouse.up()


def pick_option(page, elem_id: str, option: str) -> None:
    page.click(f"#{elem_id} input")
    page.get_by_role("option", name=option, exact=True).click()


def frame_difference(a, b) -> float:
    return sum(abs(x - y) for x, y in zip(a, b)) / max(len(a), 1)


@contextmanager
def another_user(browser, app):
    """A page of the app in a browser session of its own (another user)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = context.new_page()
        other.set_default_timeout(60_000)
        other.goto(app.url)
        yield other
    finally:
        context.close()


def generate_and_play(page) -> dict:
    """Press Generate, wait for the new result to play; its video state (no error)."""
    before = video_src(page, "#result-video video")  # an earlier result may still be shown
    page.click("#generate")
    wait_new_video(page, "#result-video video", before, timeout=240_000)
    page.wait_for_function("() => document.querySelector('#result-video video').readyState >= 2", timeout=60_000)
    state = page.evaluate(VIDEO_STATE_JS, "#result-video video")
    assert state["error"] is None
    return state


# ---- tests, in the order a user works ----------------------------------------------------
def test_page_loads_with_nothing_leaving_this_machine(page, outside_requests):
    tab(page, "Camera")
    page.wait_for_selector("#preview-video video", timeout=120_000)  # the first example renders on load
    # Opening the tab may first draw the session's starting scene (1 person) while the example
    # loads; the preview must then follow it without a click.
    page.wait_for_function("() => document.querySelector('#preview-status').innerText.includes('2 people')",
                           timeout=60_000)
    for name in ("Avatars", "Motion", "Camera", "Generate", "Advanced"):
        tab(page, name)
        page.wait_for_timeout(700)
        shot(page, f"tab_{name.lower()}")
    assert outside_requests == [], f"requests left 127.0.0.1: {outside_requests[:5]}"


def test_orbit_slider_rerenders_preview(page):
    tab(page, "Camera")
    before = video_src(page, "#preview-video video")
    page.click("#load-example")
    src = wait_new_video(page, "#preview-video video", before)
    pick_option(page, "camera-preset", "orbit")
    src = wait_settled(page, "#preview-video video", src)
    page.wait_for_selector("#cam-orbit-angle", state="visible")
    first = page.evaluate(FIRST_FRAME_JS, "#preview-video video")
    started = time.perf_counter()
    drag_slider(page, "cam-common-azimuth", 0.75)  # the orbit starts about 180 degrees further round
    new_src = wait_settled(page, "#preview-video video", src)
    seconds = time.perf_counter() - started
    second = page.evaluate(FIRST_FRAME_JS, "#preview-video video")
    assert new_src != src
    assert first is not None and second is not None
    assert frame_difference(first, second) > 2.0, "the first frame did not change after moving the orbit start"
    assert seconds < 30
    shot(page, "camera_orbit")


def test_add_person_from_prompt_shows_3d_avatar(page):
    tab(page, "Avatars")
    count = len(page.evaluate("() => [...document.querySelectorAll('#avatar-person input')]"))
    page.click("#add-person")
    page.wait_for_function("() => document.querySelector('#avatar-person input').value.startsWith('person')")
    page.fill("#appearance-prompt textarea", "a tall man in a red hoodie and blue jeans")
    page.click("#build-avatar")
    # the GLB arrives in the 3D viewer (a WebGL canvas) and as a download
    page.wait_for_selector("#avatar-glb a[href*='.glb'], #avatar-glb a[download]", timeout=90_000)
    page.wait_for_selector("#avatar-3d canvas", timeout=60_000)
    page.wait_for_timeout(1500)
    assert count >= 1
    shot(page, "avatar_added")


def upload_and_assign_sample_motion(page) -> None:
    """Motion tab: upload the sample BVH and give it to the selected person (skip without the sample)."""
    bvh = SAMPLES / "motion" / "emotional_walk_pymo.bvh"
    if not bvh.is_file():
        pytest.skip(f"sample motion not found at {bvh} (../shared/samples)")
    tab(page, "Motion")
    page.locator("#motion-upload input[type=file]").set_input_files(str(bvh))
    page.wait_for_function("() => document.querySelector('#upload-note').innerText.includes('Imported')",
                           timeout=90_000)
    page.click("#assign-upload")
    page.wait_for_function(
        "() => document.querySelector('#motion-current').innerText.includes('emotional_walk_pymo.bvh')")


def test_upload_sample_motion_and_assign(page):
    upload_and_assign_sample_motion(page)
    page.wait_for_selector("#motion-preview video", timeout=60_000)
    shot(page, "motion_uploaded")


def test_bad_motion_file_is_explained(page, tmp_path):
    bad = tmp_path / "not_a_motion.npz"
    bad.write_text("this is text, not a NumPy archive")
    tab(page, "Motion")
    page.locator("#motion-upload input[type=file]").set_input_files(str(bad))
    toast = page.locator(".toast-body, [data-testid='toast-body']").filter(has_text="not_a_motion.npz")
    toast.first.wait_for(timeout=60_000)
    text = toast.first.inner_text()
    assert "/tmp/" not in text  # the user's file name, not the server's temp path
    assert "Not imported" in page.inner_text("#upload-note")
    # the drop zone is free again for the next file
    page.wait_for_selector("#motion-upload input[type=file]", state="attached")


def test_corrupt_scene_file_keeps_the_scene(page, tmp_path):
    tab(page, "Generate")
    prompt_before = page.input_value("#scene-prompt textarea")
    bad = tmp_path / "broken_scene.json"
    bad.write_text('{"format": "amg-scene", "people": [')
    page.locator("#scene-upload input[type=file], input[type=file][accept*='.json']").first.set_input_files(str(bad))
    toast = page.locator(".toast-body, [data-testid='toast-body']").filter(has_text="broken_scene.json")
    toast.first.wait_for(timeout=30_000)
    assert "not valid JSON" in toast.first.inner_text()
    assert page.input_value("#scene-prompt textarea") == prompt_before
    page.click("#save-scene")  # the intact scene can still be saved
    page.wait_for_selector("#scene-file a[href*='.amgscene']", state="attached", timeout=30_000)


def test_search_and_assign_a_two_person_preset(page):
    tab(page, "Motion")
    page.fill("#motion-search input", "two people shake hands")
    page.press("#motion-search input", "Enter")
    page.wait_for_function("() => document.querySelector('#motion-details').innerText.includes('motion(s) for')")
    page.locator("#motion-gallery button.thumbnail-item, #motion-gallery .thumbnail-item").first.click()
    # the picked preset's details (not the search summary, which also says "two people")
    page.wait_for_function("() => document.querySelector('#motion-details').innerText.includes('assigns the first two')")
    name = page.inner_text("#motion-details strong").strip()
    assert "handshake" in name
    page.click("#assign-preset")
    page.wait_for_function("(n) => document.querySelector('#motion-current').innerText.includes(n)", arg=name)
    # the example scene's second person ("man") got the other half of the pair
    pick_option(page, "motion-person", "man")
    page.wait_for_function("() => document.querySelector('#motion-current').innerText.includes('person 2 of the file')")
    assert name in page.inner_text("#motion-current")
    shot(page, "motion_pair")


def test_camera_file_import_and_export(page):
    sample = SAMPLES / "camera" / "nerfstudio_camera_path_translucent.json"
    if not sample.is_file():
        pytest.skip(f"sample camera path not found at {sample} (../shared/samples)")
    tab(page, "Camera")
    page.get_by_text("Camera files (nerfstudio").click()
    before = video_src(page, "#preview-video video")
    page.locator("#camera-upload input[type=file]").set_input_files(str(sample))
    wait_new_video(page, "#preview-video video", before, timeout=90_000)
    page.get_by_role("button", name="Export the camera path").click()
    page.wait_for_selector("a[href*='camera_path_nerfstudio']", state="attached", timeout=60_000)
    shot(page, "camera_file")


def test_fill_prompts_from_one_sentence(page):
    tab(page, "Generate")
    page.fill("#sentence textarea", "a woman in a yellow dress and a man in a white shirt dance on a beach at sunset")
    page.click("#fill-prompts")
    page.wait_for_function("() => document.querySelector('#scene-prompt textarea').value.includes('beach')")
    tab(page, "Avatars")
    assert "yellow dress" in page.input_value("#appearance-prompt textarea") or \
        "white shirt" in page.input_value("#appearance-prompt textarea")


def test_generate_amg_demo_by_default_says_what_it_is(page):
    """With no other weights on the machine, the shipped amg-demo model is selected: a trained model
    (no untrained banner), whose videos have its own size (8 frames of 64x64 at 4 fps)."""
    from amg.model import demo

    if not demo.available():
        pytest.skip(f"amg-demo weights not found in {demo.demo_dir()}")
    tab(page, "Generate")
    assert page.locator("#model-choice input").input_value() == "amg-demo"
    # it samples at the avatar guidance its results were measured at, and says so
    assert page.locator("#use-avatar-guidance input").is_checked()
    assert "amg-demo samples with avatar guidance 3" in page.inner_text("#use-avatar-guidance")
    page.fill("#scene-prompt textarea", "two people talking in a park")
    page.wait_for_timeout(300)
    state = generate_and_play(page)
    assert abs(state["duration"] - 8 / 4.0) < 0.2, state
    assert (state["width"], state["height"]) == (64, 64)
    ok = page.locator("#weights-ok")
    assert ok.is_visible() and "small model trained here on synthetic renders" in ok.inner_text()
    assert page.locator("#untrained-banner").count() == 0 or not page.locator("#untrained-banner").is_visible()
    shot(page, "generate_amg_demo")


def test_generate_tiny_random_plays_16_frames_with_untrained_banner(page):
    tab(page, "Generate")
    pick_option(page, "model-choice", "tiny-random")
    page.fill("#scene-prompt textarea", "two people talking in a park")
    steps = page.locator("input[aria-label='number input for steps (DDIM)']")
    if steps.count():
        steps.fill("2")
        steps.press("Enter")
    else:
        drag_slider(page, "steps", 0.0)
    page.wait_for_timeout(300)
    state = generate_and_play(page)
    assert state["readyState"] >= 2
    assert abs(state["duration"] - 16 / 8.0) < 0.2, state  # 16 frames at 8 fps
    assert (state["width"], state["height"]) == (256, 256)
    banner = page.locator("#untrained-banner")
    assert banner.is_visible()
    assert "UNTRAINED" in banner.inner_text()
    assert "Done" in page.inner_text("#job-status")
    shot(page, "generate_result")


@pytest.mark.parametrize("route, label", [("wan2.1", "AMG on Wan2.1 T2V"),
                                          ("wan2.1-vace", "Wan VACE control: no training")])
def test_generate_each_route_with_its_tiny_model(page, route, label):
    """The Wan routes from the Generate tab: the route picks its model and defaults, the video plays
    (17 frames: 4k+1), the banner says the weights are random; VACE shows its control controls."""
    tab(page, "Generate")
    page.get_by_label(label).check()
    tiny = "wan-tiny-random" if route == "wan2.1" else "vace-tiny-random"
    page.wait_for_function("(m) => document.querySelector('#model-choice input').value === m", arg=tiny)
    assert page.locator("#control-pass").is_visible() == (route == "wan2.1-vace")
    assert "random" in page.inner_text("#untrained-banner")
    steps = page.locator("input[aria-label='number input for steps (flow matching)']")
    steps.fill("2")
    steps.press("Enter")
    for elem, value in (("gen-width", "64"), ("gen-height", "64")):
        page.fill(f"#{elem} input", value)
    if route == "wan2.1-vace":
        page.get_by_label("pose skeleton", exact=True).check()
    page.wait_for_timeout(300)
    state = generate_and_play(page)
    assert (state["width"], state["height"]) == (64, 64)
    assert abs(state["duration"] - 17 / 8.0) < 0.2, state  # the scene's 16 frames -> 17 on Wan
    assert "UNTRAINED" in page.inner_text("#untrained-banner")
    assert "17 frames" in page.inner_text("#job-status")
    shot(page, f"generate_{route}")
    page.get_by_label("AMG on ModelScopeT2V (the paper)").check()  # back to the default for later tests
    from amg.model.demo import default_model

    page.wait_for_function("(m) => document.querySelector('#model-choice input').value === m", arg=default_model())
    for elem in ("gen-width", "gen-height"):
        page.fill(f"#{elem} input", "0")


def test_evaluate_the_latest_result(page):
    tab(page, "Advanced")
    page.get_by_role("button", name="Use this session's latest result").click()
    page.wait_for_selector("#eval-generated video", timeout=30_000)
    page.click("#evaluate")
    page.wait_for_function("() => document.querySelector('#eval-result').innerText.includes('motion_fidelity')",
                           timeout=120_000)
    text = page.inner_text("#eval-result")
    assert "tracker" in text and "clip_status" in text
    shot(page, "advanced_evaluate")


def test_reload_reattaches_running_job_and_cancel_stops_it(page, app, browser):
    tab(page, "Generate")
    pick_option(page, "model-choice", "tiny-random")  # a job long enough to cancel, on a loaded machine too
    steps = page.locator("input[aria-label='number input for steps (DDIM)']")
    steps.fill("100")
    steps.press("Enter")
    page.fill("#gen-frames input", "48")
    page.wait_for_timeout(300)
    page.click("#generate")
    # progress in words with the time left, and a progress bar
    page.wait_for_function("() => document.querySelector('#job-status').innerText.includes('s left')",
                           timeout=120_000)
    assert page.locator("#job-status [role=progressbar]").count() == 1
    shot(page, "generate_running")
    # another user (another browser session) generating meanwhile waits in line, and can cancel
    with another_user(browser, app) as p2:
        tab(p2, "Generate")
        p2.wait_for_function("() => document.querySelector('#scene-prompt textarea').value.length > 0",
                             timeout=120_000)
        p2.click("#generate")
        p2.wait_for_function("() => document.querySelector('#job-status').innerText.includes('place 1 in line')")
        p2.click("#cancel")
        p2.wait_for_function("() => document.querySelector('#job-status').innerText.includes('Cancelled')")
    page.reload()
    tab(page, "Generate")
    # the reloaded page finds the same session and follows the job still running on the server
    page.wait_for_function("() => document.querySelector('#job-status').innerText.includes('Generating')",
                           timeout=120_000)
    page.click("#cancel")
    page.wait_for_function("() => document.querySelector('#job-status').innerText.includes('Cancelled')",
                           timeout=120_000)
    shot(page, "generate_cancelled")
    page.fill("#gen-frames input", "0")  # the scene's frame count again, for later tests


def test_prepare_a_clip_and_fine_tune_from_the_browser(page):
    """Advanced tab: a video, a motion preset and a caption become a clip; a 3-step fine-tune
    runs as a job and its adapters go to the Generate tab."""
    video = SAMPLES / "video" / "mmhuman3d_single_person_demo.mp4"
    if not video.exists():
        pytest.skip(f"{video} is absent")
    tab(page, "Advanced")
    page.locator("#train-video input[type=file]").set_input_files(str(video))
    pick_option(page, "train-preset", "wave")
    pick_option(page, "train-size", "64x64")
    for elem, value in (("train-frames", "8"), ("train-steps", "3"), ("train-every", "2")):
        box = page.locator(f"#{elem} input[type=number]")
        box.fill(value)
        box.press("Enter")
    page.fill("#train-caption textarea", "a man dribbling a basketball")
    page.wait_for_timeout(500)
    page.click("#train-add")
    page.wait_for_function("() => document.querySelector('#train-summary').innerText.includes('1 clip of 8 frames')",
                           timeout=120_000)
    page.wait_for_selector("#train-clip-condition video", timeout=30_000)
    assert "dribbling" in page.inner_text("#train-clips")
    page.click("#train-start")
    page.wait_for_function("() => document.querySelector('#train-status').innerText.includes('Done')",
                           timeout=180_000)
    assert "trained 3 steps" in page.inner_text("#train-result")
    assert "random weights" in page.inner_text("#train-result")
    # the loss curve of the run is drawn (issue 14)
    page.wait_for_selector("#train-loss-plot canvas, #train-loss-plot svg", timeout=30_000)
    page.locator("#train-loss-plot").scroll_into_view_if_needed()
    shot(page, "advanced_trained")
    page.click("#train-use")
    tab(page, "Generate")
    page.wait_for_function("() => document.querySelector('#adapters-folder textarea, #adapters-folder input')"
                           ".value.includes('adapters')", timeout=30_000)
