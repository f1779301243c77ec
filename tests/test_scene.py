import json

import pytest

from amg import PRESETS_DIR
from amg.errors import AmgError
from amg.scene import Scene


def _minimal(**extra):
    return {"people": [{"id": "a"}], **extra}


def test_round_trip(tmp_path):
    scene = Scene.load(PRESETS_DIR / "scenes" / "two_people.json")
    path = scene.save(tmp_path / "s.json")
    again = Scene.load(path)
    assert again.model_dump() == scene.model_dump()
    assert json.loads(path.read_text())["format"] == "amg-scene"
    assert again.people[1].placement.heading == -90.0


@pytest.mark.parametrize("data, field", [
    (_minimal(colour="red"), "colour: unknown field"),
    ({"people": [{"id": "a", "placement": {"heading": "left"}}]}, "people[0].placement.heading"),
    ({"people": [{"id": "a", "avatar": {"phenotype": {"age": 3}}}]}, "people[0].avatar.phenotype"),
    ({"people": [{"id": "a", "avatar": {"colors": {"top": "yellow"}}}]}, "people[0].avatar.colors"),
    ({"people": [{}]}, "people[0].id: required field is missing"),
    ({"people": []}, "people"),
    (_minimal(render={"width": 0}), "render.width"),
    (_minimal(render={"height": 100000}), "render.height"),
    (_minimal(render={"width": 250}), "multiple of 8"),
    (_minimal(render={"fps": -1}), "render.fps"),
    (_minimal(version=7), "version"),
    ({"people": [{"id": "a"}, {"id": "a"}]}, "unique"),
    ({"people": "nobody"}, "people"),
    ([1, 2], "a scene must be a JSON object"),
])
def test_bad_fields_are_named(data, field):
    with pytest.raises(AmgError) as err:
        Scene.from_dict(data, "my_scene.json")
    assert "my_scene.json" in str(err.value)
    assert field in str(err.value)


def test_bad_files(tmp_path):
    bad_json = tmp_path / "broken.json"
    bad_json.write_text('{"people": [')
    with pytest.raises(AmgError, match="broken.json: not valid JSON"):
        Scene.load(bad_json)
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"name": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(AmgError, match="not a UTF-8 text file"):
        Scene.load(latin)
    with pytest.raises(AmgError, match="cannot read scene file"):
        Scene.load(tmp_path / "missing.json")


def test_save_is_atomic(tmp_path, monkeypatch):
    """A failed save leaves the previous file intact and no temporary files behind."""
    scene = Scene.from_dict(_minimal())
    path = scene.save(tmp_path / "s.json")
    before = path.read_text()
    monkeypatch.setattr(Scene, "to_json", lambda self: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError):
        scene.save(path)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def test_preset_scenes_load():
    scenes = sorted((PRESETS_DIR / "scenes").glob("*.json"))
    assert len(scenes) >= 2
    for path in scenes:
        scene = Scene.load(path)
        assert scene.people
