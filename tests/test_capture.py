"""Motion from video (BlazePose, offline): poses, identities, the camera, the overlay, bad input.

Runs on ../shared/samples/video/mmhuman3d_single_person_demo.mp4 (a man dribbling a
basketball, 40 frames 1080x1920 at 12 fps); composites of it make the two-person cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from amg.errors import AmgError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def pose_model():
    from amg.capture.models import pose_task_path

    if not pose_task_path().is_file():
        pytest.skip(f"pose model not built at {pose_task_path()}: run `amg setup` (CI does)")
    return pose_task_path()


@pytest.fixture(scope="module")
def capture(video, pose_model):
    from amg.capture import motion_from_video

    return motion_from_video(video)


def _write(path, frames, fps=12.0):
    from amg.video import write_mp4

    return write_mp4(np.asarray(frames, np.uint8), path, fps)


def test_pose_model_is_a_working_landmarker(pose_model):
    import zipfile

    from amg.capture.detect import PoseDetector

    names = zipfile.ZipFile(pose_model).namelist()
    assert sorted(names) == ["pose_detector.tflite", "pose_landmarks_detector.tflite"]
    assert "Apache License" in (pose_model.parent / "LICENSE").read_text()
    with PoseDetector() as detect:
        assert detect(np.zeros((256, 256, 3), np.uint8), 0.0) == []  # loads, runs, finds nobody in black


def test_every_frame_has_a_pose_and_the_avatar_overlays_the_person(capture, video, tmp_path):
    from amg.capture.overlay import capture_scene, render_size
    from amg.capture.world import _DIRECT, J
    from amg.render.scene_render import render_scene

    r = capture
    assert r.num_people == 1 and len(r.times) == 40 and r.present.all() and not r.lost.any()
    assert r.motions[0].fps == 12.0 and r.camera.aspect == pytest.approx(1080 / 1920)
    # the avatar's joints projected through the estimated camera land on the detected keypoints
    w, h = render_size(r.width, r.height)
    r.save(tmp_path / "m.npz", camera=tmp_path / "c.json")
    rendered = render_scene(capture_scene(r, str(tmp_path / "m.npz"), str(tmp_path / "c.json"), w, h))
    errors = []
    for i, cam in enumerate(rendered.cameras):
        for name, lm in _DIRECT.items():
            px, _ = cam.project(rendered.joints[0, i, J[name]][None])
            errors.append(np.linalg.norm(px[0] * [r.width / w, r.height / h] - r.keypoints[0, i, lm, :2]))
    k = r.keypoints[0]
    height = np.median(np.max(k[:, [29, 30, 27, 28], 1], 1) - np.min(k[:, [0, 7, 8], 1], 1)) * 1.1
    assert np.median(errors) < 0.08 * height, (np.median(errors), height)


def test_the_dribbling_hand_follows_the_ball(capture, video):
    """The ball's height (its orange pixels) and the hand's height rise and fall together."""
    import cv2

    from amg.motion import edit
    from amg.video import read_video

    frames, _ = read_video(video, times=capture.times, max_side=480)
    ball = []
    for f in frames:
        hsv = cv2.cvtColor(f, cv2.COLOR_RGB2HSV)
        mask = (hsv[..., 0] >= 3) & (hsv[..., 0] <= 18) & (hsv[..., 1] > 120) & (hsv[..., 2] > 60)
        ball.append(-np.nonzero(mask)[0].mean())
    ball = np.array(ball)
    hands = edit.joints(capture.motions[0])[:, [20, 21], 1]  # wrist heights
    corr = max(np.corrcoef(ball, hands[:, k])[0, 1] for k in range(2))
    assert corr > 0.4, corr
    # and not by chance: half a bounce (~5 frames) out of step, they disagree
    shifted = max(np.corrcoef(ball[5:], hands[:-5, k])[0, 1] for k in range(2))
    assert shifted < corr - 0.3, (corr, shifted)


def test_feet_stay_on_the_floor(capture):
    from amg.motion import edit

    m = capture.motions[0]  # as captured: the floor is the estimated one, not re-grounded
    soles = edit.sole_heights(m)
    assert soles.min() > -0.02, soles.min()
    feet = edit.joints(m)[:, [7, 8]][..., [0, 2]]
    still = np.linalg.norm(np.diff(feet, axis=0), axis=-1).max(-1) * m.fps < 0.3
    assert still.any()
    assert np.all(soles[1:][still].min(-1) < 0.05)  # standing: a foot is down, not floating


def test_overlay_video_shows_the_avatar_over_the_person(capture, video, tmp_path):
    from PIL import Image

    from amg.capture.overlay import overlay_frames, render_overlay
    from amg.video import probe_video

    out, rgb = overlay_frames(capture, video, max_side=256)
    assert out.shape[1:] == (256, 144, 3)
    Image.fromarray(np.concatenate([out[0], out[20], out[39]], 1)).save(tmp_path / "overlay.png")
    covered = (rgb.max(-1) > 30).mean(axis=(1, 2))
    assert (covered > 0.03).all()
    path = render_overlay(capture, video, tmp_path / "o.mp4", max_side=128)
    assert probe_video(path).frames == 40


def _composite(video, tmp_path, crossing: bool):
    """Two copies of the sample: side by side, or one walking across in front of the other."""
    from amg.video import read_video

    frames, _ = read_video(video, max_side=640)  # (40, 640, 360, 3)
    h, w = frames.shape[1:3]
    if not crossing:
        return _write(tmp_path / "two.mp4", np.concatenate([frames, frames[::-1]], axis=2)), None
    canvas_w = 3 * w
    out, offsets = [], []
    for i, f in enumerate(frames):
        c = np.concatenate([frames[0][:, :1]] * canvas_w, axis=1).copy()
        c[:, w:2 * w] = f                                  # A stays in the middle
        x = int(round(2 * w - 2 * w * i / (len(frames) - 1)))  # B: right edge -> left edge, in front
        strip = frames[(i + 7) % len(frames)][:, w // 4: 3 * w // 4]
        c[:, x + w // 4: x + 3 * w // 4] = strip
        out.append(c)
        offsets.append(x)
    return _write(tmp_path / "cross.mp4", out), np.array(offsets)


def test_two_people_side_by_side_keep_their_identities(video, pose_model, capture, tmp_path):
    from amg.capture import CaptureConfig, motion_from_video

    path, _ = _composite(video, tmp_path, crossing=False)
    r = motion_from_video(path, CaptureConfig(people=2, fps=6.0))  # every other frame: 20
    assert r.num_people == 2 and r.present.mean() > 0.9
    half = r.width / 2
    x = np.nanmedian(r.keypoints[:, :, [11, 12, 23, 24], 0], axis=2)  # (2, T)
    assert (x[0] < half).all() and (x[1] > half).all()   # no swap, every frame
    # each follows its own copy: the right copy plays backwards
    ref = capture.motions[0].body_pose[::2]
    for p, rev in ((0, False), (1, True)):
        mine = r.motions[p].body_pose
        theirs = ref[::-1] if rev else ref
        same = np.corrcoef(mine.ravel(), theirs.ravel())[0, 1]
        other = np.corrcoef(mine.ravel(), (ref if rev else ref[::-1]).ravel())[0, 1]
        assert same > other + 0.05, (p, same, other)


def test_a_person_crossing_in_front_keeps_both_identities(video, pose_model, tmp_path):
    from amg.capture import CaptureConfig, motion_from_video

    path, offsets = _composite(video, tmp_path, crossing=True)
    r = motion_from_video(path, CaptureConfig(people=2))
    assert r.num_people == 2
    x = r.keypoints[:, :, [11, 12, 23, 24], 0].mean(-1)  # (2, T) torso centre, NaN where unseen
    w = r.width / 3
    crosser = int(np.nanargmax(np.nanmax(x, 1) - np.nanmin(x, 1)))
    b, a = x[crosser], x[1 - crosser]
    assert np.isfinite(b).sum() >= 15 and np.isfinite(a).sum() >= 15
    # B's track follows B (a constant offset from its strip; a swap would jump by > w/2)
    resid = (b - offsets)[np.isfinite(b)]
    assert np.ptp(resid) < 0.35 * w, resid
    # A's track never leaves A's place in the middle third
    assert np.all((a[np.isfinite(a)] > w) & (a[np.isfinite(a)] < 2 * w)), a


def test_a_person_who_leaves_and_comes_back_keeps_their_id(video, pose_model, tmp_path):
    from amg.capture import CaptureConfig, motion_from_video
    from amg.video import read_video

    frames, _ = read_video(video, max_side=640)
    frames[14:30] = 120  # 1.3 s with nobody in view (longer than the 1 s that is filled in)
    r = motion_from_video(_write(tmp_path / "away.mp4", frames), CaptureConfig(people=2))
    assert r.num_people == 1, r.notes              # one identity, not a second person
    assert r.present[0, :14].all() and r.present[0, 30:].all()
    assert r.lost[0, 14:30].all() and not r.lost[0, :14].any()   # flagged, not invented
    assert any("not seen and not filled" in n for n in r.notes)


def test_a_panning_camera_is_measured_and_taken_out_of_the_motion(video, pose_model, capture, tmp_path):
    """A real pan made from the sample: each frame re-projected into a narrower camera that
    turns from 8 degrees left to 8 degrees right (the homography K' R K^-1). The camera's
    turning is measured, and the man's path in the world stays his own."""
    import cv2
    from scipy.spatial.transform import Rotation

    from amg.capture import CaptureConfig, motion_from_video
    from amg.video import read_video

    frames, _ = read_video(video, max_side=960)          # (40, 960, 540, 3)
    f = 26 / 36 * 960                                    # the focal the reference capture assumed
    k_src = np.array([[f, 0, 270], [0, f, 480], [0, 0, 1.0]])
    k_out = np.array([[f, 0, 180], [0, f, 320], [0, 0, 1.0]])
    yaw = np.linspace(-8, 8, len(frames))
    panned = np.stack([cv2.warpPerspective(fr, k_out @ Rotation.from_euler("y", a, degrees=True).as_matrix()
                                           @ np.linalg.inv(k_src), (360, 640), flags=cv2.INTER_LINEAR)
                       for fr, a in zip(frames, yaw)])
    path = _write(tmp_path / "pan.mp4", panned)
    focal_mm = f / 640 * 36
    r = motion_from_video(path, CaptureConfig(focal_mm=focal_mm))
    assert not r.camera.meta["static"] and "turning" in " ".join(r.notes)
    assert 12 < r.camera.meta["max_turn_deg"] < 21, r.camera.meta   # 16 degrees of pan (+ the hand's own ~4)
    still = motion_from_video(path, CaptureConfig(focal_mm=focal_mm, camera_motion=False))

    def path_error(result):
        """Mean distance of the man's floor path (from his first position) to the reference's."""
        def path(res):
            x = res.motions[0].transl[:, [0, 2]] * res.scale
            return x - x[0]
        return float(np.linalg.norm(path(result) - path(capture), axis=-1).mean())

    print("path error with / without the camera's turning:", path_error(r), path_error(still))
    assert path_error(r) < 0.25
    assert path_error(still) > path_error(r) + 0.15  # the pan, read as walking


# ---- bad input -------------------------------------------------------------------------------
def test_nobody_in_the_video_is_a_clear_error(pose_model, tmp_path):
    from amg.capture import motion_from_video

    frames = np.full((12, 240, 320, 3), 90, np.uint8)
    frames[:, 100:140] = 200
    with pytest.raises(AmgError, match="no person found"):
        motion_from_video(_write(tmp_path / "empty.mp4", frames))


def test_a_person_too_small_is_refused(video, pose_model, tmp_path):
    from amg.capture import CaptureConfig, motion_from_video
    from amg.video import read_video

    small, _ = read_video(video, times=np.arange(12) / 12, max_side=96)  # the man ~70 px tall in 1440 px
    canvas = np.full((12, 1440, 1080, 3), 128, np.uint8)
    canvas[:, 600:600 + small.shape[1], 500:500 + small.shape[2]] = small
    with pytest.raises(AmgError, match="too small|no person found"):
        motion_from_video(_write(tmp_path / "small.mp4", canvas), CaptureConfig(min_height=0.1))


def test_corrupt_truncated_and_still_inputs_are_named(video, samples_dir, tmp_path):
    from amg.capture import CaptureConfig, motion_from_video

    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video" * 500)
    with pytest.raises(AmgError, match="junk.mp4"):
        motion_from_video(junk)
    data = video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(AmgError, match="cut.mp4"):
        motion_from_video(cut, CaptureConfig(end=3.0))
    still = tmp_path / "photo.mp4"
    still.write_bytes((samples_dir / "video" / "mmhuman3d_S1_Directions_1.54138969_000001.jpg").read_bytes())
    with pytest.raises(AmgError, match="still image"):
        motion_from_video(still)
    with pytest.raises(AmgError, match="past the end"):
        motion_from_video(video, CaptureConfig(start=10.0))
    for bad in (CaptureConfig(people=0), CaptureConfig(start=float("nan")), CaptureConfig(fps=-1.0),
                CaptureConfig(focal_mm=0.0)):
        with pytest.raises(AmgError):
            motion_from_video(video, bad)


def test_cli_from_video_writes_motion_camera_and_overlay(video, pose_model, tmp_path, capsys):
    from amg.camera.formats import load_camera_path
    from amg.cli import main
    from amg.motion.formats import load_motion_file

    out = tmp_path / "m.npz"
    assert main(["motion", "from-video", str(video), "-o", str(out), "--start", "1", "--end", "2.5",
                 "--camera-out", str(tmp_path / "cam.json")]) == 0
    text = capsys.readouterr().out
    assert " camera, 1080x1920" in text and "focal length assumed" in text and "camera: " in text
    m = load_motion_file(out)
    assert len(m) == 1 and m[0].num_frames == 18 and m[0].fps == 12.0
    assert np.load(out)["times"][0] == pytest.approx(1.0)
    cam = load_camera_path(tmp_path / "cam.json")
    assert cam.aspect == pytest.approx(0.5625)
    assert main(["camera", "export", str(tmp_path / "cam.json"), "--format", "nerfstudio",
                 "-o", str(tmp_path / "ns.json")]) == 0
    assert main(["motion", "from-video", str(video), "-o", str(out), "--start", "9"]) == 2
    assert "past the end" in capsys.readouterr().err


def test_pose_model_build_refuses_a_wrong_wheel(tmp_path):
    import zipfile

    from amg.capture.models import build_pose_task

    wheel = tmp_path / "mediapipe-1.2.3-cp311-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("mediapipe/__init__.py", "")
    with pytest.raises(AmgError, match="pose_detection.tflite.*0.10.21"):
        build_pose_task(wheel, tmp_path / "out")
    (tmp_path / "junk.whl").write_bytes(b"junk")
    with pytest.raises(AmgError, match="junk.whl: not a readable wheel"):
        build_pose_task(tmp_path / "junk.whl", tmp_path / "out")
    assert not (tmp_path / "out").exists()
