"""Bad input across the CLI and the engine (issue 16): one clear line, exit 2, nothing made or
lost, and every size allocated from a user's number bounded. Each case failed before its fix
(a traceback, a wrong result that exited 0, or a process killed for memory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from amg.cli import main
from amg.errors import AmgError
from amg.files import atomic_path, atomic_write_text, parse_json

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENE = os.path.join(REPO, "presets", "scenes", "one_person.json")


def _refused(capsys, argv, *words) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().split("\r")[-1]  # (after a progress bar's last redraw)
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


def test_atomic_writer_refuses_bad_places_and_keeps_the_old_file(tmp_path):
    folder, afile = tmp_path / "folder", tmp_path / "afile"
    folder.mkdir()
    afile.write_text("keep")
    with pytest.raises(AmgError, match="is a folder; give a file name"):
        atomic_write_text(folder, "x")
    with pytest.raises(AmgError, match="afile is a file, not a folder"):
        atomic_write_text(afile / "deeper" / "out.json", "x")
    # a write that fails halfway leaves the old file as it was, and no temporary file
    with pytest.raises(RuntimeError):
        with atomic_path(afile) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert afile.read_text() == "keep" and sorted(p.name for p in tmp_path.iterdir()) == ["afile", "folder"]


def test_a_killed_writers_partial_file_is_cleaned_by_the_next_write(tmp_path):
    target = tmp_path / "out.json"
    code = ("import os, sys; from amg.files import atomic_path\n"
            "with atomic_path(sys.argv[1]) as tmp:\n"
            "    tmp.write_text('half'); os.kill(os.getpid(), 9)\n")
    subprocess.run([sys.executable, "-c", code, str(target)], env={**os.environ, "PYTHONPATH": REPO})
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and ".partial" in left[0] and not target.exists()  # SIGKILL: no cleanup ran
    atomic_write_text(target, "whole")
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"] and target.read_text() == "whole"


def test_json_nested_deep_or_with_huge_numbers_is_refused(tmp_path, capsys):
    with pytest.raises(AmgError, match="nested 3000 levels deep"):
        parse_json("[" * 3000 + "]" * 3000, "x.json")
    with pytest.raises(AmgError, match="x.json: not valid JSON .*digits"):
        parse_json('{"a": ' + "7" * 5000 + "}", "x.json")
    deep = tmp_path / "deep.json"
    deep.write_text('{"people": ' + "[" * 2500 + "]" * 2500 + "}")
    _refused(capsys, ["render", str(deep), "-o", str(tmp_path / "o.mp4")], "deep.json", "nested")
    rand = tmp_path / "rand.json"
    rand.write_bytes(np.random.default_rng(0).bytes(3000))
    _refused(capsys, ["render", str(rand), "-o", str(tmp_path / "o.mp4")], "rand.json", "not a UTF-8 text file")
    _refused(capsys, ["camera", "preset", "orbit", "--set", "x=" + "[" * 3000 + "]" * 3000, "-o",
                      str(tmp_path / "c.json")], "--set x", "nested")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep.json", "rand.json"]


def test_render_options_are_checked_before_anything_is_made(tmp_path, capsys):
    out = tmp_path / "out.mp4"
    for flag, value, words in (("--width", "17", ("render.width", "multiple of 8", "17")),
                               ("--frames", "0", ("render.frames", "0")),
                               ("--fps", "nan", ("render.fps", "finite")),
                               ("--fps", "1e-9", ("render.fps", "1e-09"))):
        _refused(capsys, ["render", SCENE, "-o", str(out), flag, value], *words)
    (tmp_path / "folder").mkdir()
    out.write_bytes(b"an earlier good video")
    _refused(capsys, ["render", SCENE, "-o", str(out), "--masks", str(tmp_path / "folder")], "--masks", "folder")
    _refused(capsys, ["render", SCENE, "-o", str(out / "y.mp4")], "out.mp4 is a file, not a folder")
    _refused(capsys, ["render", SCENE, "-o", str(out), "--masks", str(out)], "--masks", "the video output itself")
    assert out.read_bytes() == b"an earlier good video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "out.mp4"]


def test_camera_numbers_are_bounded(tmp_path, capsys):
    cam = tmp_path / "cam.json"
    assert main(["camera", "preset", "orbit", "-o", str(cam)]) == 0
    capsys.readouterr()
    out = str(tmp_path / "ns.json")
    for args in (["--fps", "nan"], ["--fps", "inf"], ["--fps", "1e9"], ["--fps", "0"], ["--retime-frames", "1000000000"]):
        _refused(capsys, ["camera", "export", str(cam), "--format", "nerfstudio", "-o", out, *args])
    _refused(capsys, ["camera", "preset", "orbit", "--frames", "1000000000", "-o", out], "--frames")
    _refused(capsys, ["camera", "preset", "handheld", "--seed", str(2 ** 70), "-o", out], "seed")
    assert not os.path.exists(out)


def test_motion_numbers_and_files_are_bounded(tmp_path, capsys, samples_dir):
    out = str(tmp_path / "j.npy")
    _refused(capsys, ["motion", "joints", "walk", "--fps", "1e9", "-o", out], "fps", "1000")
    _refused(capsys, ["motion", "joints", "walk", "--fps", "0", "-o", out], "fps")  # not silently the clip's own
    _refused(capsys, ["motion", "joints", "walk", "--fps", "nan", "-o", out], "fps")
    src = (samples_dir / "mocap" / "02_01.bvh").read_text()
    start = src.index("Frame Time:")
    tiny = tmp_path / "tiny_frame_time.bvh"
    tiny.write_text(src[:start] + "Frame Time: 1e-300" + src[src.index("\n", start):])
    _refused(capsys, ["motion", "import", str(tiny), "-o", str(tmp_path / "m.npz")], "Frame Time", "1e-300")
    deep = tmp_path / "deep.bvh"
    head = "HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n"
    head += "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n" for i in range(3000))
    deep.write_text(head + "End Site\n{\nOFFSET 0 1 0\n}\n" + "}\n" * 3001 + "MOTION\nFrames: 1\nFrame Time: 0.03\n"
                    + " ".join(["0"] * 3 * 3001) + "\n")
    _refused(capsys, ["motion", "import", str(deep), "-o", str(tmp_path / "m.npz")], "nested 3002 joints deep")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep.bvh", "tiny_frame_time.bvh"]


@pytest.mark.parametrize("arrays, words", [
    (dict(global_orient=np.zeros((10, 3)), body_pose=np.zeros((10, 63)), transl=np.zeros((5, 3))), ("transl (5, 3)",)),
    (dict(global_orient=np.zeros((10, 3)), body_pose=np.zeros(63), transl=np.zeros((10, 3))), ("body_pose (63,)",)),
    (dict(fps=30.0, global_orient=np.zeros((10, 3)), body_pose=np.zeros((10, 63)), transl=np.zeros((10, 3)),
          betas=np.array(1.0)), ("betas",)),
    (dict(root_orient=np.array(0.0), pose_body=np.zeros((10, 63)), trans=np.zeros((10, 3)), mocap_framerate=30.0),
     ("root_orient ()",)),
    (dict(fps=30.0, global_orient=np.zeros((10, 3)), body_pose=np.zeros((10, 63)), transl=np.zeros((10, 3)),
          betas=np.full(10, np.inf)), ("betas", "infinite")),
])
def test_malformed_motion_arrays_are_named(tmp_path, capsys, arrays, words):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    _refused(capsys, ["motion", "import", str(path), "-o", str(tmp_path / "m.npz")], "bad.npz", *words)


def test_random_bytes_are_not_called_a_pickle(tmp_path, capsys):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(1).bytes(2000))
    err = _refused(capsys, ["motion", "import", str(path), "-o", str(tmp_path / "m.npz")], "not a NumPy")
    assert "pickle" not in err


def test_random_bytes_in_a_triplets_file(tmp_path, capsys, monkeypatch):
    import amg.cli

    (tmp_path / "triplets.jsonl").write_bytes(b"\xff\xfe" + np.random.default_rng(2).bytes(500))
    monkeypatch.setattr(amg.cli, "COMMAND_MODULES", ("eval",))
    _refused(capsys, ["eval", "--table", str(tmp_path)], "triplets.jsonl", "UTF-8")



def test_huge_values_never_become_inf_in_written_files(tmp_path, capsys):
    path = tmp_path / "far.npz"
    np.savez(path, fps=30.0, global_orient=np.zeros((4, 3)), body_pose=np.zeros((4, 63)),
             transl=np.full((4, 3), 1e307))  # finite here, inf once written in BVH centimetres
    out = tmp_path / "far.bvh"
    _refused(capsys, ["motion", "export", str(path), "-o", str(out)], "far.npz", "transl")
    assert not out.exists()


def test_training_numbers_are_bounded_before_anything_loads(tmp_path, capsys):
    out = str(tmp_path / "adapters")
    _refused(capsys, ["train", str(tmp_path / "no_dataset"), "-o", out, "--batch-size", "1000000"], "batch size")
    _refused(capsys, ["train", str(tmp_path / "no_dataset"), "-o", out, "--seed", str(2 ** 70)], "seed")
    _refused(capsys, ["train", str(tmp_path / "no_dataset"), "-o", out, "--lr", "nan"], "learning rate")
    assert not (tmp_path / "adapters").exists()


def test_scene_numbers_and_colours_are_checked(tmp_path, capsys):
    scene = json.loads(open(SCENE).read())
    scene["people"][0]["placement"]["heading"] = float("inf")  # json writes Infinity
    bad = tmp_path / "inf.json"
    bad.write_text(json.dumps(scene))
    _refused(capsys, ["render", str(bad), "-o", str(tmp_path / "o.mp4")], "heading", "finite")
    scene["people"][0]["placement"]["heading"] = 0.0
    scene["render"]["background"] = "not a colour"
    bad.write_text(json.dumps(scene))
    _refused(capsys, ["render", str(bad), "-o", str(tmp_path / "o.mp4")], "render.background")


def test_generate_checks_every_output_before_the_slow_work(tmp_path, capsys):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an earlier good video")
    (tmp_path / "out_side_by_side.mp4").mkdir()
    _refused(capsys, ["generate", SCENE, "-o", str(out), "--model", "tiny-random", "--side-by-side"],
             "out_side_by_side.mp4", "folder")
    assert out.read_bytes() == b"an earlier good video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "out_side_by_side.mp4"]


def test_text_to_motion_seconds_are_a_number(tmp_path, capsys):
    for bad in ("1e9", "nan", "0"):
        _refused(capsys, ["motion", "generate", "a man walks", "-o", str(tmp_path / "m.npz"), "--seconds", bad],
                 "seconds")
    assert not (tmp_path / "m.npz").exists()
