"""`amg generate` on every route (tiny random models), and amg.generate's checks before slow work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from amg.cli import main
from amg.errors import AmgError
from amg.generate import GenerateSettings, generate, plan
from amg.video import read_video
from amg.scene import Scene


def _scene(tmp_path: Path, far_x: float = 0.6, **render) -> Path:
    scene = {"people": [{"id": "a", "avatar": {"prompt": "a man in a blue shirt"}, "motion": {"source": "wave"},
                         "placement": {"x": -0.5}},
                        {"id": "b", "avatar": {"prompt": "a woman in a red dress"}, "placement": {"x": far_x}}],
             "camera": {"preset": "static", "params": {"target": [0.0, 1.0, 0.0], "distance": 4.0}},
             "prompt": "two people in a park", "render": {"width": 64, "height": 64, "frames": 4, **render}}
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(scene))
    return path


@pytest.mark.parametrize("model, extra", [
    ("wan-tiny-random", []),
    ("vace-tiny-random", ["--control", "depth"]),
    ("vace-tiny-random", ["--control", "pose"]),
    ("vace-tiny-random", ["--control", "pose+depth", "--control-strength", "0.5"]),
])
def test_every_route_and_control_pass_end_to_end(tmp_path, capsys, model, extra):
    out = tmp_path / "out.mp4"
    assert main(["generate", str(_scene(tmp_path)), "-o", str(out), "--model", model, "--steps", "2"] + extra) == 0
    printed = capsys.readouterr().out
    assert "4 frames -> 5" in printed  # a 4-frame scene becomes 4k+1 on Wan, with a note
    assert "UNTRAINED WEIGHTS" in printed and "random" in printed
    frames, fps = read_video(out)
    assert frames.shape == (5, 64, 64, 3)
    cond, _ = read_video(tmp_path / "out.condition.mp4")
    assert cond.shape == (5, 64, 64, 3) and cond.max() > 100
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["trained"] is False and result["route"] == ("wan2.1" if model.startswith("wan") else "wan2.1-vace")
    if model.startswith("vace"):
        assert (tmp_path / "out.references.png").is_file() and result["settings"]["control"] == extra[1]
        grey = np.abs(cond[..., 0].astype(int) - cond[..., 2]).max() < 12
        assert grey == (extra[1] == "depth")  # the depth pass is grey, the skeleton colourful


def test_bad_input_is_refused_before_slow_work(tmp_path):
    scene = Scene.load(_scene(tmp_path))
    with pytest.raises(AmgError, match="steps: 1000; must be a whole number from 1 to 999 for DDIM"):
        generate(scene, GenerateSettings(model="tiny-random", steps=1000), tmp_path / "x.mp4")
    with pytest.raises(AmgError, match="steps: 0"):  # never silently the default
        generate(scene, GenerateSettings(model="tiny-random", steps=0), tmp_path / "x.mp4")
    with pytest.raises(AmgError, match="the VACE route .* takes no AMG adapters"):
        generate(scene, GenerateSettings(model="vace-tiny-random", adapters=str(tmp_path)), tmp_path / "x.mp4")
    with pytest.raises(AmgError, match="control: 'normals'; choose depth, pose, pose\\+depth"):
        generate(scene, GenerateSettings(model="vace-tiny-random", control="normals"), tmp_path / "x.mp4")
    with pytest.raises(AmgError, match="scene: width 72 px; it must be a multiple of 16"):
        plan(scene, GenerateSettings(model="wan-tiny-random", width=72))
    with pytest.raises(AmgError, match="scene: height 32 px; it must be a multiple of 8 between 64"):
        plan(scene, GenerateSettings(model="tiny-random", height=32))  # an override below every model's minimum
    assert plan(scene, GenerateSettings(model="wan-tiny-random", frames=16)).frames == 17
    assert not any(tmp_path.glob("x*"))


def test_a_person_never_on_screen_has_no_reference_image(tmp_path):
    scene = Scene.load(_scene(tmp_path, far_x=40.0))
    with pytest.raises(AmgError, match=r"person 'b': never on screen .*--no-references"):
        generate(scene, GenerateSettings(model="vace-tiny-random", steps=1), tmp_path / "x.mp4")
    out = generate(scene, GenerateSettings(model="vace-tiny-random", steps=1, references=False), tmp_path / "y.mp4")
    assert out.references is None and out.video.is_file()


def test_steps_1000_on_the_cli_is_a_clear_message(tmp_path, capsys):
    assert main(["generate", str(_scene(tmp_path)), "-o", str(tmp_path / "o.mp4"), "--model", "tiny-random",
                 "--steps", "1000"]) == 2
    assert "steps: 1000; must be a whole number from 1 to 999 for DDIM" in capsys.readouterr().err
