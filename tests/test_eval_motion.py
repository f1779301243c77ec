"""Motion Fidelity Score: the formula, the Lucas-Kanade tracker, and whole video pairs."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from amg.errors import AmgError
from amg.eval import (EvalConfig, LucasKanadeConfig, MotionFidelityConfig, correlation_matrix, evaluate_pair,
                      motion_fidelity_score, track_lucas_kanade)
from amg.eval.synthetic import moving_blobs_video

SAMPLES = Path(__file__).parents[2] / "shared" / "samples"
LK = EvalConfig(tracker="lk")


def naive_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The paper's corr, written as loops: mean over frames of cos(v_k, v~_k); zero vectors give 0."""
    out = np.zeros((len(a), len(b)))
    for i, j in itertools.product(range(len(a)), range(len(b))):
        total = 0.0
        for k in range(a.shape[1] - 1):
            va, vb = a[i, k + 1] - a[i, k], b[j, k + 1] - b[j, k]
            na, nb = np.linalg.norm(va), np.linalg.norm(vb)
            total += 0.0 if na == 0 or nb == 0 else float(va @ vb) / (na * nb)
        out[i, j] = total / (a.shape[1] - 1)
    return out


def path_from_steps(steps) -> np.ndarray:
    """(T, 2) positions from (T-1, 2) steps, starting at (50, 50)."""
    return np.concatenate([[[50.0, 50.0]], 50.0 + np.cumsum(np.asarray(steps, float), axis=0)])


# --- the formula -------------------------------------------------------------------------

def test_correlation_of_known_directions():
    right = path_from_steps([[1, 0]] * 4)
    up = path_from_steps([[0, -2]] * 4)
    left = path_from_steps([[-3, 0]] * 4)
    half = path_from_steps([[1, 0], [1, 0], [0, 1], [0, 1]])
    corr = correlation_matrix(np.stack([right]), np.stack([right, up, left, half]))
    np.testing.assert_allclose(corr[0], [1.0, 0.0, -1.0, 0.5], atol=1e-12)


def test_paper_formula_matches_naive_loops():
    rng = np.random.default_rng(1)
    a = np.cumsum(rng.normal(size=(7, 9, 2)), axis=1)
    b = np.cumsum(rng.normal(size=(5, 9, 2)), axis=1)
    b[0, 3:6] = b[0, 3]  # a tracklet that pauses: zero displacements count 0 in the raw formula
    np.testing.assert_allclose(correlation_matrix(a, b, still_px=0.0), naive_correlation(a, b), atol=1e-12)
    score = motion_fidelity_score(b, a, MotionFidelityConfig(still_px=0.0, min_extent_px=0.0))
    c = naive_correlation(a, b)  # (reference, generated)
    expected = c.max(axis=0).mean() + c.max(axis=1).mean()
    assert score.raw == pytest.approx(expected, abs=1e-6)  # tracklets are stored as float32
    assert score.score == pytest.approx(50 * expected, abs=1e-4)


def test_score_is_symmetric_and_order_invariant():
    rng = np.random.default_rng(2)
    a = np.cumsum(rng.normal(size=(30, 16, 2)), axis=1)
    b = np.cumsum(rng.normal(size=(22, 16, 2)), axis=1)
    ab, ba = motion_fidelity_score(a, b), motion_fidelity_score(b, a)
    assert ab.raw == pytest.approx(ba.raw, abs=1e-9)
    assert ab.generated_to_reference == pytest.approx(ba.reference_to_generated, abs=1e-9)
    shuffled = motion_fidelity_score(a[rng.permutation(len(a))], b[rng.permutation(len(b))])
    assert shuffled.raw == pytest.approx(ab.raw, abs=1e-9)
    assert -2.0 <= ab.raw <= 2.0


def test_still_rule_and_static_tracklets():
    moving = path_from_steps([[2, 0], [0, 0], [0, 0], [2, 1]])
    # Identical tracklets that pause: still agrees with still (100), the raw formula counts the pause as 0.
    assert motion_fidelity_score(moving[None], moving[None]).score == pytest.approx(100.0)
    raw_formula = MotionFidelityConfig(still_px=0.0, min_extent_px=0.0)
    assert motion_fidelity_score(moving[None], moving[None], raw_formula).score == pytest.approx(50.0)
    # Static background tracklets are left out rather than diluting a perfect match.
    static = np.full((3, 5, 2), 10.0)
    both = np.concatenate([moving[None], static])
    assert motion_fidelity_score(both, both).score == pytest.approx(100.0)
    frozen = motion_fidelity_score(static, both)
    assert frozen.score == 0.0 and frozen.tracklets_generated == 0 and "generated" in frozen.note
    nothing = motion_fidelity_score(static, static)
    assert nothing.score is None and "either video" in nothing.note


# --- the tracker ---------------------------------------------------------------------------

def test_lucas_kanade_follows_the_true_paths():
    frames, paths = moving_blobs_video(seed=0)
    tracks = track_lucas_kanade(frames)
    assert tracks.tracker == "opencv-lk" and tracks.num_frames == 16
    assert 40 <= len(tracks) <= tracks.seeded <= 400
    # Each tracklet moves with the blob it started on (rigid translation).
    nearest = np.argmin(np.linalg.norm(tracks.points[:, None, 0] - paths[None, :, 0], axis=-1), axis=1)
    error = np.linalg.norm(tracks.displacements() - np.diff(paths, axis=1)[nearest], axis=-1)
    assert np.median(error) < 0.3 and np.percentile(error, 95) < 1.0


def test_dense_grid_and_mask_seeding():
    frames, _ = moving_blobs_video(seed=1)
    grid = track_lucas_kanade(frames, LucasKanadeConfig(grid_step_px=6))
    assert grid.tracker == "opencv-lk-grid" and grid.seeded == (256 // 6 + (256 % 6 > 3)) ** 2
    mask = np.zeros((256, 256), bool)
    mask[:, :128] = True
    left = track_lucas_kanade(frames, mask=mask)
    assert len(left) > 0 and (left.points[:, 0, 0] < 128).all()
    full = track_lucas_kanade(frames)
    assert left.seeded < full.seeded


# --- whole pairs ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clip_pair():
    frames, _ = moving_blobs_video(seed=0)
    return frames


def test_video_against_itself_and_variants(clip_pair):
    ref = clip_pair
    self_score = evaluate_pair(ref, ref, config=LK)
    assert self_score.motion_fidelity == pytest.approx(100.0, abs=0.01)
    assert self_score.tracker == "opencv-lk" and self_score.tracklets_reference > 40
    shifted, _ = moving_blobs_video(seed=0, offset=(14.0, -9.0))
    assert evaluate_pair(shifted, ref, config=LK).motion_fidelity > 97.0
    reversed_score = evaluate_pair(ref[::-1].copy(), ref, config=LK).motion_fidelity
    static_score = evaluate_pair(np.repeat(ref[:1], len(ref), axis=0), ref, config=LK).motion_fidelity
    unrelated_score = evaluate_pair(moving_blobs_video(seed=7)[0], ref, config=LK).motion_fidelity
    assert reversed_score < 75.0 and unrelated_score < 75.0
    assert static_score == 0.0


def test_textured_still_background_does_not_dilute(clip_pair):
    ref, _ = moving_blobs_video(seed=0, textured_background=True)
    result = evaluate_pair(ref, ref, config=LK)
    assert result.motion_fidelity == pytest.approx(100.0, abs=0.01)
    # The same motion on a black background still matches it closely.
    assert evaluate_pair(clip_pair, ref, config=LK).motion_fidelity > 95.0


def test_mask_restricts_both_videos(clip_pair):
    mask = np.zeros((256, 256), bool)
    mask[100:140, 100:140] = True
    boxed = evaluate_pair(clip_pair, clip_pair, config=LK, mask=mask)
    full = evaluate_pair(clip_pair, clip_pair, config=LK)
    assert 0 < boxed.tracklets_reference < full.tracklets_reference
    # mask_box: two far-apart specks stand for the whole box between them (DMT's choice).
    specks = np.zeros((256, 256), bool)
    specks[60:64, 60:64] = specks[190:194, 190:194] = True
    spot = evaluate_pair(clip_pair, clip_pair, config=LK, mask=specks)
    box = evaluate_pair(clip_pair, clip_pair, config=LK, mask=specks, mask_box=True)
    assert spot.tracklets_reference < box.tracklets_reference


def test_auto_tracker_falls_back_and_says_so(clip_pair, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty torch.hub cache: no CoTracker here
    result = evaluate_pair(clip_pair, clip_pair, config=EvalConfig(tracker="auto"))
    assert result.tracker == "opencv-lk"
    assert any("CoTracker unavailable" in n and "Lucas-Kanade" in n for n in result.notes)


def test_progress_and_cancel(clip_pair):
    import threading

    seen = []
    evaluate_pair(clip_pair, clip_pair, config=LK, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(KeyboardInterrupt):
        evaluate_pair(clip_pair, clip_pair, config=LK, cancel=cancel)


# --- bad input -----------------------------------------------------------------------------

def test_frame_count_mismatch_refused_or_resampled(clip_pair):
    with pytest.raises(AmgError, match="16 frames.*10"):
        evaluate_pair(clip_pair, clip_pair[:10], config=LK)
    # The same 2 seconds at twice the frame rate: picking every other frame gives the same clip.
    doubled, _ = moving_blobs_video(num_frames=31, seed=0)
    result = evaluate_pair(doubled, clip_pair, config=EvalConfig(tracker="lk", resample=True))
    assert result.frames_generated == 31 and result.frames_reference == 16 and result.frames_compared == 16
    assert any("resampled the generated video to 16 frames" in n for n in result.notes)
    assert result.motion_fidelity == pytest.approx(100.0, abs=0.01)


def test_sizes(clip_pair):
    import cv2

    small = np.stack([cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA) for f in clip_pair])
    result = evaluate_pair(small, clip_pair, config=LK)
    assert any("resized the generated video from 128x128" in n for n in result.notes)
    assert result.motion_fidelity > 90.0
    with pytest.raises(AmgError, match="aspect"):
        evaluate_pair(clip_pair[:, :, :128], clip_pair, config=LK)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((1, 32, 32, 3), np.uint8), "1 frame"),
    (np.zeros((0, 32, 32, 3), np.uint8), "no video frames"),
    (np.zeros((4, 32, 32), np.uint8), r"\(T, H, W, 3\)"),
    (np.zeros((4, 32, 32, 3), np.float32), "uint8"),
])
def test_bad_arrays(bad, message, clip_pair):
    with pytest.raises(AmgError, match=message):
        evaluate_pair(bad, clip_pair, config=LK)


def test_unreadable_and_missing_files(tmp_path, clip_pair):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 10)
    with pytest.raises(AmgError, match="junk.mp4"):
        evaluate_pair(junk, clip_pair, config=LK)
    with pytest.raises(AmgError, match="not found"):
        evaluate_pair(clip_pair, tmp_path / "missing.mp4", config=LK)


def test_bad_mask_and_tracker(clip_pair):
    with pytest.raises(AmgError, match="mask: selects no pixel"):
        evaluate_pair(clip_pair, clip_pair, config=LK, mask=np.zeros((256, 256), bool))
    with pytest.raises(AmgError, match="mask: is 100x256"):
        evaluate_pair(clip_pair, clip_pair, config=LK, mask=np.ones((256, 100), bool))
    with pytest.raises(AmgError, match="tracker"):
        evaluate_pair(clip_pair, clip_pair, config=EvalConfig(tracker="magic"))


# --- a real video --------------------------------------------------------------------------

@pytest.mark.skipif(not (SAMPLES / "video" / "mmhuman3d_single_person_demo.mp4").is_file(),
                    reason="../shared/samples/video/mmhuman3d_single_person_demo.mp4 is absent")
def test_real_video_self_reversed_shifted_and_smaller():
    import cv2

    from amg.video import read_video

    frames, _ = read_video(SAMPLES / "video" / "mmhuman3d_single_person_demo.mp4")  # 40 frames, 1080x1920
    config = EvalConfig(tracker="lk", max_side=256)
    same = evaluate_pair(frames, frames, config=config)
    assert same.motion_fidelity == pytest.approx(100.0, abs=0.01) and same.tracklets_reference > 20
    assert any("tracked at 144x256" in n for n in same.notes)
    frames = np.stack([cv2.resize(f, (270, 480), interpolation=cv2.INTER_AREA) for f in frames])  # faster below
    # The hand-held camera drifts one way over the clip: played backwards, it goes the other way.
    assert evaluate_pair(frames[::-1].copy(), frames, config=config).motion_fidelity < 0.0
    assert evaluate_pair(np.repeat(frames[:1], len(frames), axis=0), frames, config=config).motion_fidelity == 0.0
    half = np.stack([cv2.resize(f, (135, 240), interpolation=cv2.INTER_AREA) for f in frames])
    assert evaluate_pair(half, frames, config=config).motion_fidelity > 95.0
    # Two crops 10 px apart: the same motion elsewhere in the frame.
    crop_a, crop_b = frames[:, 25:425, 15:240].copy(), frames[:, 35:435, 25:250].copy()
    assert evaluate_pair(crop_b, crop_a, config=config).motion_fidelity > 95.0
