"""CameraPath interpolation and the camera presets (issue 4)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from amg.camera import CameraPath, Keyframe, Subjects, fit_to_subjects, look_at, make_preset
from amg.camera.presets import PRESETS
from amg.camera.scene_camera import scene_cameras
from amg.camera.subjects import frame_subjects_distance
from amg.errors import AmgError
from amg.scene import CameraRef

FPS = 8.0
FRAMES = 16
DURATION = (FRAMES - 1) / FPS


def standing_people(positions=((-0.7, 0.0), (0.7, 0.0)), frames=FRAMES, height=1.7):
    """(P, T, 22, 3) joints: each person a column of joints from the ankles to the head."""
    ys = np.linspace(0.08, height - 0.1, 22)
    out = np.zeros((len(positions), frames, 22, 3))
    for p, (x, z) in enumerate(positions):
        out[p, :, :, 0] = x + 0.15 * np.sin(np.arange(22))[None]
        out[p, :, :, 1] = ys[None]
        out[p, :, :, 2] = z + 0.1 * np.cos(np.arange(22))[None]
    return out


def projected_heights(cams, joints):
    """Per camera: pixel height of the people (top to bottom of all joints)."""
    pts = joints.reshape(-1, 3)
    return np.array([np.ptp(c.project(pts)[0][:, 1]) for c in cams])


def test_spline_passes_through_keyframes_and_is_smooth():
    rng = np.random.default_rng(0)
    keys = []
    for i, t in enumerate([0.0, 0.4, 1.1, 1.5, 2.3]):
        c2w = np.eye(4)
        c2w[:3, :3] = Rotation.from_rotvec(rng.normal(size=3) * 0.4).as_matrix()
        c2w[:3, 3] = rng.normal(size=3) * 2
        keys.append(Keyframe(t, c2w, 30.0 + 10 * i))
    for tension in (-0.5, 0.0, 0.7):
        path = CameraPath(keys, tension=tension)
        c2w, fov = path.poses_at(np.array([k.time for k in keys]))
        for k, m, f in zip(keys, c2w, fov):
            assert np.allclose(m, k.c2w, atol=1e-9)
            assert f == pytest.approx(k.fov_y_deg)
    # no jumps: dense samples move by small steps everywhere
    c2w, _ = CameraPath(keys).poses_at(np.linspace(0, 2.3, 2000))
    steps = np.linalg.norm(np.diff(c2w[:, :3, 3], axis=0), axis=1)
    assert steps.max() < 0.05
    rot_steps = (Rotation.from_matrix(c2w[1:, :3, :3]) * Rotation.from_matrix(c2w[:-1, :3, :3]).inv()).magnitude()
    assert rot_steps.max() < np.radians(1.0)


@pytest.mark.parametrize("angle", [60.0, 180.0, 360.0])
@pytest.mark.parametrize("direction", ["ccw", "cw"])
def test_orbit_total_angle_constant_radius_and_height(angle, direction):
    joints = standing_people()
    subjects = Subjects.from_joints(joints)
    path = make_preset("orbit", {"angle": angle, "direction": direction}, subjects, DURATION)
    cams = path.evaluate(FRAMES, FPS)
    target = subjects.centroid
    pos = np.stack([c.position for c in cams])
    off = pos - target
    radius = np.hypot(off[:, 0], off[:, 2])
    assert np.ptp(radius) < 1e-4 * radius.mean()
    assert np.ptp(pos[:, 1]) < 1e-9
    az = np.degrees(np.unwrap(np.arctan2(off[:, 0], off[:, 2])))
    sign = 1.0 if direction == "ccw" else -1.0
    assert (az[-1] - az[0]) * sign == pytest.approx(angle, abs=1e-6)
    assert np.all(np.diff(az) * sign > 0)  # never turns back
    # the subjects stay centred: the target projects to the image centre in every frame
    for c in cams:
        uv, depth = c.project(target[None])
        assert depth[0] > 0 and np.allclose(uv[0], [c.width / 2, c.height / 2], atol=1e-6)
    if angle == 360.0:
        assert np.allclose(cams[0].c2w, cams[-1].c2w, atol=1e-9)


@pytest.mark.parametrize("mode", ["dolly", "fov"])
def test_zoom_in_grows_and_zoom_out_shrinks_the_subjects(mode):
    joints = standing_people()
    subjects = Subjects.from_joints(joints)
    grow = projected_heights(make_preset("zoom_in", {"mode": mode}, subjects, DURATION).evaluate(FRAMES, FPS), joints)
    shrink = projected_heights(make_preset("zoom_out", {"mode": mode}, subjects, DURATION).evaluate(FRAMES, FPS), joints)
    assert np.all(np.diff(grow) > 0) and grow[-1] / grow[0] == pytest.approx(1.8, rel=0.1)
    assert np.all(np.diff(shrink) < 0) and shrink[0] / shrink[-1] == pytest.approx(1.8, rel=0.1)


def test_dolly_zoom_keeps_the_subjects_size_while_the_camera_moves():
    joints = standing_people()
    subjects = Subjects.from_joints(joints)
    cams = make_preset("dolly_zoom", {"factor": 2.0}, subjects, DURATION).evaluate(FRAMES, FPS)
    target = subjects.centroid
    dist = np.array([np.linalg.norm(c.position - target) for c in cams])
    size = np.array([np.tan(np.radians(c.fov_y_deg) / 2) for c in cams]) * dist  # visible half-height at target
    assert dist[-1] / dist[0] == pytest.approx(0.5, rel=1e-6)
    assert np.ptp(size) < 0.01 * size.mean()
    assert cams[-1].fov_y_deg > cams[0].fov_y_deg


def test_crane_pan_truck_move_as_named():
    subjects = Subjects.from_joints(standing_people())
    crane = make_preset("crane", {"direction": "up", "amount": 1.2}, subjects, DURATION).evaluate(FRAMES, FPS)
    assert crane[-1].position[1] - crane[0].position[1] == pytest.approx(1.2)
    uv, _ = crane[-1].project(subjects.centroid[None])
    assert np.allclose(uv[0], [128, 128], atol=1e-6)

    pan = make_preset("pan", {"direction": "right", "angle": 40}, subjects, DURATION).evaluate(FRAMES, FPS)
    assert np.allclose([c.position for c in pan], pan[0].position)
    fwd = np.stack([-c.c2w[:3, 2] for c in pan])
    yaw = np.degrees(np.unwrap(np.arctan2(-fwd[:, 0], -fwd[:, 2])))
    assert yaw[0] - yaw[-1] == pytest.approx(40.0, abs=1e-6)  # turning right = clockwise from above
    # half way the people are in the middle of the picture
    mid = make_preset("pan", {"angle": 40}, subjects, 2.0).poses_at(np.array([1.0]))[0][0]
    assert np.allclose(-mid[:3, 2], look_at(mid[:3, 3], subjects.centroid)[:3, 2] * -1, atol=1e-6)

    truck = make_preset("truck", {"direction": "left", "amount": 2.0}, subjects, DURATION).evaluate(FRAMES, FPS)
    assert np.allclose([c.c2w[:3, :3] for c in truck], truck[0].c2w[:3, :3], atol=1e-9)
    moved = truck[-1].position - truck[0].position
    assert np.linalg.norm(moved) == pytest.approx(2.0)
    assert moved @ truck[0].c2w[:3, 0] == pytest.approx(-2.0)  # along the camera's left


def test_follow_tracks_the_people_centroid_over_time():
    joints = standing_people(frames=FRAMES)
    joints[..., 0] += np.linspace(0.0, 3.0, FRAMES)[None, :, None]  # they walk 3 m along +x
    subjects = Subjects.from_joints(joints)
    for travel in (True, False):
        cams = make_preset("follow", {"travel": travel, "smooth": 0.0}, subjects, DURATION).evaluate(FRAMES, FPS)
        for c, centre in zip(cams, subjects.track):
            uv, depth = c.project(centre[None])
            assert depth[0] > 0 and np.allclose(uv[0], [128, 128], atol=1e-3)
        moved = cams[-1].position[0] - cams[0].position[0]
        assert moved == pytest.approx(3.0, abs=1e-6) if travel else abs(moved) < 1e-9


def test_handheld_shake_is_seeded_subtle_and_smooth():
    subjects = Subjects.from_joints(standing_people())
    still = make_preset("static", {}, subjects, DURATION).evaluate(FRAMES, FPS)
    a = make_preset("handheld", {"seed": 3}, subjects, DURATION).evaluate(FRAMES, FPS)
    b = make_preset("handheld", {"seed": 3}, subjects, DURATION).evaluate(FRAMES, FPS)
    c = make_preset("handheld", {"seed": 4}, subjects, DURATION).evaluate(FRAMES, FPS)
    assert all(np.array_equal(x.c2w, y.c2w) for x, y in zip(a, b))
    assert not all(np.allclose(x.c2w, y.c2w) for x, y in zip(a, c))
    angles = [Rotation.from_matrix(x.c2w[:3, :3].T @ s.c2w[:3, :3]).magnitude() for x, s in zip(a, still)]
    shifts = [np.linalg.norm(x.position - s.position) for x, s in zip(a, still)]
    assert 0 < max(angles) < np.radians(1.0) and max(shifts) < 0.02
    assert max(angles) > np.radians(0.05)  # visible, not nothing


def test_constant_speed_moves_evenly():
    keys = [Keyframe(t, look_at(p, [0, 1, 0]), 40.0) for t, p in
            [(0.0, [0, 1, 5]), (0.2, [0.2, 1, 5]), (2.0, [3, 1, 5]), (2.1, [6, 2, 5])]]
    c2w, _ = CameraPath(keys, constant_speed=True).poses_at(np.linspace(0, 2.1, 50))
    steps = np.linalg.norm(np.diff(c2w[:, :3, 3], axis=0), axis=1)
    assert np.ptp(steps) < 0.02 * steps.mean()
    c2w, _ = CameraPath(keys).poses_at(np.linspace(0, 2.1, 50))
    steps = np.linalg.norm(np.diff(c2w[:, :3, 3], axis=0), axis=1)
    assert np.ptp(steps) > 0.5 * steps.mean()  # keyframe timing is uneven without it


def test_loop_wraps_and_retime_spans_the_frames():
    keys = [Keyframe(t, look_at(p, [0, 1, 0]), 40.0) for t, p in
            [(0.0, [0, 1, 4]), (1.0, [4, 1, 0]), (2.0, [0, 1, -4]), (3.0, [-4, 1, 0])]]
    loop = CameraPath(keys, loop=True)
    assert loop.duration == pytest.approx(4.0)
    a, _ = loop.poses_at(np.array([0.5, 4.5, 8.5]))
    assert np.allclose(a[0], a[1]) and np.allclose(a[0], a[2])
    # the closing segment returns smoothly to the first keyframe
    b, _ = loop.poses_at(np.array([3.999999]))
    assert np.allclose(b[0][:3, 3], keys[0].position, atol=1e-4)
    once = CameraPath(keys)
    times = once.frame_times(16, 8.0, retime=True)
    assert times[0] == 0.0 and times[-1] == pytest.approx(3.0)
    plain = once.frame_times(40, 8.0)
    assert plain[-1] == pytest.approx(39 / 8)
    held, _ = once.poses_at(plain[-1:])
    assert np.allclose(held[0], keys[-1].c2w)  # past its end the camera holds


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_frames_people_wherever_they_stand(name):
    joints = standing_people(positions=((4.3, -6.0), (5.7, -6.0)))
    cams = scene_cameras(CameraRef(preset=name), joints, 256, 256)
    assert len(cams) == FRAMES
    uv, depth = cams[0].project(joints[:, 0].reshape(-1, 3))
    assert np.all(depth > 0)
    if name in ("pan", "truck"):  # these sweep past the people: centred half way
        uv, depth = cams[FRAMES // 2].project(joints[:, 0].reshape(-1, 3))
    inside = (uv[:, 0] > 0) & (uv[:, 0] < 256) & (uv[:, 1] > 0) & (uv[:, 1] < 256)
    assert inside.mean() > 0.9


def test_fit_moves_a_foreign_path_onto_the_people():
    joints = standing_people(positions=((2.0, 3.0), (3.4, 3.0)))
    subjects = Subjects.from_joints(joints)
    orbit = make_preset("orbit", {"angle": 90}, Subjects.standing_person(), DURATION)
    # a tool's world: turned, 7x larger, elsewhere; no anchor (nothing says where the people were)
    r = Rotation.from_euler("xyz", [70, 20, -35], degrees=True).as_matrix()
    foreign = orbit.transformed(r, 7.0, [10.0, -3.0, 2.0])
    foreign = CameraPath([Keyframe(k.time, k.c2w, k.fov_y_deg) for k in foreign.keyframes])
    fitted = fit_to_subjects(foreign, subjects, azimuth=0.0)
    cams = fitted.evaluate(FRAMES, FPS)
    for c in cams:
        uv, depth = c.project(subjects.centroid[None])
        assert depth[0] > 0 and np.allclose(uv[0], [128, 128], atol=0.5)
        assert abs(c.c2w[1, 0]) < 1e-6  # level again: the camera's x axis is horizontal
    first = cams[0].position - subjects.centroid
    assert abs(first[0]) < 1e-6 and first[2] > 0  # in front of the people (+Z)
    # scaled so the camera is at the distance that frames the people
    dist = [np.linalg.norm(c.position - subjects.centroid) for c in cams]
    assert np.mean(dist) == pytest.approx(frame_subjects_distance(subjects.extent, 40.0), rel=1e-3)
    assert 0.5 * 256 < projected_heights(cams[:1], joints)[0] < 256


def test_bad_paths_are_refused_clearly():
    k = Keyframe(0.0, np.eye(4), 40.0)
    with pytest.raises(AmgError, match="at least two keyframes"):
        CameraPath([k], source="my.json")
    with pytest.raises(AmgError, match="zero-length"):
        CameraPath([k, Keyframe(0.0, np.eye(4), 40.0)])
    with pytest.raises(AmgError, match="between 0 and 180"):
        CameraPath([k, Keyframe(1.0, np.eye(4), 180.0)])
    with pytest.raises(AmgError, match="unknown parameter"):
        make_preset("orbit", {"angel": 90})
    with pytest.raises(AmgError, match="one of ccw, cw"):
        make_preset("orbit", {"direction": "up"})
    with pytest.raises(AmgError, match="is unknown"):
        make_preset("spiral")


def test_scene_camera_file_resolves_next_to_the_scene_fits_and_retimes(tmp_path):
    from amg.camera import save_camera_path
    from amg.camera.scene_camera import cameras_for_scene
    from amg.scene import Scene

    # a path built around someone at the origin, 4 s long; the scene's people stand elsewhere
    save_camera_path(make_preset("orbit", {"angle": 90}, Subjects.standing_person(), 4.0), tmp_path / "cam.json")
    scene = Scene.from_dict({"people": [{"id": "a"}], "camera": {"file": "cam.json",
                                                                 "params": {"fit": True, "retime": True}}})
    scene.save(tmp_path / "scene.json")
    scene = Scene.load(tmp_path / "scene.json")
    joints = standing_people(positions=((3.0, -2.0),))
    cams = cameras_for_scene(scene, joints)
    assert len(cams) == FRAMES and (cams[0].width, cams[0].height) == (256, 256)
    centre = Subjects.from_joints(joints).centroid
    off = np.stack([c.position for c in cams]) - centre
    az = np.degrees(np.unwrap(np.arctan2(off[:, 0], off[:, 2])))
    assert az[-1] - az[0] == pytest.approx(90.0, abs=1e-6)  # retimed: the whole orbit in the 16 frames
    for c in cams:
        assert np.allclose(c.project(centre[None])[0][0], [128, 128], atol=1e-6)  # fitted onto the person
    scene.camera.params = {"fit": True, "retmie": True}
    with pytest.raises(AmgError, match="unknown parameter"):
        cameras_for_scene(scene, joints)
    scene.camera.file = "missing.json"
    scene.camera.params = {}
    with pytest.raises(AmgError, match="missing.json: cannot read"):
        cameras_for_scene(scene, joints)


def test_camera_move_between_start_and_end_holds_before_and_after():
    """An orbit told to move only in the middle half of the shot holds still before and after it."""
    from amg.camera.scene_camera import scene_cameras
    from amg.scene import CameraRef

    joints = np.zeros((1, 17, 22, 3))
    joints[..., 1] = np.linspace(0.0, 1.7, 22)  # one standing person at the origin
    full = scene_cameras(CameraRef(preset="orbit", params={"angle": 180}), joints, 64, 64)
    part = scene_cameras(CameraRef(preset="orbit", params={"angle": 180, "start": 0.25, "end": 0.75}), joints, 64, 64)
    eye = np.array([c.position for c in part])
    assert np.allclose(eye[:5], eye[0]) and np.allclose(eye[12:], eye[-1])  # frames 0-4 and 12-16 hold
    assert np.allclose(eye[0], full[0].position) and np.allclose(eye[-1], full[-1].position)
    assert np.linalg.norm(eye[8] - eye[4]) > 0.5  # it moves in between
    with pytest.raises(AmgError, match="start"):
        scene_cameras(CameraRef(preset="orbit", params={"start": 0.8, "end": 0.2}), joints, 64, 64)
