import numpy as np
import pytest

from amg.avatar import build_avatar, build_avatars, parse_appearance
from amg.colors import rgb_to_hex
from amg.camera import Camera, look_at
from amg.motion import Motion
from amg.motion.motion import JOINT_INDEX as J
from amg.render.rasterizer import rasterize
from amg.scene import AvatarSpec

WOMAN = "A woman wearing a bright yellow dress with a round neckline, sleeveless, flowing just above her knees"
MAN = "A man wearing a white dress shirt and dark pants"


def _arms_down() -> Motion:
    m = Motion.rest(1)
    pose = m.body_pose.copy()
    pose[0, (J["left_shoulder"] - 1) * 3 + 2] = -1.25
    pose[0, (J["right_shoulder"] - 1) * 3 + 2] = 1.25
    return Motion(m.global_orient, pose, m.transl, fps=8)


def _front_view(avatar, size=256):
    """Render the avatar from the front; returns rgb (H, W, 3), id mask, camera, joints."""
    posed = avatar.pose(_arms_down())
    cam = Camera(look_at([0, 0.9, 3.6], [0, 0.9, 0]), 40.0, size, size)
    out = rasterize([m[0] for m in posed.meshes], [m[1] for m in posed.meshes], [m[2] for m in posed.meshes],
                    cam.c2w[None], np.array([40.0]), size, size, mesh_ids=[1] * len(posed.meshes))
    return out.rgb[0], out.ids[0] > 0, cam, posed.joints[0]


def _colour_at(rgb, cam, point):
    uv, _ = cam.project(np.asarray(point)[None])
    x, y = np.round(uv[0]).astype(int)
    return rgb[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3).mean(0) / 255.0


def _is_yellow(c):
    return c[0] > 0.55 and c[1] > 0.45 and c[2] < 0.25


def test_paper_prompts_parse():
    woman, man = parse_appearance(WOMAN), parse_appearance(MAN)
    assert woman.phenotype["gender"] == 1.0 and woman.lower == "dress" and woman.sleeves == "none"
    assert woman.hem < 1.0  # above the knees
    assert man.phenotype["gender"] == 0.0 and man.lower == "trousers" and man.sleeves == "long"
    assert rgb_to_hex(man.top) == "#ededeb" and np.mean(man.bottom) < 0.25


def test_paper_prompts_paint_the_right_regions():
    woman = build_avatar(AvatarSpec(prompt=WOMAN))
    rgb, mask, cam, joints = _front_view(woman)
    torso = joints[J["spine2"]] + [0, 0, 0.12]
    skirt = 0.5 * (joints[J["left_hip"]] + joints[J["left_knee"]]) + [0, 0, 0.16]
    assert _is_yellow(_colour_at(rgb, cam, torso)), _colour_at(rgb, cam, torso)
    assert _is_yellow(_colour_at(rgb, cam, skirt)), _colour_at(rgb, cam, skirt)
    shin = 0.5 * (joints[J["left_knee"]] + joints[J["left_ankle"]]) + [0, 0, 0.05]
    assert not _is_yellow(_colour_at(rgb, cam, shin))  # bare legs below the hem

    man = build_avatar(AvatarSpec(prompt=MAN), index=1)
    rgb, mask, cam, joints = _front_view(man)
    top = _colour_at(rgb, cam, joints[J["spine2"]] + [0, 0, 0.12])
    leg = _colour_at(rgb, cam, 0.5 * (joints[J["left_knee"]] + joints[J["left_ankle"]]) + [0, 0, 0.06])
    assert top.min() > 0.6, top  # white (lit) shirt
    assert leg.max() < 0.3, leg  # dark trousers


def test_dress_silhouette_differs_from_trousers():
    """At mid-thigh height a dress spans both legs and more; trousers leave a gap between them."""
    def thigh_row(prompt):
        _, mask, cam, joints = _front_view(build_avatar(AvatarSpec(prompt=prompt)))
        y = int(round(cam.project((0.5 * (joints[J["left_hip"]] + joints[J["left_knee"]]))[None])[0][0, 1]))
        row = mask[y]
        xs = np.flatnonzero(row)
        return row[xs.min():xs.max() + 1], xs.max() - xs.min()

    dress_row, dress_width = thigh_row("a woman in a red dress")
    trouser_row, trouser_width = thigh_row("a woman in red trousers")
    assert dress_row.all()  # one closed shape
    assert not trouser_row.all()  # a gap between the legs
    assert dress_width > trouser_width * 1.15


def test_explicit_controls_override_the_prompt():
    spec = AvatarSpec(prompt=MAN, colors={"top": "#ff0000"}, phenotype={"gender": 1.0}, garment="skirt")
    a = build_avatar(spec)
    assert rgb_to_hex(a.appearance.top) == "#ff0000"
    assert a.appearance.phenotype["gender"] == 1.0 and a.appearance.lower == "skirt"


def test_two_people_are_always_distinct():
    same = [AvatarSpec(prompt=MAN), AvatarSpec(prompt=MAN)]
    a, b = build_avatars(same)
    assert not np.allclose(a.colors, b.colors, atol=0.1)
    plain = build_avatars([AvatarSpec(), AvatarSpec(), AvatarSpec()])
    for i in range(3):
        for k in range(i):
            assert np.abs(plain[i].colors - plain[k].colors).max() > 0.2


def test_glb_export_reloads_with_vertex_colours(tmp_path):
    import trimesh

    avatar = build_avatar(AvatarSpec(prompt=WOMAN))
    path = avatar.export_glb(tmp_path / "woman.glb")
    loaded = trimesh.load(path, force="mesh")
    colours = loaded.visual.vertex_colors[:, :3] / 255.0
    assert len(loaded.vertices) == sum(len(m[0][0]) for m in avatar.pose(Motion.rest(1)).meshes)
    assert any(_is_yellow(c) for c in colours[:: 50])
    assert loaded.bounds[0][1] == pytest.approx(0.0, abs=1e-3)  # grounded
