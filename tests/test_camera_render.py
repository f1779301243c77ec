"""A scene rendered along a camera path (issue 4): the floor grid shows the camera's motion."""

from pathlib import Path

import numpy as np
import pytest

from amg.scene import Scene

SCENES = Path(__file__).parents[1] / "presets" / "scenes"

render = pytest.importorskip("amg.render", reason="the renderer (amg.render) is not in this tree")


def _render(camera: dict):
    scene = Scene.load(SCENES / "orbit360_two_people.json")
    scene.camera = scene.camera.model_validate(camera)
    scene.render.floor = True
    scene.render.width = scene.render.height = 96
    scene.render.frames = 6
    return render.render_scene(scene)


def _background_change(result) -> tuple[float, int]:
    """Over consecutive frames: fraction of pixels showing no person in either frame that
    changed, and how many such pixels there were."""
    rgb, people = result.rgb.astype(np.int16), result.masks.any(axis=1)  # (T, H, W, 3), (T, H, W)
    changed, total = 0, 0
    for t in range(len(rgb) - 1):
        background = ~(people[t] | people[t + 1])
        diff = np.abs(rgb[t + 1] - rgb[t]).max(-1) > 8
        changed += int((diff & background).sum())
        total += int(background.sum())
    return changed / max(total, 1), total


def test_orbit_moves_the_floor_grid_where_people_stand_still():
    orbit = _render({"preset": "orbit", "params": {"angle": 90.0}})
    static = _render({"preset": "static"})
    moved, total = _background_change(orbit)
    still, _ = _background_change(static)
    assert total > 0.5 * orbit.rgb[0].size / 3 * (len(orbit.rgb) - 1)  # most pixels are background
    assert moved > 0.02, f"only {moved:.2%} of the background changed under an orbiting camera"
    assert still == 0.0, "with a static camera the floor must not move"
    # the grid is there to be seen: the floor covers part of each frame
    assert (orbit.rgb[0][~orbit.masks[0].any(0)].max(-1) > 0).mean() > 0.05
