"""The legal video size is one fact (amg.scene.size_problem): what generation refuses for every
model is refused up front, by the scene, `amg render`, the app's preview and the ComfyUI node."""

from __future__ import annotations

import json

import pytest

from amg.cli import main
from amg.errors import AmgError
from amg.scene import MAX_SIZE, MIN_SIZE, SIZE_MULTIPLE, SIZE_RULES, Scene, size_problem


def _generates(rule, side: int) -> bool:
    try:
        rule.check("scene", rule.frames, side, side)
        return True
    except AmgError:
        return False


def _scene(side: int) -> dict:
    return {"people": [{"id": "a"}], "render": {"width": side, "height": side, "frames": 4}}


def test_a_side_every_model_refuses_is_refused_by_the_scene_and_a_side_it_takes_is_generated():
    """SIZE_RULES are what amg.generate.plan checks, for each route, before rendering."""
    for side in range(0, MAX_SIZE + 300, 4):
        scene_takes = size_problem(side) is None
        routes = [route for route, rule in SIZE_RULES.items() if _generates(rule, side)]
        if scene_takes:  # a scene that renders can be generated (ModelScope takes every legal size)
            assert "modelscope" in routes, side
            assert Scene.from_dict(_scene(side)).render.width == side
        elif side <= MAX_SIZE:  # refused by every model: refused when the scene is made
            assert not routes, (side, routes)
            with pytest.raises(AmgError, match=rf"render.width: must be a multiple of {SIZE_MULTIPLE} between "
                                               rf"{MIN_SIZE} and {MAX_SIZE} px"):
                Scene.from_dict(_scene(side))


def test_a_32px_scene_is_refused_before_rendering_by_the_cli(tmp_path, capsys):
    """It used to render (scenes took 16 px and up), then fail at generate (models take 64 and up)."""
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(_scene(32)))
    out = tmp_path / "out.mp4"
    for argv in (["render", str(path), "-o", str(out)],
                 ["render", str(tmp_path / "ok.json"), "-o", str(out), "--width", "32"],
                 ["generate", str(path), "-o", str(out), "--model", "tiny-random", "--steps", "1"]):
        (tmp_path / "ok.json").write_text(json.dumps(_scene(64)))
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "width" in err and "32" in err and f"between {MIN_SIZE} and {MAX_SIZE}" in err, err
    assert not out.exists()


def test_every_reduced_or_fitted_size_is_legal():
    """The app's preview budget and the capture's render size shrink sizes: never below the bound."""
    from amg.capture.overlay import render_size
    from app.preview import preview_size

    for width, height in ((MAX_SIZE, MIN_SIZE), (MIN_SIZE, MAX_SIZE), (MAX_SIZE, MAX_SIZE), (MAX_SIZE, 72), (64, 64)):
        for frames in (1, 16, 240):
            assert all(size_problem(v) is None for v in preview_size(width, height, frames)), (width, height, frames)
    for width, height in ((1920, 1080), (4000, 100), (100, 4000), (640, 640)):
        for max_side in (MIN_SIZE, 512, MAX_SIZE):
            assert all(size_problem(v) is None for v in render_size(width, height, max_side)), (width, height)


def test_the_comfyui_scene_node_offers_the_legal_sizes():
    from amg_comfyui.nodes import AMGScene

    optional = AMGScene.INPUT_TYPES()["optional"]
    for side in ("width", "height"):
        spec = optional[side][1]
        assert (spec["max"], spec["step"]) == (MAX_SIZE, SIZE_MULTIPLE)
