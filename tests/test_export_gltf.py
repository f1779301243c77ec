"""`amg export`: the animated glTF reloads and reproduces the rendered people and camera at every frame."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from amg import PRESETS_DIR
from tests.gltf_eval import GltfScene, accessor

FRAMES, FPS = 8, 8.0


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A two-person scene (one in a dress) with a lens zoom, exported and rendered."""
    from amg.export import export_scene
    from amg.render import render_scene
    from amg.scene import Scene

    data = json.loads((PRESETS_DIR / "scenes" / "zoom_in_two_people.json").read_text())
    data["camera"] = {"preset": "zoom_in", "params": {"mode": "fov", "factor": 1.8, "fov": 40.0}}
    data["render"].update(frames=FRAMES, fps=FPS, width=128, height=96)
    scene = Scene.model_validate(data)
    path = tmp_path_factory.mktemp("export") / "scene.glb"
    info = export_scene(scene, path)
    return scene, path, info, render_scene(scene)


def test_glb_reloads_with_pygltflib_and_trimesh(exported):
    import trimesh

    scene, path, info, _ = exported
    assert info.frames == FRAMES and info.people == 2 and path.stat().st_size == info.size
    loaded = trimesh.load(path)
    assert len(loaded.geometry) >= 3  # floor and the two people's meshes
    g = GltfScene(path)
    doc = g.doc
    assert len(doc.skins) == 2 and len(doc.cameras) == 1 and doc.cameras[0].type == "perspective"
    assert doc.cameras[0].perspective.aspectRatio == pytest.approx(128 / 96)
    assert {m.name for m in doc.materials} >= {"floor", "woman skin", "woman skirt", "man top", "man bottom"}
    assert doc.scenes[0].extras["fps"] == FPS


def test_one_time_sample_per_frame_on_every_channel(exported):
    _, path, _, _ = exported
    g = GltfScene(path)
    anim = g.doc.animations[0]
    bones = sum(len(s.joints) for s in g.doc.skins)
    assert len(anim.channels) == bones + 2 + 3  # a rotation per bone, 2 root translations, camera T/R/FOV
    for track in g.tracks.values():
        np.testing.assert_allclose(track.times, np.arange(FRAMES) / FPS, atol=1e-6)
        assert len(track.values) == FRAMES


def test_skinned_people_reproduce_rendered_joints_and_vertices(exported):
    from amg.motion.library import scene_motion
    from amg.render import scene_avatars

    scene, path, _, render = exported
    g = GltfScene(path)
    avatars = scene_avatars(scene)
    for p, person in enumerate(scene.people):
        joint_nodes = g.doc.nodes[g.node_named(person.id)].extras["smplx_joint_nodes"]
        mesh_node = g.node_named(f"{person.id} mesh")
        posed = avatars[p].pose(scene_motion(person, scene, FRAMES, FPS))
        for t in range(FRAMES):
            joints = np.stack([g.world(n, t / FPS)[:3, 3] for n in joint_nodes])
            err = np.linalg.norm(joints - render.joints[p, t], axis=1).max()
            assert err < 0.01, f"{person.id} frame {t}: joint error {err * 100:.2f} cm"
            verts = np.concatenate(g.skin_vertices(mesh_node, t / FPS)[:1])  # the body (first primitive's data)
            np.testing.assert_allclose(verts, posed.meshes[0][0][t], atol=2e-3)
    # between frames the skeleton interpolates smoothly (the pelvis stays between its neighbours)
    mid = g.world(g.doc.nodes[g.node_named("woman")].extras["smplx_joint_nodes"][0], 0.5 / FPS)[:3, 3]
    lo, hi = np.minimum(render.joints[0, 0, 0], render.joints[0, 1, 0]), np.maximum(render.joints[0, 0, 0], render.joints[0, 1, 0])
    assert np.all(mid >= lo - 1e-3) and np.all(mid <= hi + 1e-3)


def test_skirt_follows_the_legs(exported):
    """The skirt is skinned to the pelvis and thighs: exact at frame 0, close to the render's skirt after."""
    from amg.motion.library import scene_motion
    from amg.render import scene_avatars

    scene, path, _, _ = exported
    g = GltfScene(path)
    woman = scene.people[0]
    posed = scene_avatars(scene)[0].pose(scene_motion(woman, scene, FRAMES, FPS))
    doc, node = g.doc, g.node_named("woman mesh")
    skirt = next(i for i, pr in enumerate(doc.meshes[doc.nodes[node].mesh].primitives)
                 if doc.materials[pr.material].name == "woman skirt")
    for t in range(FRAMES):
        verts = g.skin_vertices(node, t / FPS)[skirt]
        assert len(verts) == posed.meshes[1][0].shape[1]
        err = np.linalg.norm(verts - posed.meshes[1][0][t], axis=1)
        assert err.mean() < (1e-3 if t == 0 else 0.07), (t, err.mean())  # a rigged skirt, not the procedural one


def test_camera_reproduces_scene_camera_pose_and_fov(exported):
    _, path, _, render = exported
    g = GltfScene(path)
    cam = g.node_named("scene camera")
    fovs = []
    for t, c in enumerate(render.cameras):
        np.testing.assert_allclose(g.world(cam, t / FPS), c.c2w, atol=1e-5)
        fov = g.sample((None, "/cameras/0/perspective/yfov"), t / FPS)
        assert np.degrees(fov) == pytest.approx(c.fov_y_deg, abs=1e-4)
        fovs.append(c.fov_y_deg)
    assert fovs[-1] < fovs[0] - 5  # a lens zoom: the FOV really is animated
    assert np.degrees(g.doc.cameras[0].perspective.yfov) == pytest.approx(fovs[0], abs=1e-4)


def test_cli_export_and_bad_inputs(tmp_path, capsys, monkeypatch):
    from amg.cli import main

    out = tmp_path / "one.glb"
    assert main(["export", str(PRESETS_DIR / "scenes" / "one_person.json"), "-o", str(out), "--frames", "3",
                 "--no-floor"]) == 0
    assert "1 person, camera, 3 frames at 8 fps" in capsys.readouterr().out
    g = GltfScene(out)
    assert "floor" not in {n.name for n in g.doc.nodes} and len(next(iter(g.tracks.values())).times) == 3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"people": [{"id": "a", "motion": {"source": "no_such_motion"}}]}))
    one = PRESETS_DIR / "scenes" / "one_person.json"
    for args, message in [((one, "-o", tmp_path / "x.obj"), ".glb, .gltf or .fbx"),
                          ((one, "-o", tmp_path / "x.glb", "--format", "gltf"), "matching --format"),
                          ((one, "-o", tmp_path / "x.glb", "--frames", "0"), "frames"),
                          ((one, "-o", tmp_path / "x.glb", "--fps", "-1"), "fps"),
                          ((bad, "-o", tmp_path / "bad.glb"), "no_such_motion")]:
        assert main(["export", *map(str, args)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.startswith("amg export: error:"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "one.glb"]

    monkeypatch.setattr("amg.export.fbx.blender_path", lambda: None)  # a machine without Blender
    assert main(["export", str(one), "-o", str(tmp_path / "x.fbx")]) == 2
    assert "install Blender" in capsys.readouterr().err and not (tmp_path / "x.fbx").exists()


def test_gltf_text_form_embeds_its_data(tmp_path):
    from amg.export import export_scene
    from amg.scene import Scene

    scene = Scene.load(PRESETS_DIR / "scenes" / "one_person.json")
    export_scene(scene, tmp_path / "s.gltf", frames=2)
    doc = json.loads((tmp_path / "s.gltf").read_text())
    assert doc["buffers"][0]["uri"].startswith("data:application/octet-stream;base64,")


def test_a_gaussian_splat_person_exports_as_the_mesh_of_the_same_body(tmp_path):
    """glTF has no splats: a splat person comes out as the mesh avatar of the same words, at the
    joints the renderer poses the splat with (it used to fail: a splat avatar has no skin)."""
    from amg.export import export_scene
    from amg.render import render_scene
    from amg.scene import Scene

    data = json.loads((PRESETS_DIR / "scenes" / "one_person.json").read_text())
    data["people"][0]["avatar"]["style"] = "gaussians"
    data["render"].update(frames=2, width=64, height=64)
    scene = Scene.model_validate(data)
    export_scene(scene, tmp_path / "splat.glb")
    g = GltfScene(tmp_path / "splat.glb")
    assert len(g.doc.skins) == 1
    rendered = render_scene(scene)  # the splat person's own joints
    joint_nodes = g.doc.nodes[g.node_named(scene.people[0].id)].extras["smplx_joint_nodes"]
    for t in range(2):
        joints = np.stack([g.world(n, t / scene.render.fps)[:3, 3] for n in joint_nodes])
        assert np.linalg.norm(joints - rendered.joints[0, t], axis=1).max() < 0.01


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (for the Khronos glTF validator)")
def test_khronos_validator_finds_no_errors(exported, tmp_path):
    """Runs the npm `gltf-validator` (set AMG_GLTF_VALIDATOR to its module folder)."""
    module = os.environ.get("AMG_GLTF_VALIDATOR")
    if not module:
        pytest.skip("set AMG_GLTF_VALIDATOR to the gltf-validator npm module folder to run the Khronos validator")
    script = ("const v=require(process.argv[1]);const fs=require('fs');"
              "v.validateBytes(new Uint8Array(fs.readFileSync(process.argv[2])))"
              ".then(r=>console.log(JSON.stringify(r.issues)))")
    r = subprocess.run(["node", "-e", script, module, str(exported[1])], capture_output=True, text=True, timeout=120)
    issues = json.loads(r.stdout)
    assert issues["numErrors"] == 0, issues["messages"][:5]


BLENDER_CHECK = """
import numpy, sys, json, math
if not hasattr(numpy, "bool"):
    numpy.bool = bool  # Debian bookworm's Blender 3.4 glTF importer still uses the removed alias
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps = int(sys.argv[-2])
bpy.ops.import_scene.gltf(filepath=sys.argv[-1])
cam = next(o for o in scene.objects if o.type == "CAMERA")
scene.camera = cam
arms = [o.name for o in scene.objects if o.type == "ARMATURE"]
ranges = sorted({tuple(a.frame_range) for a in bpy.data.actions})
poses = []
for f in (0, 7):
    scene.frame_set(f)
    poses.append([list(cam.matrix_world.translation), [list(r) for r in cam.matrix_world.to_3x3()]])
print("RESULT " + json.dumps({"armatures": arms, "ranges": ranges, "camera": scene.camera.name, "poses": poses}))
"""


@pytest.mark.skipif(shutil.which("blender") is None, reason="Blender is not installed (apt-get install blender)")
def test_blender_imports_people_animation_and_active_camera(exported, tmp_path):
    """Blender's own glTF importer: two armatures, one action frame range of FRAMES frames, the camera's path."""
    scene, path, _, render = exported
    script = tmp_path / "check.py"
    script.write_text(BLENDER_CHECK)
    # Debian's Blender embeds the system Python: keep a pyenv/virtualenv python3 on PATH from hiding it
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYENV", "VIRTUAL_ENV"))}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    r = subprocess.run([shutil.which("blender"), "-b", "--factory-startup", "--python", str(script), "--",
                        str(int(FPS)), str(path)], capture_output=True, text=True, timeout=180, env=env)
    line = next((l for l in r.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, r.stdout[-2000:] + r.stderr[-2000:]
    out = json.loads(line[7:])
    assert sorted(out["armatures"]) == ["man", "woman"] and out["camera"] == "scene camera"
    assert out["ranges"] == [[0.0, FRAMES - 1.0]]  # one key per frame at the scene's fps
    to_blender = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]])  # glTF Y up -> Blender Z up
    for (pos, rot), t in zip(out["poses"], (0, 7)):
        np.testing.assert_allclose(pos, to_blender @ render.cameras[t].c2w[:3, 3], atol=1e-4)
        np.testing.assert_allclose(rot, to_blender @ render.cameras[t].c2w[:3, :3], atol=1e-4)


def test_smplx_people_export_on_their_55_joints(tmp_path, monkeypatch):
    """A user's SMPL-X body (here a synthetic model file of the real shapes) exports skinned too."""
    from amg.export import export_scene
    from amg.motion.library import scene_motion
    from amg.render import render_scene, scene_avatars
    from amg.scene import Scene
    from tests.smplx_synthetic import write_synthetic_smplx

    model = tmp_path / "SMPLX_NEUTRAL.npz"
    write_synthetic_smplx(model)
    monkeypatch.setenv("AMG_SMPLX_MODEL", str(model))
    scene = Scene.from_dict({"people": [{"id": "a", "avatar": {"body": "smplx", "prompt": "a man in a red shirt"},
                                         "motion": {"source": "wave"}}],
                             "render": {"frames": 4, "width": 64, "height": 64}})
    export_scene(scene, tmp_path / "s.glb")
    render = render_scene(scene)
    posed = scene_avatars(scene)[0].pose(scene_motion(scene.people[0], scene, 4, 8.0))
    g = GltfScene(tmp_path / "s.glb")
    assert len(g.doc.skins[0].joints) == 55 and g.doc.nodes[g.doc.skins[0].joints[0]].name == "pelvis"
    joint_nodes = g.doc.nodes[g.node_named("a")].extras["smplx_joint_nodes"]
    for t in range(4):
        joints = np.stack([g.world(n, t / 8)[:3, 3] for n in joint_nodes])
        assert np.linalg.norm(joints - render.joints[0, t], axis=1).max() < 0.01
        np.testing.assert_allclose(g.skin_vertices(g.node_named("a mesh"), t / 8)[0], posed.meshes[0][0][t], atol=2e-3)


FBX_CHECK = """
import sys, json
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps = int(sys.argv[-2])
bpy.ops.import_scene.fbx(filepath=sys.argv[-1])
arms = {o.name: o for o in scene.objects if o.type == "ARMATURE"}
cams = [o.name for o in scene.objects if o.type == "CAMERA"]
ranges = sorted({tuple(round(x) for x in a.frame_range) for a in bpy.data.actions})
first = ranges[0][0] if ranges else 0  # Blender's FBX importer starts the take at frame 1
heads = {}
for f in (0, 7):
    scene.frame_set(first + f)
    heads[f] = {n: {b.name: list(a.matrix_world @ b.head) for b in a.pose.bones} for n, a in arms.items()}
    heads[f]["camera"] = [list(scene.objects[cams[0]].matrix_world.translation),
                          [-x for x in scene.objects[cams[0]].matrix_world.col[2][:3]]]  # position, view direction
print("RESULT " + json.dumps({"cameras": cams, "ranges": ranges, "heads": heads}))
"""


@pytest.mark.skipif(shutil.which("blender") is None, reason="Blender is not installed (apt-get install blender)")
def test_fbx_through_blender_keeps_the_skeleton_animation(exported, tmp_path):
    """--format fbx: Blender's exporter; re-imported, every SMPL-X joint bone is where the render has it."""
    from amg.cli import main
    from amg.export.fbx import _blender_env
    from amg.render import scene_avatars

    scene, _, _, render = exported
    path = tmp_path / "scene.json"
    scene.save(path)
    assert main(["export", str(path), "-o", str(tmp_path / "scene.fbx")]) == 0
    script = tmp_path / "check.py"
    script.write_text(FBX_CHECK)
    r = subprocess.run([shutil.which("blender"), "-b", "--factory-startup", "--python", str(script), "--",
                        str(int(FPS)), str(tmp_path / "scene.fbx")], capture_output=True, text=True, timeout=180,
                       env=_blender_env())
    line = next((l for l in r.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, r.stdout[-2000:] + r.stderr[-2000:]
    out = json.loads(line[7:])
    assert out["cameras"] and len(out["ranges"]) == 1 and out["ranges"][0][1] - out["ranges"][0][0] == FRAMES - 1
    to_blender = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]])
    for p, person in enumerate(scene.people):
        sk = scene_avatars(scene)[p].body
        names = [sk.bone_labels[b] for b in sk._joint_bones]
        arm = next(a for a in out["heads"]["0"] if a.startswith(person.id))
        for f in (0, 7):
            heads = np.array([out["heads"][str(f)][arm][n] for n in names])
            err = np.linalg.norm(heads - render.joints[p, f] @ to_blender.T, axis=1).max()
            assert err < 0.01, f"{person.id} frame {f}: {err * 100:.2f} cm"
    for f in (0, 7):
        position, view = out["heads"][str(f)]["camera"]
        c2w = render.cameras[f].c2w
        np.testing.assert_allclose(position, to_blender @ c2w[:3, 3], atol=1e-3)
        np.testing.assert_allclose(view, to_blender @ -c2w[:3, 2], atol=1e-3)
