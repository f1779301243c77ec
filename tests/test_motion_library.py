"""The preset library, scene motions, text search and the `amg motion` command."""

from __future__ import annotations

import numpy as np
import pytest

from amg.cli import main
from amg.errors import AmgError
from amg.motion import edit
from amg.motion.formats import load_motion_file
from amg.motion.library import list_presets, load_preset, scene_motion
from amg.motion.motion import JOINT_INDEX as J
from amg.scene import MotionRef, Person, Placement, Scene

REQUIRED = ["idle", "walk", "run", "jump", "boxing", "fencing", "kick", "latin_dance", "breakdance", "wave", "clap",
            "sit_down", "bow", "handshake", "high_five", "boxing_sparring", "partner_dance", "hug"]
PAIRS = ["handshake", "high_five", "boxing_sparring", "partner_dance", "hug"]
TWO_PEOPLE = PAIRS + ["walk_handshake"]  # the captured handshake has a keyframed partner


def test_library_covers_the_issue_and_every_preset_loads():
    presets = {p.name: p for p in list_presets()}
    assert set(REQUIRED) <= set(presets)
    for p in presets.values():
        assert p.description and p.tags and p.credit, p.name
        assert p.path.stat().st_size < 150_000, f"{p.name} is not small"
        motions = load_preset(p.name)
        assert len(motions) == p.people == (2 if p.name in TWO_PEOPLE else 1)
        assert all(m.fps == 30 and abs(m.duration - p.duration) < 1e-3 for m in motions)
        for m in motions:
            soles = edit.sole_heights(m)
            assert abs(soles.min()) < 0.005, f"{p.name}: stands on the floor"
    assert "mocap.cs.cmu.edu" in presets["walk"].credit and "CC BY 4.0" in presets["breakdance"].credit


def test_a_foot_stays_on_the_floor_unless_the_motion_leaves_it():
    """Standing, walking and dancing presets never float: some sole is within 2 cm of the
    floor in every frame (runs, jumps, hops and the fencing lunge leave it on purpose)."""
    airborne = ("run", "jump", "hop", "fencing")
    for p in list_presets():
        if p.name.startswith(airborne):
            continue
        for m in load_preset(p.name):
            low = edit.sole_heights(m).min(1)
            assert low.max() < 0.02, f"{p.name}: both feet {low.max():.3f} m above the floor at {low.argmax() / m.fps:.2f} s"


def test_a_jump_keeps_the_arms_raised_in_the_air():
    m = load_preset("jump_arms_up")[0]
    j = edit.joints(m)
    arms_up = (j[:, [J["left_wrist"], J["right_wrist"]], 1] > j[:, [J["head"]], 1] + 0.1).all(1)
    airborne = edit.sole_heights(m).min(1) > 0.1
    assert (arms_up & airborne).sum() >= 5


@pytest.mark.parametrize("name", PAIRS)
def test_pairs_face_each_other_and_touch(name):
    a, b = load_preset(name)
    assert a.num_frames == b.num_frames
    ja, jb = edit.joints(a), edit.joints(b)
    gap = jb[:, 0, 2] - ja[:, 0, 2]
    assert (gap > 0.2).all(), "A stays in front of B (no passing through)"
    assert abs(edit.facing_yaw(a)) < 30 and abs(abs(edit.facing_yaw(b)) - 180) < 30
    hands = [J["left_wrist"], J["right_wrist"]]
    if name in ("handshake", "high_five", "hug", "partner_dance"):
        # some hand of each partner comes within reach of the other's hand or body
        near = np.linalg.norm(ja[:, hands, None] - jb[:, None, :], axis=-1).min()
        assert near < 0.2, f"{name}: closest hand-to-partner distance {near:.2f} m"


def test_captured_handshake_has_a_partner_who_follows_the_hand():
    """CMU 18_01 is one side of a handshake; the keyframed partner meets its right hand
    while it is held out and follows each shake up and down."""
    a, b = load_preset("walk_handshake")
    wa, wb = edit.joints(a)[:, J["right_wrist"]], edit.joints(b)[:, J["right_wrist"]]
    gap = np.linalg.norm(wa - wb, axis=1)
    shake = slice(round(2.5 * a.fps), round(7.0 * a.fps))
    assert gap[shake].max() < 0.25, f"hands apart by {gap[shake].max():.2f} m while shaking"
    assert gap[:round(0.5 * a.fps)].min() > 0.5 and gap[round(8.5 * a.fps):].min() > 0.5
    assert np.corrcoef(wa[shake, 1], wb[shake, 1])[0, 1] > 0.8, "the partner's hand moves with the shake"
    assert np.linalg.norm(a.transl[shake][:, [0, 2]] - b.transl[shake][:, [0, 2]], axis=1).min() > 0.6


def _scene(**motion) -> Scene:
    return Scene(people=[Person(id="p0", motion=MotionRef(**motion), placement=Placement(x=1.0, z=-0.5, heading=90))])


def test_scene_motion_applies_trim_speed_mirror_loop_and_placement():
    base = load_preset("wave")[0]
    s = _scene(source="wave", start=0.5, end=1.5, speed=2.0, loop=False, mirror=True)
    m = scene_motion(s.people[0], s, num_frames=20, fps=10.0)
    assert m.num_frames == 20 and m.fps == 10.0 and m.name == "p0"
    ref = edit.place(edit.mirror(edit.speed(edit.trim(edit.ground(base), 0.5, 1.5), 2.0)), 1.0, -0.5, 90)
    np.testing.assert_allclose(edit.joints(m)[:6], edit.joints(ref.at_fps(10.0, 6)), atol=1e-6)
    np.testing.assert_allclose(m.body_pose[-1], m.body_pose[6], atol=1e-9)  # 0.5 s of clip: then held
    assert abs(edit.facing_yaw(m) - 90) < 25


def test_scene_motion_of_a_pair_keeps_the_partners_apart(tmp_path):
    scene = Scene(people=[Person(id="a", motion=MotionRef(source="hug", person=0)),
                          Person(id="b", motion=MotionRef(source="hug", person=1))])
    a, b = (scene_motion(p, scene, 16, 8.0) for p in scene.people)
    assert abs(b.transl[0, 2] - a.transl[0, 2]) > 0.8  # they start apart and walk in
    with pytest.raises(AmgError, match="person 2 requested.*2 people"):
        scene_motion(Person(id="c", motion=MotionRef(source="hug", person=2)), scene, 4, 8.0)


def test_scene_motion_from_a_file_relative_to_the_scene(tmp_path, samples_dir):
    src = samples_dir / "mocap" / "141_16.bvh"
    (tmp_path / "moves").mkdir()
    (tmp_path / "moves" / "wave.bvh").write_bytes(src.read_bytes())
    scene = _scene(source="moves/wave.bvh")
    scene.save(tmp_path / "scene.json")
    loaded = Scene.load(tmp_path / "scene.json")
    m = scene_motion(loaded.people[0], loaded, 8, 8.0)
    assert m.num_frames == 8
    bad = _scene(source="moves/nothing.bvh")
    with pytest.raises(AmgError, match="neither a preset"):
        scene_motion(bad.people[0], bad, 8, 8.0)


def test_search_ranks_by_meaning():
    from amg.motion.search import search

    assert search("two people boxing")[0][0].name == "boxing_sparring"
    assert search("a couple dancing a waltz")[0][0].name == "partner_dance"
    assert search("someone greets by waving the hand")[0][0].name == "wave"
    assert search("a person sits on a chair")[0][0].name == "sit_down"
    top = [p.name for p, _ in search("two friends greet each other", limit=3)]
    assert set(top) <= set(TWO_PEOPLE)


def test_keyword_fallback():
    from amg.motion.search import search

    ranked = search("two people boxing", use_embeddings=False)
    assert ranked[0][0].name == "boxing_sparring"
    assert search("jog", use_embeddings=False)[0][0].name.startswith("run")
    with pytest.raises(AmgError, match="empty"):
        search("  ")


def test_text_to_motion_plugin_point(tmp_path, samples_dir):
    from amg.motion.text2motion import CommandGenerator, register_generator, text_to_motion

    joints = np.load(samples_dir / "motion" / "humanml3d_new_joints_012314.npy")[:30]
    register_generator("fixture", lambda prompt, people, seconds: np.stack([joints] * people))
    pair = text_to_motion("two people walk", people=2, generator="fixture")
    assert len(pair) == 2 and pair[0].num_frames == 30
    np.save(tmp_path / "gen.npy", joints)
    cmd = CommandGenerator(f"cp {tmp_path / 'gen.npy'} {{out}}")
    assert text_to_motion("walk", generator=cmd)[0].num_frames == 30
    assert text_to_motion("two people hugging", people=2)[0].meta["preset"] == "hug"  # library fallback


# ---- the command -------------------------------------------------------------------------
def test_cli_import_export_joints(tmp_path, samples_dir, capsys):
    out = tmp_path / "walk.npz"
    assert main(["motion", "import", str(samples_dir / "mocap" / "16_11.bvh"), "-o", str(out), "--fps", "30"]) == 0
    m = load_motion_file(out)[0]
    assert m.fps == 30 and abs(edit.sole_heights(m).min()) < 1e-4
    assert main(["motion", "export", str(out), "-o", str(tmp_path / "walk.bvh")]) == 0
    assert main(["motion", "export", str(out), "-o", str(tmp_path / "amass.npz")]) == 0
    back = load_motion_file(tmp_path / "amass.npz")[0]
    np.testing.assert_allclose(edit.joints(back), edit.joints(m), atol=1e-4)
    assert main(["motion", "joints", "handshake", "-o", str(tmp_path / "j.npy")]) == 0
    assert np.load(tmp_path / "j.npy").shape == (2, load_preset("handshake")[0].num_frames, 22, 3)
    assert main(["motion", "list"]) == 0
    assert main(["motion", "search", "two people boxing", "-n", "2", "--keywords"]) == 0
    text = capsys.readouterr().out
    assert "boxing_sparring" in text and "latin_dance" in text


def test_cli_bad_input_keeps_existing_output(tmp_path, capsys):
    out = tmp_path / "kept.npz"
    assert main(["motion", "import", "idle", "-o", str(out)]) == 2  # not a file
    out.write_bytes(b"precious")
    np.save(tmp_path / "feats.npy", np.zeros((10, 263)))
    assert main(["motion", "import", str(tmp_path / "feats.npy"), "-o", str(out)]) == 2
    assert out.read_bytes() == b"precious"
    err = capsys.readouterr().err
    assert "263" in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["walk", "run"])
def test_locomotion_presets_loop_without_a_jump(name):
    m = load_preset(name)[0]
    rel = edit.joints(m) - edit.joints(m)[:, :1]
    step = np.linalg.norm(np.diff(rel, axis=0), axis=-1).mean(1)  # normal frame-to-frame change
    seam = np.linalg.norm(rel[-1] - rel[0], axis=-1).mean()
    assert seam < 3 * np.median(step) + 0.02, f"loop seam {seam:.3f} m"
    scene = Scene(people=[Person(id="p", motion=MotionRef(source=name, loop=True))])
    looped = scene_motion(scene.people[0], scene, num_frames=int(3 * m.duration * 30), fps=30.0)
    travel = np.linalg.norm(np.diff(looped.transl[:, [0, 2]], axis=0), axis=1)
    assert travel.max() < 0.25 and looped.transl[-1, 2] > 2 * (m.transl[-1, 2] - m.transl[0, 2])


@pytest.mark.parametrize("name", ["walk", "walk_stride", "walk_veer_left", "walk_styled", "run", "run_fast",
                                  "jump", "hop", "wave"])
def test_captured_people_look_ahead_with_an_upright_chest(name):
    """People walking and running look ahead (measured before issue 16: head 30 degrees up in
    walk, 37 in run; chest 15 up in walk). An idle person looks -3, an AMASS stander +6."""
    m = load_preset(name)
    m = m[0] if isinstance(m, list) else m
    head, chest = edit.gaze_elevation(m, "head"), edit.gaze_elevation(m, "spine3")
    assert -12 < head.mean() < 8, head.mean()
    assert -25 < chest.mean() < 8, chest.mean()  # upright, or leaning into the run


def test_bvh_torso_retargeted_by_world_orientation(samples_dir):
    """The chest faces where the rig's chest faces (aligning spine bones pitched it up 10-19 degrees)."""
    from pathlib import Path

    from amg.motion.formats import bvh

    path = samples_dir / "mocap" / "02_01.bvh"
    m = load_motion_file(path)[0]
    rig = bvh._Rig(Path(path))
    rots, _ = rig.world()
    chest = rots[:, rig.names.index("chest")] @ np.array([0.0, 0.0, 1.0])  # this rig: Y up, facing +Z
    assert np.allclose(edit.gaze_elevation(m, "spine3"), np.degrees(np.arcsin(chest[:, 1])), atol=0.5)
    levelled = edit.level_gaze(m, -3.0)
    assert abs(edit.gaze_elevation(levelled).mean() + 3.0) < 0.1
    assert np.array_equal(levelled.body_pose.reshape(-1, 21, 3)[:, :14], m.body_pose.reshape(-1, 21, 3)[:, :14])
