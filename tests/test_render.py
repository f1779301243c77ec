import numpy as np
import pytest

from amg.render import render_scene
from amg.scene import Scene


def _scene(people, **render):
    return Scene.from_dict({"people": people, "render": {"frames": 8, **render}})


def _person(pid, prompt, source="idle", x=0.0, z=0.0, heading=0.0):
    return {"id": pid, "avatar": {"prompt": prompt}, "motion": {"source": source},
            "placement": {"x": x, "z": z, "heading": heading}}


@pytest.fixture(scope="module")
def two_people():
    scene = _scene([_person("a", "a man in a blue shirt and grey trousers", x=-0.6),
                    _person("b", "a woman in a red shirt and black trousers", x=0.6)])
    return scene, render_scene(scene)


def test_outputs_have_the_documented_shapes(two_people):
    scene, out = two_people
    assert out.rgb.shape == (8, 256, 256, 3) and out.rgb.dtype == np.uint8
    assert out.masks.shape == (8, 2, 256, 256) and out.masks.dtype == bool
    assert out.depth.shape == (8, 256, 256) and len(out.cameras) == 8
    assert out.joints.shape == (2, 8, 22, 3)


def test_mask_centroids_sit_on_the_projected_pelvis(two_people):
    _, out = two_people
    for t in range(out.rgb.shape[0]):
        for p in range(2):
            ys, xs = np.nonzero(out.masks[t, p])
            centroid = np.array([xs.mean(), ys.mean()]) + 0.5  # pixel centres
            uv, depth = out.cameras[t].project(out.joints[p, t, :1])
            assert depth[0] > 0
            assert np.linalg.norm(centroid - uv[0]) < 3.0, (t, p, centroid, uv[0])


def test_background_is_exactly_black_and_people_are_not(two_people):
    _, out = two_people
    anyone = out.masks.any(axis=1)
    assert (out.rgb[~anyone] == 0).all()
    assert (out.rgb[anyone].max(axis=-1) > 0).mean() > 0.99
    assert np.isinf(out.depth[~anyone]).all() and np.isfinite(out.depth[anyone]).all()


def test_nearer_person_wins_where_people_overlap():
    near = _person("near", "a man in a green shirt", x=0.15, z=0.8)
    far = _person("far", "a woman in a red shirt", x=-0.15, z=-0.8)
    from amg.motion.library import scene_motion
    from amg.render.rasterizer import rasterize
    from amg.render.scene_render import scene_avatars

    scene = _scene([near, far], frames=2)
    both = render_scene(scene)
    # each person alone, from the same cameras: where both would be seen, the nearer must win
    avatars = scene_avatars(scene)
    c2w = np.stack([c.c2w for c in both.cameras])
    fov = np.array([c.fov_y_deg for c in both.cameras])
    solo_masks, solo_depth = [], []
    for person, avatar in zip(scene.people, avatars):
        posed = avatar.pose(scene_motion(person, scene, 2, scene.render.fps))
        r = rasterize([m[0] for m in posed.meshes], [m[1] for m in posed.meshes], [m[2] for m in posed.meshes],
                      c2w, fov, 256, 256)
        solo_masks.append(r.ids > 0)
        solo_depth.append(r.depth)
    overlap = solo_masks[0] & solo_masks[1]
    assert overlap.sum() > 200, "the test scene must make the people overlap"
    nearer_is_0 = solo_depth[0] < solo_depth[1]
    assert (both.masks[:, 0][overlap] == nearer_is_0[overlap]).all()
    assert nearer_is_0[overlap].mean() > 0.95  # the person placed in front is in front


def test_frames_change_when_the_motion_does():
    walk = render_scene(_scene([_person("w", "a man", source="walk")]))
    diffs = [np.abs(walk.rgb[t + 1].astype(int) - walk.rgb[t]).mean() for t in range(7)]
    assert min(diffs) > 0.1
    still = render_scene(_scene([_person("s", "a man", source="idle")]))
    assert max(np.abs(still.rgb[t + 1].astype(int) - still.rgb[t]).mean() for t in range(7)) < min(diffs)


def test_floor_grid_and_sizes():
    scene = _scene([_person("a", "a man")], floor=True, width=512, height=384)
    out = render_scene(scene, frames=1)
    assert out.rgb.shape == (1, 384, 512, 3)
    floor_pixels = out.rgb[0][~out.masks[0, 0]]
    assert (floor_pixels.max(axis=-1) > 40).mean() > 0.02  # grid lines are drawn


def test_chunks_joined_are_the_whole_render():
    """render_chunks streams a shot a few frames at a time (the cameras still frame the people over
    the whole shot, from their joints alone); joined, the chunks are render_scene's result, bit for bit."""
    from amg.render import render_chunks, scene_joints

    scene = Scene.from_dict({"people": [_person("a", "a woman in a red dress", "walk", x=-0.5),
                                        _person("b", "a man in a blue shirt", "wave", x=0.5)],
                             "camera": {"preset": "orbit"},
                             "render": {"frames": 7, "width": 64, "height": 64, "floor": True}})
    whole = render_scene(scene)
    parts = list(render_chunks(scene, chunk_frames=3))
    assert [len(p.rgb) for p in parts] == [3, 3, 1]
    for key in ("rgb", "masks", "depth"):
        assert np.array_equal(np.concatenate([getattr(p, key) for p in parts]), getattr(whole, key)), key
    for key in ("joints", "face_points"):
        assert np.array_equal(np.concatenate([getattr(p, key) for p in parts], axis=1), getattr(whole, key)), key
    assert np.array_equal(np.stack([c.c2w for p in parts for c in p.cameras]), np.stack([c.c2w for c in whole.cameras]))
    assert np.array_equal(scene_joints(scene), whole.joints)  # (what the app's camera export needs: no frames)


def test_render_to_mp4(tmp_path, two_people):
    from amg.video import read_video, write_mp4

    _, out = two_people
    path = write_mp4(out.rgb, tmp_path / "cond.mp4", out.fps)
    frames, fps = read_video(path)
    assert frames.shape == out.rgb.shape and fps == pytest.approx(8.0)
    assert np.abs(frames.astype(int) - out.rgb).mean() < 6  # H.264 is lossy, but close


def test_missing_egl_names_the_system_packages(monkeypatch):
    import moderngl

    from amg.errors import AmgError
    from amg.render import rasterizer

    def no_egl(**kwargs):
        raise Exception("libEGL.so.1: cannot open shared object file")

    monkeypatch.setattr(rasterizer._GL, "_instance", None)
    monkeypatch.setattr(moderngl, "create_standalone_context", no_egl)
    with pytest.raises(AmgError, match="apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri"):
        rasterizer.rasterize([np.zeros((1, 3, 3))], [np.array([[0, 1, 2]])], [np.ones((3, 3))],
                             np.eye(4)[None], np.array([40.0]), 32, 32)


def test_renders_from_any_thread():
    """EGL contexts are thread-bound: the rasteriser runs all GL work on its own thread."""
    import threading

    scene = _scene([_person("a", "a man")], frames=2, width=64, height=64)
    expected = render_scene(scene).rgb
    results = []
    threads = [threading.Thread(target=lambda: results.append(render_scene(scene).rgb)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and all(np.array_equal(r, expected) for r in results)
