"""The Avatars tab's gaussian splat in a real browser, on a fresh app and page.

Its own module: the splat's 3D view keeps Chromium's software WebGL busy (a core at 60-115 %)
for as long as the page lives, which starved the long shared session of test_app_browser.py."""

from __future__ import annotations

import pytest

from tests.test_app_browser import browser, outside_requests, page, shot, tab  # noqa: F401 - fixtures
from tests.test_app_harness import SAMPLES  # noqa: F401 - used by the test body

pytestmark = pytest.mark.browser


def test_gaussian_avatar_preview_and_splat_upload(page, tmp_path):
    tab(page, "Avatars")
    page.locator("#avatar-style label", has_text="gaussians").click()
    # the splat rendered over its body, the .ply in the 3D view and as a download
    page.wait_for_selector("#splat-view img", timeout=180_000)
    page.wait_for_selector("#avatar-glb a[href*='.ply']", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#splat-info').innerText.includes('30,000 gaussians')")
    page.wait_for_selector("#avatar-3d canvas", timeout=60_000)
    page.wait_for_timeout(1500)
    shot(page, "avatar_gaussians")
    # a damaged .ply is explained and not worn
    bad = tmp_path / "broken.ply"
    bad.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 1000\nproperty float x\nend_header\n1234")
    page.locator("#splat-upload input[type=file]").set_input_files(str(bad))
    page.wait_for_selector(".toast-body:has-text('broken.ply')", timeout=60_000)
    assert "Wearing" not in page.locator("#splat-info").inner_text()
    sample = next(iter(sorted((SAMPLES / "gaussians").glob("*.ply"))), None)
    if sample is not None:  # a real 3DGS file, fitted onto the body, the fit said
        page.locator("#splat-upload input[type=file]").set_input_files(str(sample))
        page.wait_for_function("() => document.querySelector('#splat-info').innerText.includes('fitted onto')",
                               timeout=240_000)
        shot(page, "avatar_splat_fitted")
    page.locator("#avatar-style label", has_text="mesh").click()  # the later tests use the mesh avatar
    page.wait_for_selector("#avatar-glb a[href*='.glb']", timeout=90_000)
