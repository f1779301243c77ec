"""Training data from videos alone: every person captured, coloured like the video, captions
from the user or an external captioner; folders cut into clips (resumable, drops logged);
the clip trains with the existing trainer; bad `amg data prepare` input is refused cleanly."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from amg.cli import main
from amg.errors import AmgError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CAPTIONER = (f"{sys.executable} -c \"import sys, PIL.Image; w, h = PIL.Image.open(sys.argv[1]).size; "
             f"open(sys.argv[2], 'w').write('a person seen in a ' + ('tall' if h > w else 'wide') + ' picture')\" "
             "{frame} {out}")


@pytest.fixture(scope="module")
def video(samples_dir):
    from amg.capture.models import pose_task_path

    path = samples_dir / "video" / "mmhuman3d_single_person_demo.mp4"
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/samples not beside the repository)")
    if not pose_task_path().is_file():
        pytest.skip(f"pose model not built at {pose_task_path()}: run `amg setup`")
    return path


@pytest.fixture(scope="module")
def dataset(video, tmp_path_factory):
    from amg.train import PrepareConfig, TrainingData, prepare_clip

    data = TrainingData.create(tmp_path_factory.mktemp("cap") / "ds", frames=8, width=64, height=64, fps=8.0)
    prepare_clip(data, video, None, "", PrepareConfig(start=0.5, captioner=CAPTIONER))
    return data


def test_a_clip_from_the_video_alone(dataset):
    clip = dataset.clips[0]
    folder = clip.folder(dataset.root)
    # the captioner saw the wide key frame for the caption and a tall crop of the person
    assert clip.caption == "a person seen in a tall picture" or clip.caption == "a person seen in a wide picture"
    scene = json.loads((folder / "scene.json").read_text())
    assert len(scene["people"]) == 1
    avatar = scene["people"][0]["avatar"]
    assert avatar["prompt"] == "a person seen in a tall picture"
    assert set(avatar["colors"]) >= {"top", "bottom", "shoes"}
    assert scene["camera"]["file"] == "camera.json" and (folder / "motion.npz").is_file()
    frames, cond = dataset.load(clip)
    assert frames.shape == cond.shape == (8, 64, 64, 3)
    # the avatar is where the person is: the lit condition pixels lie on the person's pixels
    from amg.video import read_video

    overlay, _ = read_video(folder / "overlay.mp4")
    assert overlay.shape == frames.shape
    lit = cond.max(-1) > 30
    assert 0.03 < lit.mean() < 0.6
    cols = np.flatnonzero(lit.any(axis=(0, 1)))
    assert 10 < cols.mean() < 54  # the man is near the middle of the centre crop


def test_a_clip_from_a_video_alone_trains(dataset, tmp_path):
    from amg.model import AMGPipeline
    from amg.train import TrainConfig, train

    pipe = AMGPipeline.from_pretrained("tiny-random", device="cpu")
    result = train(pipe, dataset, tmp_path / "out", TrainConfig(steps=3, learning_rate=1e-3, warmup_steps=1,
                                                                checkpoint_every=100))
    assert result.steps == 3 and np.all(np.isfinite(result.losses))
    assert (tmp_path / "out" / "amg_adapters.json").is_file()


def test_a_folder_of_videos_resumes_and_logs_dropped_clips(video, tmp_path, capsys):
    from amg.video import write_mp4

    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(video.read_bytes())
    (folder / "broken.mp4").write_bytes(b"not a video" * 100)
    write_mp4(np.full((20, 64, 64, 3), 90, np.uint8), folder / "empty.mp4", 8)  # 2.5 s of nobody
    (folder / "notes.txt").write_text("ignored")
    ds = tmp_path / "ds"
    args = ["data", "prepare", str(folder), "--caption", "a man dribbling", "-o", str(ds), "--frames", "16",
            "--size", "64x64", "--fps", "8"]
    assert main(args) == 0
    assert "1 clip(s) added, 2 dropped" in capsys.readouterr().out
    log = [json.loads(line) for line in (ds / "prepare_log.jsonl").read_text().splitlines()]
    status = {e["clip"]: (e["status"], e.get("reason", "")) for e in log}
    assert status["a_000"][0] == "added"
    assert status["broken_000"][0] == "dropped" and "broken.mp4" in status["broken_000"][1]
    assert status["empty_000"][0] == "dropped" and "no person found" in status["empty_000"][1]
    assert main(args) == 0  # resumed: nothing redone
    assert "0 clip(s) added, 0 dropped" in capsys.readouterr().out
    assert [c["id"] for c in json.loads((ds / "amg_dataset.json").read_text())["clips"]] == ["a_000"]


def test_bad_prepare_input_is_refused_and_leaves_nothing(video, tmp_path, capsys):
    base = ["data", "prepare", str(video), "--caption", "a man", "--size", "64x64", "--frames", "8"]
    ds = tmp_path / "sub" / "ds"
    assert main(base + ["-o", str(ds), "--id", "../../x"]) == 2
    assert "clip id" in capsys.readouterr().err
    assert not ds.exists() and not (tmp_path / "x").exists()
    assert main(base + ["-o", str(ds), "--start", "30"]) == 2   # fails inside: no empty dataset left
    assert "past the end" in capsys.readouterr().err and not ds.exists()
    for flag, value in (("--fps", "nan"), ("--fps", "0"), ("--fps", "-3"), ("--start", "-1"), ("--start", "nan"),
                        ("--start", "inf")):
        assert main(base + ["-o", str(ds), flag, value]) == 2, (flag, value)
        err = capsys.readouterr().err
        assert flag in err and "Traceback" not in err, err
        assert not ds.exists()
    with pytest.raises(AmgError, match="caption"):
        from amg.train import TrainingData, prepare_clip

        prepare_clip(TrainingData.create(tmp_path / "d2", frames=8, width=64, height=64), video, None, " ")


def test_a_folder_prepared_by_a_pool_of_processes_resumes(video, tmp_path, capsys):
    """`--workers 2`: two videos' clips made by two worker processes, recorded in order by the
    parent; a clip folder left by a run stopped before the index is made again."""
    import shutil

    from amg.video import write_mp4

    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copyfile(video, folder / name)
    write_mp4(np.full((20, 64, 64, 3), 90, np.uint8), folder / "empty.mp4", 8)  # nobody: dropped
    ds = tmp_path / "ds"
    args = ["data", "prepare", str(folder), "--caption", "a man dribbling", "-o", str(ds), "--frames", "16",
            "--size", "64x64", "--fps", "8", "--workers", "2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "3 clip(s) to make in 2 worker processes" in out and "2 clip(s) added, 1 dropped" in out
    index = json.loads((ds / "amg_dataset.json").read_text())
    assert [c["id"] for c in index["clips"]] == ["a_000", "b_000"]
    for clip in ("a_000", "b_000"):
        assert (ds / "clips" / clip / "condition.mp4").is_file() and (ds / "clips" / clip / "video.mp4").is_file()
    # stopped after b_000's folder was written but before the index took it: it is made again
    index["clips"] = index["clips"][:1]
    (ds / "amg_dataset.json").write_text(json.dumps(index))
    log = (ds / "prepare_log.jsonl").read_text().splitlines()
    (ds / "prepare_log.jsonl").write_text("\n".join(x for x in log if "b_000" not in x) + "\n")
    assert main(args) == 0
    assert "1 clip(s) added, 0 dropped" in capsys.readouterr().out
    assert [c["id"] for c in json.loads((ds / "amg_dataset.json").read_text())["clips"]] == ["a_000", "b_000"]
    assert main(["data", "prepare", str(video), "--caption", "x", "-o", str(tmp_path / "one"), "--workers", "2"]) == 2
    assert "--workers is for a folder of videos" in capsys.readouterr().err
