"""The scene bar's "Export .glb" in a real browser, on a fresh app and page.

Its own module: clicked late in test_app_browser.py's long shared session (after the splat's 3D
view had kept Chromium's software WebGL busy), the export never answered; alone it takes about a
second. The cause is not proven (see the session note of 2026-12-01)."""

from __future__ import annotations

import pytest

from tests.test_app_browser import browser, outside_requests, page, shot, tab  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_export_the_scene_as_animated_glb(page, app, tmp_path):
    """The scene bar's "Export .glb": an animated glTF of the session's scene, downloadable."""
    import re

    import pygltflib

    tab(page, "Camera")
    page.wait_for_selector("#preview-video video", timeout=120_000)  # the page's session is up (run alone too)
    page.click("#export-glb")
    link = page.wait_for_selector("#scene-glb a[href*='.glb']", state="attached", timeout=120_000)
    shot(page, "export_glb")
    data = page.request.get(link.get_attribute("href")).body()
    (tmp_path / "scene.glb").write_bytes(data)
    doc = pygltflib.GLTF2().load(str(tmp_path / "scene.glb"))
    assert len(doc.cameras) == 1 and len(doc.skins) >= 1 and doc.animations[0].channels
    shown = re.search(r"(\d+) (?:people|person)", page.inner_text("#preview-status"))
    assert len(doc.skins) == int(shown.group(1))  # the session's scene, not a default one
