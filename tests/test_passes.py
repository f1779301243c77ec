"""Control passes: depth near = bright, OpenPose skeletons on the projected joints, masks = the RGB's people."""

import numpy as np
import pytest

from amg.errors import AmgError
from amg.render import render_scene
from amg.render.passes import (COLORS, FACE_KEYPOINTS, PASSES, check_passes, openpose_keypoints, pass_paths,
                               passes_from_render, project_keypoints, reference_images, render_passes)
from amg.scene import Scene


def _person(pid, prompt, source="idle", x=0.0, z=0.0, heading=0.0):
    return {"id": pid, "avatar": {"prompt": prompt}, "motion": {"source": source},
            "placement": {"x": x, "z": z, "heading": heading}}


def _scene(people, **render):
    return Scene.from_dict({"people": people, "render": {"frames": 3, **render}})


@pytest.fixture(scope="module")
def overlapping():
    """Two people, one in front of the other, seen overlapping."""
    scene = _scene([_person("near", "a man in a green shirt", x=0.15, z=0.8),
                    _person("far", "a woman in a red shirt", x=-0.15, z=-0.8)])
    result = render_scene(scene)
    return scene, result, passes_from_render(result, PASSES + ("pose+depth",))


def test_every_pass_is_a_video_of_the_render_size(overlapping):
    _, result, passes = overlapping
    assert list(passes) == ["rgb", "depth", "pose", "mask", "pose+depth"]
    for name, frames in passes.items():
        assert frames.shape == (3, 256, 256, 3) and frames.dtype == np.uint8, name
        assert frames.max() > 0, name
    assert result.face_points.shape == (2, 3, 5, 3)


def test_depth_nearer_person_is_brighter_where_they_overlap(overlapping):
    _, result, passes = overlapping
    depth = passes["depth"][..., 0].astype(int)
    near, far = result.masks[:, 0], result.masks[:, 1]
    assert near.sum() > 500 and far.sum() > 500
    # the two silhouettes touch: along their border the near person's pixels are brighter
    border_far = far & np.roll(near, 1, axis=2) | far & np.roll(near, -1, axis=2)
    assert border_far.sum() > 20, "the test scene must make the people overlap"
    assert depth[near].min() > depth[far].max()
    assert (depth[~(near | far)] == 0).all()
    assert depth[near].max() == 255  # the nearest surface of the clip is white
    # near = bright follows the depth buffer pixel by pixel
    seen = np.isfinite(result.depth)
    order = np.argsort(result.depth[seen])
    assert (np.diff(depth[seen][order]) <= 0).all()


def test_skeleton_joints_lie_within_2px_of_the_projected_joints():
    scene = _scene([_person("a", "a man in a blue shirt", source="wave", heading=20)], width=512, height=512,
                   frames=2)
    result = render_scene(scene)
    pose = passes_from_render(result, ["pose"])["pose"]
    uv, visible = project_keypoints(openpose_keypoints(result.joints, result.face_points), result.cameras)
    # the SMPL joints themselves, through the scene camera
    body = {2: 17, 3: 19, 4: 21, 5: 16, 6: 18, 7: 20, 8: 2, 9: 5, 10: 8, 11: 1, 12: 4, 13: 7}
    checked = 0
    for t in range(2):
        for k, j in body.items():
            xy, _ = result.cameras[t].project(result.joints[0, t, j])
            assert np.linalg.norm(uv[0, t, k] - xy[0]) < 1e-6
        for k in range(18):
            if not visible[0, t, k] or k in FACE_KEYPOINTS[1:]:  # eyes/ears: their dots overlap at this size
                continue
            ys, xs = np.nonzero((pose[t] == COLORS[k]).all(axis=-1))  # the keypoint's full-colour dot
            assert len(xs) > 3, (t, k)
            centre = np.array([xs.mean(), ys.mean()]) + 0.5
            assert np.linalg.norm(centre - uv[0, t, k]) < 2.0, (t, k, centre, uv[0, t, k])
            checked += 1
    assert checked >= 26


def test_face_points_follow_the_head():
    """Turned 90 degrees to the left (heading +90: facing +X), the nose is in front of the ears along +X."""
    scene = _scene([_person("a", "a woman", heading=90.0)], frames=1)
    face = render_scene(scene).face_points[0, 0]  # nose, r eye, l eye, r ear, l ear
    assert face[0, 0] > face[3, 0] + 0.05 and face[0, 0] > face[4, 0] + 0.05
    assert face[1, 0] > face[3, 0] and face[2, 0] > face[4, 0]
    assert face[4, 2] < face[3, 2] - 0.08  # her left ear is towards -Z when facing +X


def test_masks_match_the_rgb_people_exactly(overlapping):
    _, result, passes = overlapping
    people_in_rgb = passes["rgb"].any(axis=-1)  # black background, no floor
    assert np.array_equal(passes["mask"][..., 0] == 255, people_in_rgb)
    assert set(np.unique(passes["mask"])) == {0, 255}


def test_pose_plus_depth_keeps_the_skeleton_over_the_depth(overlapping):
    _, _, passes = overlapping
    drawn = passes["pose"].any(axis=-1)
    assert np.array_equal(passes["pose+depth"][drawn], passes["pose"][drawn])
    assert np.array_equal(passes["pose+depth"][~drawn], passes["depth"][~drawn])


def test_reference_images_show_each_avatar_on_white(overlapping):
    scene, _, _ = overlapping
    refs = reference_images(scene, 128, 160)
    assert refs.shape == (2, 160, 128, 3)
    for r in refs:
        assert (r[0, 0] == 255).all() and (r[-1, -1] == 255).all()
        body = (r != 255).any(axis=-1)
        ys, xs = np.nonzero(body)
        assert ys.min() < 20 and ys.max() > 140  # fills the height
        assert abs(xs.mean() - 64) < 10  # centred
    assert np.abs(refs[0].astype(int) - refs[1]).mean() > 5  # two different people


def test_pass_names_and_paths(tmp_path):
    assert check_passes("rgb, depth") == ("rgb", "depth")
    with pytest.raises(AmgError, match="passes: normals; choose from"):
        check_passes("rgb,normals")
    with pytest.raises(AmgError, match="twice"):
        check_passes(["pose", "pose"])
    paths = pass_paths(tmp_path / "out.mp4", ("rgb", "depth", "pose+depth"))
    assert [p.name for p in paths.values()] == ["out.mp4", "out.depth.mp4", "out.pose+depth.mp4"]
