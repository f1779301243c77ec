"""Shots of any shape (issue 18): aspect ratios at the sizes each video model takes, people framed in
each; per-person time offsets; which part of a clip a shot plays."""

from __future__ import annotations

import numpy as np
import pytest

from amg.motion.timeline import clip_use
from amg.scene import ASPECTS, SIZE_RULES, CameraRef, MotionRef, Person, Placement, RenderSettings, Scene


def test_each_family_has_a_size_for_each_aspect():
    assert SIZE_RULES["modelscope"].size_for("1:1") == (256, 256)
    assert SIZE_RULES["wan2.1"].size_for("16:9") == (832, 480)  # Wan's own 480p size
    assert SIZE_RULES["wan2.1"].size_for("9:16") == (480, 832)
    for family, rule in SIZE_RULES.items():
        for aspect in ASPECTS:
            w, h = rule.size_for(aspect)
            rule.check(family, rule.frames, h, w)  # a size the model takes
            a, b = (int(v) for v in aspect.split(":"))
            assert abs(w / h - a / b) < 0.04 * a / b, (family, aspect, w, h)


def _framed(masks: np.ndarray, margin: int = 1) -> list[str]:
    """Problems with people's masks (T, P, H, W): someone missing or touching the frame's edge."""
    problems = []
    t, p, h, w = masks.shape
    for i in range(p):
        for f in range(t):
            ys, xs = np.nonzero(masks[f, i])
            if len(ys) == 0:
                problems.append(f"person {i} frame {f}: not in view")
            elif ys.min() < margin or xs.min() < margin or ys.max() >= h - margin or xs.max() >= w - margin:
                problems.append(f"person {i} frame {f}: cut by the frame's edge")
    return problems


@pytest.mark.parametrize("aspect", ASPECTS)
@pytest.mark.parametrize("preset", ["static", "orbit"])
def test_every_aspect_ratio_renders_with_the_people_framed(aspect, preset):
    """Two people 2.4 m apart, one of them as tall as the body model goes, in every shape of shot."""
    from amg.render import render_scene

    w, h = SIZE_RULES["modelscope"].size_for(aspect, short_side=96)
    tall = Person(id="tall", avatar={"prompt": "a very tall man", "phenotype": {"height": 1.0}},
                  motion=MotionRef(source="idle"), placement=Placement(x=-1.2))
    other = Person(id="other", motion=MotionRef(source="wave"), placement=Placement(x=1.2))
    scene = Scene(people=[tall, other], camera=CameraRef(preset=preset),
                  render=RenderSettings(width=w, height=h, frames=3, fps=4))
    out = render_scene(scene)
    assert out.rgb.shape[1:3] == (h, w)
    assert not _framed(out.masks), _framed(out.masks)[:4]
    # and the people fill the shot: not framed from far away (the taller of height / width used)
    ys, xs = np.nonzero(out.masks[0].any(0))
    assert (ys.max() - ys.min()) / h > 0.35 or (xs.max() - xs.min()) / w > 0.6


def test_a_time_offset_holds_the_first_pose_then_plays():
    from amg.motion.library import scene_motion

    base = Scene(people=[Person(id="a", motion=MotionRef(source="wave", loop=False))],
                 render=RenderSettings(frames=9, fps=8))
    late = base.model_copy(deep=True)
    late.people[0].motion.offset = 0.5
    m0, m1 = (scene_motion(s.people[0], s, 9, 8.0) for s in (base, late))
    assert np.allclose(m1.body_pose[:5], m0.body_pose[0])  # 0.5 s at 8 fps: frames 0-4 hold the first pose
    assert np.allclose(m1.body_pose[4:], m0.body_pose[:5])
    early = base.model_copy(deep=True)
    early.people[0].motion.offset = -0.25
    m2 = scene_motion(early.people[0], early, 9, 8.0)
    assert np.allclose(m2.body_pose[:7], m0.body_pose[2:])  # starts 2 frames into the clip


def test_clip_use_after_trim_speed_offset_and_loop():
    use = clip_use(duration=5.0, start=1.0, end=3.0, speed=1.0, loop=True, offset=0.0, frames=41, fps=8.0)
    assert use.played == [(1.0, 3.0), (1.0, 3.0), (1.0, 2.0)] and use.cycles == pytest.approx(2.5)
    use = clip_use(duration=5.0, start=0.0, end=None, speed=2.0, loop=False, offset=0.5, frames=33, fps=8.0)
    assert use.played == [(0.0, 5.0)] and use.hold_before == 0.5 and use.hold_after == pytest.approx(1.0)
    assert "waits 0.5 s" in use.summary() and "last 1.0 s" in use.summary()
    use = clip_use(duration=1.0, start=0.0, end=None, speed=1.0, loop=False, offset=3.0, frames=16, fps=8.0)
    assert use.played == [] and "whole shot" in use.summary()


def test_the_scene_view_draws_the_camera_path_and_a_frustum_riding_on_the_camera(tmp_path):
    """The app's whole-scene 3D view: every person, the camera's path as a line through its
    positions, and its frustum as lines under the animated camera node (so it moves with it)."""
    import pygltflib

    from amg.export import export_scene

    scene = Scene(people=[Person(id="a"), Person(id="b", placement=Placement(x=1.0))],
                  camera=CameraRef(preset="orbit"), render=RenderSettings(width=96, height=64, frames=5, fps=4))
    export_scene(scene, tmp_path / "view.glb", floor=False, camera_gizmo=0.4)
    doc = pygltflib.GLTF2().load(str(tmp_path / "view.glb"))
    names = [m.name for m in doc.meshes]
    assert names[:2] == ["a", "b"] and "floor" not in names
    path = doc.meshes[names.index("camera path")].primitives[0]
    assert path.mode == pygltflib.LINE_STRIP and doc.accessors[path.attributes.POSITION].count == 5
    cam = next(n for n in doc.nodes if n.camera is not None)
    frustum = doc.nodes[cam.children[0]]
    assert frustum.name == "camera frustum" and doc.meshes[frustum.mesh].primitives[0].mode == pygltflib.LINES
    hi = doc.accessors[doc.meshes[frustum.mesh].primitives[0].attributes.POSITION].max
    assert hi[0] / hi[1] == pytest.approx(96 / 64, rel=0.3)  # the shot's shape (the up-triangle is taller)
