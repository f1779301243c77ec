"""`amg camera preset|import|export` (issue 4)."""

import json
from pathlib import Path

import numpy as np
import pytest

from amg.camera import load_camera_path
from amg.cli import main

SAMPLES = Path(__file__).parents[2] / "shared" / "samples" / "camera"


def test_preset_export_import_round_trip(tmp_path, capsys):
    orbit = tmp_path / "orbit.json"
    assert main(["camera", "preset", "orbit", "--angle", "180", "--direction", "cw", "--radius", "3",
                 "--height", "1.5", "--fov", "35", "--target", "1", "0.9", "-2", "-o", str(orbit)]) == 0
    path = load_camera_path(orbit)
    pos = np.stack([k.position for k in path.keyframes])
    assert np.allclose(np.hypot(pos[:, 0] - 1, pos[:, 2] + 2), 3.0) and np.allclose(pos[:, 1], 1.5)
    assert all(k.fov_y_deg == 35 for k in path.keyframes)
    assert path.duration == pytest.approx(15 / 8)

    ns = tmp_path / "ns.json"
    assert main(["camera", "export", str(orbit), "--format", "nerfstudio", "--fps", "24", "-o", str(ns)]) == 0
    doc = json.loads(ns.read_text())
    assert doc["fps"] == 24 and len(doc["camera_path"]) == 46 and len(doc["keyframes"]) == len(path.keyframes)

    back = tmp_path / "back.json"
    assert main(["camera", "import", str(ns), "-o", str(back)]) == 0
    again = load_camera_path(back)
    cams_a, cams_b = path.evaluate(46, 24.0), again.evaluate(46, 24.0)
    assert all(np.abs(a.c2w - b.c2w).max() < 1e-9 for a, b in zip(cams_a, cams_b))
    assert "wrote" in capsys.readouterr().out


def test_import_fit_and_retime(tmp_path):
    src = SAMPLES / "re10k_cameractrl_0bf152ef84195293.txt"
    if not src.exists():
        pytest.skip("sample re10k_cameractrl_0bf152ef84195293.txt is absent (../shared/samples/camera)")
    out = tmp_path / "re.json"
    assert main(["camera", "import", str(src), "--fit", "--retime-frames", "16", "-o", str(out)]) == 0
    path = load_camera_path(out)
    assert len(path.keyframes) == 16 and path.duration == pytest.approx(15 / 8)
    cam = path.evaluate(1, 8.0)[0]
    assert cam.position[2] > 0 and abs(cam.position[0]) < 1e-6  # in front of the (default) person
    for fmt in ("re10k", "motionctrl", "tum", "amg"):
        assert main(["camera", "export", str(out), "--format", fmt, "-o", str(tmp_path / f"x.{fmt}")]) == 0
        assert len(load_camera_path(tmp_path / f"x.{fmt}").keyframes) >= 2


def test_bad_input_exits_2_with_a_message(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    assert main(["camera", "import", str(bad), "-o", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "not valid JSON" in err
    assert not (tmp_path / "o.json").exists()
    assert main(["camera", "preset", "zoom_in", "--factor", "0.5", "-o", str(tmp_path / "z.json")]) == 2
    assert "factor must be between" in capsys.readouterr().err
    assert main(["camera", "preset", "orbit", "--set", "angel=3", "-o", str(tmp_path / "z.json")]) == 2
    assert "unknown parameter" in capsys.readouterr().err


def test_presets_lists_every_preset(capsys):
    assert main(["camera", "presets"]) == 0
    out = capsys.readouterr().out
    for name in ("static", "orbit", "zoom_in", "zoom_out", "dolly_zoom", "crane", "pan", "truck", "follow",
                 "handheld"):
        assert f"\n{name}\n" in f"\n{out}"
