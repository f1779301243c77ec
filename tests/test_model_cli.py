"""`amg generate`: scene or condition video in, MP4 out, with tiny random weights (never the network)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from amg.cli import main
from amg.video import read_video, write_mp4

ROOT = Path(__file__).resolve().parents[1]


def _tags(path: Path) -> str:
    import imageio_ffmpeg

    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
                          capture_output=True, text=True)
    return proc.stdout


def _condition_file(path: Path, frames=16, size=256) -> Path:
    video = np.zeros((frames, size, size, 3), np.uint8)
    for i in range(frames):
        video[i, size // 4: 3 * size // 4, size // 3 + 2 * i: size // 2 + 2 * i] = (230, 200, 40)
    return write_mp4(video, path, fps=8)


def test_generate_from_condition_video_writes_16x256_and_says_untrained(tmp_path, capsys):
    cond = _condition_file(tmp_path / "cond.mp4")
    out = tmp_path / "out.mp4"
    rc = main(["generate", str(cond), "-o", str(out), "--prompt", "a woman in a yellow dress dances on a beach",
               "--model", "tiny-random", "--steps", "2", "--seed", "3", "--side-by-side"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "UNTRAINED WEIGHTS" in printed and "steps: 2" in printed and "seed: 3" in printed
    frames, fps = read_video(out)
    assert frames.shape == (16, 256, 256, 3) and fps == 8
    side, _ = read_video(tmp_path / "out_side_by_side.mp4")
    assert side.shape == (16, 256, 512, 3)
    tags = _tags(out)
    assert "UNTRAINED WEIGHTS" in tags and "untrained weights, not a real generation" in tags


def test_generate_from_scene(tmp_path, capsys):
    """The whole flow: the scene is rendered with the foundation's renderer, then generated from."""
    if not (ROOT / "presets" / "motions" / "index.json").is_file():
        pytest.skip("motion presets (presets/motions/index.json) are not built in this checkout")
    scene = json.loads((ROOT / "presets" / "scenes" / "one_person.json").read_text())
    scene["render"].update(frames=16, width=256, height=256)
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(scene))
    out = tmp_path / "gen.mp4"
    assert main(["generate", str(path), "-o", str(out), "--model", "tiny-random", "--steps", "2"]) == 0
    printed = capsys.readouterr().out
    assert "rendering the condition video" in printed and scene["prompt"] in printed
    assert read_video(out)[0].shape == (16, 256, 256, 3)
    assert "UNTRAINED" in _tags(out)


@pytest.mark.parametrize("extra, message", [
    (["--steps", "0"], "steps: 0"),
    (["--steps", "10000"], "steps: 10000"),
    (["--prompt", "  "], "prompt: empty"),
    (["--avatar-guidance", "nan"], "avatar guidance scale: nan"),
    (["--model", "/nonexistent/model"], "model folder /nonexistent/model: not found"),
    (["--device", "tpu"], "device: 'tpu'"),
])
def test_generate_bad_input_exits_2_with_a_message(tmp_path, capsys, extra, message):
    cond = _condition_file(tmp_path / "cond.mp4", frames=4, size=64)
    args = ["generate", str(cond), "-o", str(tmp_path / "out.mp4"), "--prompt", "a man walks", "--model",
            "tiny-random"] + extra
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.mp4").exists()


def test_generate_refuses_bad_files(tmp_path, capsys):
    (tmp_path / "scene.json").write_text(json.dumps({"people": [{"id": "a"}], "prompt": ""}))
    assert main(["generate", str(tmp_path / "scene.json"), "-o", str(tmp_path / "o.mp4")]) == 2
    assert "has no prompt" in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "scene.json"), "-o", str(tmp_path / "o.gif"), "--prompt", "x"]) == 2
    assert "must be an .mp4" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["generate", str(tmp_path / "notes.txt"), "-o", str(tmp_path / "o.mp4"), "--prompt", "x"]) == 2
    assert "expected a scene (.json, .amgscene bundle) or a condition video" in capsys.readouterr().err
    cond = _condition_file(tmp_path / "odd.mp4", frames=4, size=68)
    base = ["generate", str(cond), "-o", str(tmp_path / "o.mp4"), "--prompt", "x", "--model", "tiny-random",
            "--steps", "1"]
    assert main(base) == 2
    assert "height 68 px; it must be a multiple of 8" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()
    assert main(base + ["--resample-condition"]) == 0
    assert read_video(tmp_path / "o.mp4")[0].shape == (4, 64, 64, 3)


@pytest.mark.skipif(shutil.which("amg") is None, reason="the `amg` entry point is not installed on PATH")
def test_amg_command_lists_generate():
    proc = subprocess.run(["amg", "generate", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--avatar-guidance" in proc.stdout and "--side-by-side" in proc.stdout
