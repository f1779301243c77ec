"""`amg render --frames-dir`: numbered PNG sequences per pass (16-bit depth), swapped in whole."""

import numpy as np
import pytest
from PIL import Image

from amg import PRESETS_DIR
from amg.cli import main
from amg.errors import AmgError
from amg.render.frames import write_png_sequence

SCENE = PRESETS_DIR / "scenes" / "two_people.json"


def _read(folder):
    return np.stack([np.array(Image.open(p)) for p in sorted(folder.glob("*.png"))])


def test_frames_dir_writes_every_pass_as_numbered_pngs(tmp_path, capsys):
    from amg.render import render_scene
    from amg.video import read_video
    from amg.render.passes import depth_pass, passes_from_render
    from amg.scene import Scene

    out, frames_dir = tmp_path / "cond.mp4", tmp_path / "frames"
    assert main(["render", str(SCENE), "-o", str(out), "--frames", "4", "--width", "96", "--height", "64",
                 "--passes", "rgb,depth,pose,mask", "--frames-dir", str(frames_dir)]) == 0
    assert "4 PNGs" in capsys.readouterr().out
    assert sorted(p.name for p in frames_dir.iterdir()) == ["depth", "mask", "mask.man", "mask.woman", "pose", "rgb"]
    assert [p.name for p in sorted((frames_dir / "rgb").iterdir())] == [f"{i:05d}.png" for i in range(4)]
    ref = render_scene(Scene.load(SCENE), frames=4, width=96, height=64)
    passes = passes_from_render(ref, ("rgb", "depth", "pose", "mask"))
    np.testing.assert_array_equal(_read(frames_dir / "rgb"), passes["rgb"])
    np.testing.assert_array_equal(_read(frames_dir / "pose"), passes["pose"])
    np.testing.assert_array_equal(_read(frames_dir / "mask"), passes["mask"][..., 0])
    np.testing.assert_array_equal(_read(frames_dir / "mask.man") > 0, ref.masks[:, 1])
    depth = _read(frames_dir / "depth")
    assert Image.open(frames_dir / "depth" / "00000.png").mode == "I;16" and depth.dtype == np.uint16
    assert depth.max() == 65535 and len(np.unique(depth)) > 256  # finer than 8 bits
    assert np.abs(depth.astype(np.int64) // 257 - passes["depth"][..., 0]).max() <= 1  # the same map, 16-bit
    seen = np.isfinite(ref.depth)
    near, far = ref.depth[seen].argmin(), ref.depth[seen].argmax()
    assert depth[seen][near] > depth[seen][far]  # near = bright
    assert read_video(out)[0].shape == (4, 64, 96, 3)  # the MP4s are still written beside them


def test_rerender_replaces_a_sequence_whole_and_keeps_foreign_folders(tmp_path):
    folder = tmp_path / "seq" / "rgb"
    write_png_sequence(np.zeros((5, 8, 8, 3), np.uint8), folder)
    write_png_sequence(np.full((2, 8, 8, 3), 7, np.uint8), folder)
    assert sorted(p.name for p in folder.iterdir()) == ["00000.png", "00001.png"]  # no stale frames 2..4
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(AmgError, match="other than a frame sequence"):
        write_png_sequence(np.zeros((1, 8, 8, 3), np.uint8), mine)
    assert (mine / "notes.txt").read_text() == "keep me"
    with pytest.raises(AmgError, match="uint8"):
        write_png_sequence(np.zeros((1, 8, 8, 3), np.float32), tmp_path / "bad")


def test_frames_dir_that_is_a_file_is_refused(tmp_path, capsys):
    bad = tmp_path / "file"
    bad.write_text("x")
    assert main(["render", str(SCENE), "-o", str(tmp_path / "c.mp4"), "--frames", "1", "--frames-dir", str(bad)]) == 2
    assert "not a folder" in capsys.readouterr().err and bad.read_text() == "x"
    assert not (tmp_path / "c.mp4").exists()  # refused before anything was rendered
