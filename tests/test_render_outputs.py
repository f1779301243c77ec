"""`amg render`'s files written chunk by chunk (amg.render.outputs): the files of the whole clip."""

import gc
import weakref

import numpy as np
from PIL import Image

from amg.render import render_chunks, render_scene
from amg.render.frames import sequence_frames
from amg.render.outputs import write_passes
from amg.render.passes import PASSES, depth_pass, passes_from_render
from amg.scene import Scene
from amg.video import read_video, write_mp4

ALL = PASSES + ("pose+depth",)


def _scene() -> Scene:
    # an orbiting camera and a walk: the depth range changes along the clip, so a chunk's own
    # range would give another depth map than the clip's
    return Scene.from_dict({
        "people": [{"id": "woman", "avatar": {"prompt": "a woman in a red dress"}, "motion": {"source": "walk"},
                    "placement": {"x": -0.5}},
                   {"id": "man", "avatar": {"prompt": "a man in a blue shirt"}, "motion": {"source": "wave"},
                    "placement": {"x": 0.5}}],
        "camera": {"preset": "orbit"}, "render": {"frames": 7, "width": 64, "height": 64, "floor": True}})


def _read(folder):
    return np.stack([np.array(Image.open(p)) for p in sorted(folder.glob("*.png"))])


def test_passes_written_in_chunks_are_the_passes_of_the_whole_clip(tmp_path):
    scene = _scene()
    out = write_passes(scene, tmp_path / "c.mp4", ALL, frames_dir=tmp_path / "frames", masks=tmp_path / "m.npz",
                       chunk_frames=3)
    whole = render_scene(scene)
    passes = passes_from_render(whole, ALL)
    per_chunk = np.concatenate([depth_pass(c.depth) for c in render_chunks(scene, chunk_frames=3)])
    assert not np.array_equal(per_chunk, passes["depth"])  # (so the clip's range is what makes them equal)
    # the PNG sequences are lossless: every pass bit for bit, the 16-bit depth too
    expected = sequence_frames(whole, passes, ["woman", "man"])
    assert set(out.folders) == set(expected) and len(expected) == 7
    for name, frames in expected.items():
        np.testing.assert_array_equal(_read(out.folders[name]), frames, err_msg=name)
    # the MP4s decode to what the whole clip's passes, written whole, decode to
    assert list(out.videos) == list(ALL) and (out.frames, out.width, out.height, out.fps) == (7, 64, 64, 8.0)
    for name, frames in passes.items():
        ref = write_mp4(frames, tmp_path / f"ref.{name}.mp4", whole.fps)
        np.testing.assert_array_equal(read_video(out.videos[name])[0], read_video(ref)[0], err_msg=name)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as m:
        assert list(m.keys()) == ["masks", "depth", "person_ids"]
        assert np.array_equal(m["masks"], whole.masks) and np.array_equal(m["depth"], whole.depth)
        assert list(m["person_ids"]) == ["woman", "man"]
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]  # no partial file left


def test_a_long_render_holds_no_more_than_two_chunks(tmp_path, monkeypatch):
    """Streaming, structurally: when a chunk is asked for, every chunk before the last one is gone."""
    from amg.render import outputs

    alive = []

    def watched(*args, **kwargs):
        for chunk in render_chunks(*args, **kwargs):
            gc.collect()
            assert sum(ref() is not None for ref in alive[:-1]) == 0
            alive.append(weakref.ref(chunk.depth))
            yield chunk

    monkeypatch.setattr(outputs, "render_chunks", watched)
    write_passes(_scene(), tmp_path / "c.mp4", ALL, frames_dir=tmp_path / "frames", masks=tmp_path / "m.npz",
                 chunk_frames=2)
    assert len(alive) == 2 * 4  # the depth range's pass, then the writing one
