"""The ComfyUI node package (amg_comfyui/), loaded the way ComfyUI loads custom nodes, without ComfyUI."""

import importlib.util
import json
import os
import sys

import numpy as np
import pytest
import torch

from amg import PROJECT_ROOT
from amg.errors import AmgError

PACKAGE = PROJECT_ROOT / "amg_comfyui"


@pytest.fixture(scope="module")
def nodes():
    """ComfyUI's loader: spec_from_file_location(<folder>/__init__.py), registered in sys.modules, executed."""
    name = "custom_nodes.amg_studio"
    spec = importlib.util.spec_from_file_location(name, PACKAGE / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(name, None)


def test_package_follows_the_node_protocol(nodes):
    mappings, names = nodes.NODE_CLASS_MAPPINGS, nodes.NODE_DISPLAY_NAME_MAPPINGS
    assert {"AMG Scene", "AMG Render"} <= set(names.values()) and set(names) == set(mappings)
    for key, cls in mappings.items():
        types = cls.INPUT_TYPES()
        json.dumps(types)  # ComfyUI serves it as /object_info
        assert "required" in types and isinstance(cls.RETURN_TYPES, tuple)
        assert len(getattr(cls, "RETURN_NAMES", cls.RETURN_TYPES)) == len(cls.RETURN_TYPES)
        assert callable(getattr(cls(), cls.FUNCTION)) and cls.CATEGORY == "AMG Studio"
        for section in types.values():
            for spec in section.values():
                assert isinstance(spec[0], (str, list)), (key, spec)  # a type name or a combo's choices
    scene_inputs = mappings["AMGScene"].INPUT_TYPES()
    assert "two_people" in scene_inputs["required"]["scene_preset"][0]
    assert "orbit" in scene_inputs["required"]["camera_preset"][0]


@pytest.fixture(scope="module")
def rendered(nodes):
    scene, prompt, _, frames, fps = nodes.NODE_CLASS_MAPPINGS["AMGScene"]().run(
        "two_people", "(from the scene)", frames=3, width=96, height=64)
    return scene, nodes.NODE_CLASS_MAPPINGS["AMGRender"]().run(scene, mask_person=2)


def test_render_node_batches_equal_the_engine_render(rendered):
    from amg.render import render_scene
    from amg.render.passes import passes_from_render

    scene, (avatars, depth, pose, pose_depth, mask, person_masks, fps, frames) = rendered
    ref = render_scene(scene)
    passes = passes_from_render(ref, ("rgb", "depth", "pose", "pose+depth"))
    for image, name in ((avatars, "rgb"), (depth, "depth"), (pose, "pose"), (pose_depth, "pose+depth")):
        assert image.shape == (3, 64, 96, 3) and image.dtype == torch.float32, name
        assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0 and float(image.max()) > 0.5, name
        np.testing.assert_array_equal(np.rint(image.numpy() * 255).astype(np.uint8), passes[name], err_msg=name)
    assert mask.shape == (3, 64, 96) and mask.dtype == torch.float32
    np.testing.assert_array_equal(mask.numpy(), ref.masks[:, 1].astype(np.float32))  # person 2 only
    assert person_masks.shape == (2 * 3, 64, 96)
    np.testing.assert_array_equal(person_masks[3:].numpy(), ref.masks[:, 1])
    assert fps == 8.0 and frames == 3


def test_render_node_everyone_mask_and_bad_person(nodes, rendered):
    scene, _ = rendered
    render = nodes.NODE_CLASS_MAPPINGS["AMGRender"]()
    out = render.run(scene)
    np.testing.assert_array_equal(out[4].numpy() > 0, out[5].numpy().reshape(2, 3, 64, 96).any(0))
    with pytest.raises(AmgError, match="mask_person 5: the scene has 2 people"):
        render.run(scene, mask_person=5)


def test_scene_node_builds_from_people_lines_json_and_file(nodes, tmp_path):
    node = nodes.NODE_CLASS_MAPPINGS["AMGScene"]()
    scene, *_ = node.run("(none)", "orbit", people="a woman in a red dress | wave\na tall man | walk",
                         camera_params='{"angle": 90}', prompt="two people in a park", frames=4)
    assert [p.motion.source for p in scene.people] == ["wave", "walk"]
    assert scene.people[0].avatar.prompt == "a woman in a red dress" and scene.people[1].placement.x == pytest.approx(0.6)
    assert scene.camera.preset == "orbit" and scene.camera.params == {"angle": 90}
    assert scene.prompt == "two people in a park" and scene.render.frames == 4
    path = tmp_path / "s.json"
    scene.save(path)
    again, prompt, _, frames, fps = node.run("(none)", "(from the scene)", scene=str(path))
    assert again.model_dump() == scene.model_dump() and prompt == "two people in a park" and frames == 4
    stamp = type(node).IS_CHANGED("(none)", "(from the scene)", scene=str(path))
    os.utime(path, ns=(1, 1))
    assert type(node).IS_CHANGED("(none)", "(from the scene)", scene=str(path)) != stamp  # an edited file reruns
    from_text, *_ = node.run("(none)", "(from the scene)", scene=scene.to_json(), fps=16.0)
    assert from_text.render.fps == 16.0
    json_node = nodes.NODE_CLASS_MAPPINGS["AMGSceneJSON"]()
    assert json.loads(json_node.run(scene)[0])["people"][1]["motion"]["source"] == "walk"


@pytest.mark.parametrize("kwargs, message", [
    ({}, "give a scene JSON"),
    ({"people": "a man | no_such_motion"}, "no_such_motion"),
    ({"scene": "/no/such/scene.json"}, "scene.json"),
    ({"scene": "{not json"}, "scene JSON"),
    ({"scene_preset": "two_people", "camera_params": "{\"angle\": 90}"}, "choose a camera_preset"),
    ({"scene_preset": "two_people", "camera_preset": "orbit", "camera_params": "[1]"}, "JSON object"),
])
def test_scene_node_bad_inputs_say_what_is_wrong(nodes, kwargs, message):
    node = nodes.NODE_CLASS_MAPPINGS["AMGScene"]()
    args = {"scene_preset": "(none)", "camera_preset": "(from the scene)", **kwargs}
    with pytest.raises(AmgError, match=message.replace("[", r"\[")):
        scene = node.run(**args)[0]
        nodes.NODE_CLASS_MAPPINGS["AMGRender"]().run(scene)  # a motion is loaded when rendered


def test_reference_images_node(nodes, rendered):
    scene, _ = rendered
    (refs,) = nodes.NODE_CLASS_MAPPINGS["AMGReferenceImages"]().run(scene, 64, 96)
    assert refs.shape == (2, 96, 64, 3) and refs.dtype == torch.float32
    assert float(refs[:, 0, 0].min()) == 1.0  # on white


def test_motion_from_video_node_captures_a_scene(nodes, samples_dir, tmp_path, monkeypatch):
    """AMG Motion from video (amg.capture): a file path or a batch of frames -> a scene AMG Render draws."""
    from amg.capture.models import pose_task_path
    from amg.video import read_video

    video = samples_dir / "video" / "mmhuman3d_single_person_demo.mp4"
    if not video.exists() or not pose_task_path().is_file():
        pytest.skip("needs ../shared/samples/video/mmhuman3d_single_person_demo.mp4 and the pose model (amg setup)")
    node = nodes.NODE_CLASS_MAPPINGS["AMGMotionFromVideo"]()
    monkeypatch.setattr(sys.modules[type(node).__module__], "_output_dir", lambda: tmp_path)  # ComfyUI's output/
    scene, fps, notes = node.run(1, video=str(video), end=1.0, appearance="a man in a white t-shirt", max_side=128)
    assert fps == 12.0 and scene.render.frames == 12 and (scene.render.width, scene.render.height) == (72, 128)
    assert scene.people[0].avatar.prompt == "a man in a white t-shirt" and "focal length" in notes
    assert scene.resolve_path(scene.people[0].motion.source).is_file()
    assert scene.people[0].motion.source.startswith(str(tmp_path / "amg_captures"))
    avatars, *_, mask, _, _, frames = nodes.NODE_CLASS_MAPPINGS["AMGRender"]().run(scene)
    assert avatars.shape == (12, 128, 72, 3) and frames == 12 and mask.sum() > 0
    clip, _ = read_video(video, times=np.arange(12) / 12.0)  # the same second as a frame batch
    scene2, fps2, _ = node.run(1, images=torch.from_numpy(clip).float() / 255, images_fps=12.0, max_side=128)
    assert fps2 == 12.0 and scene2.render.frames == 12
    with pytest.raises(AmgError, match="give a video file path or connect images"):
        node.run(1)


def test_shipped_api_workflow_wires_valid_inputs_and_runs(nodes):
    """amg_comfyui/workflows/*_api.json: every AMG node's inputs exist with the right types, every link
    points at an output of the type it feeds; the AMG part runs (smaller, so the test stays quick)."""
    core = {"SaveImage": {"images": "IMAGE", "filename_prefix": "STRING"}}  # ComfyUI's own node
    mappings = nodes.NODE_CLASS_MAPPINGS
    for path in sorted((PACKAGE / "workflows").glob("*_api.json")):
        graph = json.loads(path.read_text())

        def input_types(kind):
            if kind in core:
                return core[kind]
            spec = mappings[kind].INPUT_TYPES()
            return {k: v[0] for section in spec.values() for k, v in section.items()}

        for node_id, node in graph.items():
            kind = node["class_type"]
            types = input_types(kind)
            if kind in mappings:
                required = set(mappings[kind].INPUT_TYPES()["required"])
                assert required <= set(node["inputs"]), (path.name, node_id, required - set(node["inputs"]))
            for name, value in node["inputs"].items():
                assert name in types, (path.name, node_id, name)
                if isinstance(value, list):  # a link: [source node, output index]
                    source = mappings[graph[value[0]]["class_type"]]
                    assert source.RETURN_TYPES[value[1]] == types[name], (path.name, node_id, name)
                elif isinstance(types[name], list):
                    assert value in types[name], (path.name, node_id, name, value)
        small = dict(graph["1"]["inputs"], width=80, height=64, frames=2)
        scene = mappings["AMGScene"]().run(**small)[0]
        out = mappings["AMGRender"]().run(scene, **{k: v for k, v in graph["2"]["inputs"].items() if k != "scene"})
        assert out[1].shape == (2, 64, 80, 3) and out[2].shape == (2, 64, 80, 3)
