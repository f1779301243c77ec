"""The synthetic world (scenes, "real" render, data), its ground-truth scores, and the experiment
script end to end at its smallest setting."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from amg.synthetic.world import (BACKGROUND_CLASSES, HELD_OUT_COMBOS, HELD_OUT_MOTIONS, TRAIN_MOTIONS, background_of,
                                 sample_scene)


def test_background_of_caption():
    assert background_of("two people dance on a sunny beach") == "beach"
    assert background_of("A man walks in the PARK.") == "park"
    assert background_of("a woman on a city street at night") == "street"  # the first class word wins
    assert background_of("a man waves") == "studio"


def test_held_out_split_shares_no_motion_camera_path_or_combination_with_training():
    train = [sample_scene(np.random.default_rng(i), "train")[1] for i in range(60)]
    test = [sample_scene(np.random.default_rng(i), "test")[1] for i in range(60)]
    assert all(set(t.motions) <= set(TRAIN_MOTIONS) for t in train)
    assert all(set(t.motions) <= set(HELD_OUT_MOTIONS) for t in test)
    assert not set(TRAIN_MOTIONS) & set(HELD_OUT_MOTIONS)
    assert all((t.background, t.people) not in HELD_OUT_COMBOS for t in train)
    assert all((t.background, t.people) in HELD_OUT_COMBOS for t in test)
    train_paths = {(t.camera, t.camera_params.get("direction")) for t in train}
    assert all((t.camera, t.camera_params.get("direction")) not in train_paths for t in test)
    assert {t.background for t in test} == set(BACKGROUND_CLASSES)


@pytest.fixture(scope="module")
def orbit_clip():
    from amg.synthetic.data import render_clip, render_plate

    rng = np.random.default_rng(3)
    while True:
        scene, info = sample_scene(rng, "test", background="park")
        if info.camera == "orbit":
            break
    clip = render_clip(scene, info)
    return clip, render_plate(scene, info.background)


def test_condition_is_the_condition_renderer_and_real_shows_the_camera_move(orbit_clip):
    from amg.render import render_scene

    clip, plate = orbit_clip
    assert np.array_equal(clip.condition, render_scene(clip.scene).rgb)
    assert clip.real.shape == clip.condition.shape == (8, 64, 64, 3)
    # black around the avatars in the condition; a lit background everywhere in the real video
    outside = ~clip.masks.any(axis=1)
    assert clip.condition[outside].max() < 160 and clip.real[outside].mean() > 60
    # the plate (no people) moves with the orbiting camera
    assert np.abs(plate[0].astype(int) - plate[-1].astype(int)).mean() > 5


def test_ground_truth_scores_itself_and_sees_people_and_backgrounds(orbit_clip):
    from amg.eval.ground_truth import (background_features, classify_background, people_pixels, placement_iou,
                                       psnr_ssim, background_motion)

    clip, plate = orbit_clip
    assert psnr_ssim(clip.real, clip.real) == (100.0, 1.0)
    assert placement_iou(people_pixels(clip.real, plate), clip.masks) > 0.6
    assert placement_iou(people_pixels(plate, plate), clip.masks) < 0.05  # no people: nothing found
    assert background_motion(clip.real, clip.real, clip.masks) > 99
    still = np.repeat(clip.real[:1], len(clip.real), axis=0)
    assert background_motion(still, clip.real, clip.masks) < 20
    centroids = {"park": background_features(clip.real, clip.masks).tolist(),
                 "night": [0.05] * 3 + [0.02] * 3 + [0.1] * 3 + [0.05] * 3}
    assert classify_background(clip.real, clip.masks, centroids) == "park"


def test_experiment_smallest_setting_end_to_end_writes_a_table(tmp_path, capsys):
    import torch

    from amg.cli import main
    from amg.synthetic.experiment import SETTINGS, run_experiment

    threads = torch.get_num_threads()
    config = replace(SETTINGS["smallest"], train_clips=3, test_clips=1, eval_clips=1)
    lines: list[str] = []
    try:
        state = run_experiment(tmp_path, config, write=lines.append)
    finally:
        torch.set_num_threads(threads)
    assert all(state["stages"][s]["done"] for s in ("data", "vae", "base", "adapters", "segmenter", "eval"))
    assert (tmp_path / "eval" / "people_segmenter.safetensors").is_file()  # the table's people detector
    assert state["stages"]["adapters"]["steps"] == config.adapter_steps
    table = (tmp_path / "eval" / "results.md").read_text()
    for row in ("AMG (trained adapters)", "base, no adapters", "AMG, empty condition", "ground truth"):
        assert f"| {row} | 1 |" in table
    assert (tmp_path / "eval" / "results.png").stat().st_size > 1000
    record = json.loads((tmp_path / "experiment.json").read_text())
    assert record["total_seconds"] > 0
    # the table is rerunnable from the evaluation folder alone
    assert main(["eval", "--table", str(tmp_path / "eval"), "--out", str(tmp_path / "again")]) == 0
    assert "| ground truth | 1 | " in (tmp_path / "again.md").read_text()
    # a rerun resumes: every stage is already done
    lines.clear()
    run_experiment(tmp_path, config, write=lines.append)
    assert not any("starting" in line for line in lines) and any("done before" in line for line in lines)
    with pytest.raises(Exception, match="other data"):
        run_experiment(tmp_path, replace(config, train_clips=4), write=lines.append)


def test_people_segmenter_learns_people_and_refuses_other_files(orbit_clip, tmp_path):
    from amg.errors import AmgError
    from amg.eval.segmenter import load_segmenter, save_segmenter, segment_people, train_segmenter

    clip, plate = orbit_clip
    truth = clip.masks.any(axis=1)
    model = train_segmenter(clip.real, truth, steps=60, batch=8, lr=5e-3)
    found = segment_people(load_segmenter(save_segmenter(model, tmp_path / "s.safetensors")), clip.real)
    assert np.array_equal(found, segment_people(model, clip.real))  # saved and loaded exactly
    iou = (found & truth).sum() / (found | truth).sum()
    assert iou > 0.3, iou  # a few steps on one clip: it already finds them
    assert segment_people(model, plate).sum() < 0.5 * truth.sum()  # the empty plate has (almost) none
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(AmgError, match="cannot load the people segmenter"):
        load_segmenter(tmp_path / "bad.safetensors")
