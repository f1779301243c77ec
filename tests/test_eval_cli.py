"""`amg eval` on files (pair and --table), and the CoTracker path through a local torch.hub repo."""

from __future__ import annotations

import csv
import json
import textwrap

import numpy as np
import pytest

import amg.cli
from amg.eval import CoTrackerConfig, EvalConfig, evaluate_pair
from amg.eval.synthetic import moving_blobs_video


def amg_eval(monkeypatch, *args) -> int:
    # Only this sub-command: the test must not depend on the others being importable.
    monkeypatch.setattr(amg.cli, "COMMAND_MODULES", ("eval",))
    return amg.cli.main(["eval", *map(str, args)])


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    from amg.video import write_mp4

    root = tmp_path_factory.mktemp("videos")
    ref, _ = moving_blobs_video(size=128, num_blobs=4, seed=0)
    other, _ = moving_blobs_video(size=128, num_blobs=4, seed=5)
    paths = {"ref": root / "ref.mp4", "other": root / "other.mp4", "short": root / "short.mp4",
             "half_rate": root / "half_rate.mp4"}
    write_mp4(ref, paths["ref"], fps=8)
    write_mp4(other, paths["other"], fps=8)
    write_mp4(ref[:10], paths["short"], fps=8)
    write_mp4(ref[::2], paths["half_rate"], fps=4)  # the same 2 s at half the frame rate
    return paths


def test_pair_json(videos, monkeypatch, capsys):
    rc = amg_eval(monkeypatch, "--video", videos["ref"], "--reference", videos["ref"], "--prompt", "balls",
                  "--clip-model", "tiny-random", "--tracker", "lk", "--json")
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("motion_fidelity", "motion_fidelity_raw", "clip_score", "tracker", "clip_model",
                "frames_generated", "frames_reference"):
        assert key in out
    assert out["motion_fidelity"] == pytest.approx(100.0, abs=0.01) and out["motion_fidelity_raw"] == pytest.approx(2.0)
    assert out["tracker"] == "opencv-lk" and out["frames_generated"] == out["frames_reference"] == 16
    assert out["clip_model"] == "tiny-random" and out["clip_untrained"] is True


def test_pair_text_says_what_is_unavailable(videos, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    rc = amg_eval(monkeypatch, "--video", videos["other"], "--reference", videos["ref"], "--prompt", "balls",
                  "--clip-model", "amg-test/no-such-clip-model")
    out = capsys.readouterr().out
    assert rc == 0
    assert "Motion Fidelity:" in out and "tracker opencv-lk" in out
    assert "CLIP score: unavailable" in out and "CoTracker unavailable" in out


def test_pair_bad_input_exits_2(videos, monkeypatch, capsys, tmp_path):
    assert amg_eval(monkeypatch, "--video", tmp_path / "nope.mp4", "--reference", videos["ref"]) == 2
    assert "nope.mp4: video file not found" in capsys.readouterr().err
    assert amg_eval(monkeypatch, "--video", videos["short"], "--reference", videos["ref"], "--tracker", "lk") == 2
    assert "10 frames but the reference has 16" in capsys.readouterr().err
    # resampling matches frame rates over one span of time; 1.25 s against 2 s is refused
    assert amg_eval(monkeypatch, "--video", videos["short"], "--reference", videos["ref"], "--tracker", "lk",
                    "--resample") == 2
    assert "lasts 1.25 s but the reference 2.00 s" in capsys.readouterr().err
    assert amg_eval(monkeypatch, "--video", videos["half_rate"], "--reference", videos["ref"], "--tracker", "lk",
                    "--resample") == 0
    for bad in ("nan", "-1", "inf"):
        assert amg_eval(monkeypatch, "--video", videos["ref"], "--reference", videos["ref"], "--tracker", "lk",
                        "--still-px", bad) == 2
        assert f"still-px must be a number of pixels, 0 or more, got {bad}" in capsys.readouterr().err
    assert amg_eval(monkeypatch, "--video", videos["ref"]) == 2
    assert "--reference is required" in capsys.readouterr().err
    assert amg_eval(monkeypatch, "--video", videos["ref"], "--reference", videos["ref"], "--mask",
                    tmp_path / "m.png") == 2
    assert "m.png: file not found" in capsys.readouterr().err


def test_mask_png(videos, monkeypatch, capsys, tmp_path):
    import cv2

    mask = np.zeros((128, 128), np.uint8)
    mask[30:90, 30:90] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    assert amg_eval(monkeypatch, "--video", videos["ref"], "--reference", videos["ref"], "--tracker", "lk",
                    "--mask", tmp_path / "mask.png", "--json") == 0
    masked = json.loads(capsys.readouterr().out)
    assert amg_eval(monkeypatch, "--video", videos["ref"], "--reference", videos["ref"], "--tracker", "lk",
                    "--json") == 0
    full = json.loads(capsys.readouterr().out)
    assert 0 < masked["tracklets_reference"] < full["tracklets_reference"]


def test_table_from_subfolders_and_manifest(videos, monkeypatch, capsys, tmp_path):
    run_a = tmp_path / "amg_run"
    for name, gen in (("clip1", "ref"), ("clip2", "other")):
        sub = run_a / name
        sub.mkdir(parents=True)
        (sub / "generated.mp4").write_bytes(videos[gen].read_bytes())
        (sub / "condition.mp4").write_bytes(videos["ref"].read_bytes())
        (sub / "prompt.txt").write_text("colourful balls\n")
    run_b = tmp_path / "baseline"
    run_b.mkdir()
    (run_b / "triplets.jsonl").write_text(
        json.dumps({"generated": str(videos["other"]), "reference": str(videos["ref"]), "prompt": "balls"}) + "\n"
        + json.dumps({"name": "broken", "generated": "missing.mp4", "reference": str(videos["ref"])}) + "\n")
    rc = amg_eval(monkeypatch, "--table", run_a, run_b, "--clip-model", "tiny-random", "--tracker", "lk",
                  "--out", tmp_path / "out" / "table1")
    captured = capsys.readouterr()
    assert rc == 0
    assert "| amg_run | 2 |" in captured.out and "| baseline | 2 (1 failed) |" in captured.out
    assert "untrained" in captured.out and "±" in captured.out
    assert "broken skipped" in captured.err and "missing.mp4" in captured.err
    md = (tmp_path / "out" / "table1.md").read_text()
    assert md.splitlines()[0].startswith("| Run | Pairs | CLIP score")
    rows = list(csv.DictReader((tmp_path / "out" / "table1.csv").open()))
    pairs = [r for r in rows if r["run"] == "amg_run" and r["name"] in ("clip1", "clip2")]
    mean = next(r for r in rows if r["run"] == "amg_run" and r["name"] == "mean")
    std = next(r for r in rows if r["run"] == "amg_run" and r["name"] == "std")
    scores = [float(r["motion_fidelity"]) for r in pairs]
    assert float(pairs[0]["motion_fidelity"]) == pytest.approx(100.0, abs=0.01)
    assert float(mean["motion_fidelity"]) == pytest.approx(np.mean(scores))
    assert float(std["motion_fidelity"]) == pytest.approx(np.std(scores, ddof=1))
    clips = [float(r["clip_score"]) for r in pairs]
    assert float(mean["clip_score"]) == pytest.approx(np.mean(clips))
    broken = next(r for r in rows if r["name"] == "broken")
    assert "missing.mp4" in broken["error"] and broken["motion_fidelity"] == ""


def test_table_bad_folders(monkeypatch, capsys, tmp_path):
    assert amg_eval(monkeypatch, "--table", tmp_path / "nothing") == 2
    assert "run folder not found" in capsys.readouterr().err
    assert amg_eval(monkeypatch, "--table", tmp_path) == 2
    assert "no triplets found" in capsys.readouterr().err
    (tmp_path / "triplets.jsonl").write_text("{not json\n")
    assert amg_eval(monkeypatch, "--table", tmp_path) == 2
    assert "line 1: not valid JSON" in capsys.readouterr().err


# --- CoTracker through torch.hub, from a local repository and checkpoint ---------------------

HUBCONF = textwrap.dedent('''
    """A stand-in co-tracker repository: same entry point and call signature as the real one;
    its "tracker" moves a grid by the per-frame shift held in its weights."""
    import torch

    class _Core(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.shift = torch.nn.Parameter(torch.zeros(2))

    class _Predictor(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = _Core()

        def forward(self, video, grid_size=0, segm_mask=None):
            b, t, c, h, w = video.shape
            ys, xs = torch.meshgrid(torch.linspace(0, h - 1, grid_size), torch.linspace(0, w - 1, grid_size),
                                    indexing="ij")
            pts = torch.stack([xs.flatten(), ys.flatten()], -1)
            if segm_mask is not None:
                pts = pts[segm_mask[0, 0][pts[:, 1].long(), pts[:, 0].long()] > 0]
            steps = torch.arange(t, dtype=torch.float32)[:, None, None]
            tracks = pts[None] + steps * self.model.shift
            return tracks[None], torch.ones(1, t, len(pts), dtype=torch.bool)

    def cotracker3_offline(pretrained=True, **kwargs):
        if pretrained:
            raise RuntimeError("would download weights")
        return _Predictor()
''')


def test_cotracker_from_local_repo_and_checkpoint(tmp_path):
    import torch

    repo = tmp_path / "co-tracker"
    repo.mkdir()
    (repo / "hubconf.py").write_text(HUBCONF)
    torch.save({"shift": torch.tensor([1.0, 0.5])}, tmp_path / "scaled_offline.pth")
    frames, _ = moving_blobs_video(size=64, num_blobs=2, num_frames=6, seed=0)
    config = EvalConfig(tracker="cotracker", cotracker=CoTrackerConfig(
        grid_size=5, repo_dir=str(repo), checkpoint=str(tmp_path / "scaled_offline.pth")))
    result = evaluate_pair(frames, frames, config=config)
    assert result.tracker == "cotracker3_offline" and not result.notes
    # The weights were loaded: every grid point moves by (1, 0.5) per frame.
    assert result.tracklets_reference == 25 and result.motion_fidelity == pytest.approx(100.0)
    mask = np.zeros((64, 64), bool)
    mask[:32] = True
    assert evaluate_pair(frames, frames, config=config, mask=mask).tracklets_reference == 15


def test_cotracker_missing_falls_back(tmp_path):
    frames, _ = moving_blobs_video(size=64, num_blobs=2, num_frames=6, seed=0)
    config = EvalConfig(tracker="cotracker", cotracker=CoTrackerConfig(checkpoint=str(tmp_path / "none.pth")))
    result = evaluate_pair(frames, frames, config=config)
    assert result.tracker == "opencv-lk"
    assert any("none.pth not found" in n and "Lucas-Kanade" in n for n in result.notes)


def test_tracks_png(videos, monkeypatch, capsys, tmp_path):
    import cv2

    out = tmp_path / "look" / "tracks.png"
    assert amg_eval(monkeypatch, "--video", videos["other"], "--reference", videos["ref"], "--tracker", "lk",
                    "--tracks-png", out) == 0
    image = cv2.imread(str(out))
    assert image.shape == (128, 2 * 128 + 4, 3)
    from amg.video import read_video

    # Left: the reference's last frame with its tracklets drawn over it (many pixels changed).
    last = read_video(videos["ref"])[0][-1]
    changed = np.abs(image[:, :128, ::-1].astype(int) - last.astype(int)).max(axis=-1) > 60
    assert changed.sum() > 200
    assert "tracklets drawn in" in capsys.readouterr().out
