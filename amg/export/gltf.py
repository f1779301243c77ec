"""Animated glTF 2.0 (binary .glb) from plain arrays: skinned people, a floor and a camera.

Functional core: `build_gltf(...)` takes arrays whose shapes are written beside them and
returns a `pygltflib.GLTF2`; pygltflib does the file format (JSON + binary chunk), this
module only lays the arrays into its accessors. Conventions are glTF's own, which are
ours: Y up, metres, right-handed; a camera looks down its node's -Z with +Y up (the
OpenGL camera axes of our camera-to-world matrices).

Animation: one sample per frame at t = i / fps, LINEAR interpolation (rotations slerp).
Every bone has a rotation channel, the root bone a translation channel too (Anny's bone
offsets are fixed), and the camera node translation and rotation. The camera's field
of view is animated through KHR_animation_pointer (`/cameras/0/perspective/yfov`), the
only standard way to animate it; importers without that extension keep the first
frame's field of view. Colours are sRGB in [0, 1] on our side, linear in glTF.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pygltflib as gl
import trimesh
from scipy.spatial.transform import Rotation

POINTER = "KHR_animation_pointer"


@dataclass
class GltfMesh:
    """A mesh part at the bind pose: vertices (V, 3), faces (F, 3), per-vertex colours (V, 3)
    sRGB [0, 1] (faces grouped into one material per colour), skin weights and bones (V, K)."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray
    weights: np.ndarray
    bones: np.ndarray
    double_sided: bool = False


@dataclass
class GltfPerson:
    """A skinned person: bone names (B,), parents (B,) (-1 root), bind (B, 4, 4) and
    poses (T, B, 4, 4) world bone matrices, the mesh parts, the 22 SMPL-X joint bones,
    and names for the materials' colours (sRGB tuple -> name)."""

    name: str
    bone_names: list[str]
    parents: np.ndarray
    bind: np.ndarray
    poses: np.ndarray
    meshes: list[GltfMesh]
    joint_bones: np.ndarray
    color_names: dict = field(default_factory=dict)


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(c, np.float64), 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def quaternions(rot: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations -> (..., 4) glTF quaternions (x, y, z, w), sign-continuous along axis 0
    so that importers interpolating component-wise take the short way."""
    q = Rotation.from_matrix(rot.reshape(-1, 3, 3)).as_quat().reshape(*rot.shape[:-2], 4)
    for t in range(1, len(q)):
        flip = (q[t] * q[t - 1]).sum(-1) < 0
        q[t][flip] *= -1
    return q


class _Blob:
    """The binary chunk: arrays appended as buffer views with their accessors."""

    def __init__(self, doc: gl.GLTF2):
        self.doc, self.parts, self.size = doc, [], 0

    def add(self, array: np.ndarray, kind: str, component: int, target: int | None = None,
            min_max: bool = False) -> int:
        data = np.ascontiguousarray(array).tobytes()
        pad = (-self.size) % 4
        self.parts.append(b"\0" * pad)
        self.size += pad
        self.doc.bufferViews.append(gl.BufferView(buffer=0, byteOffset=self.size, byteLength=len(data), target=target))
        self.parts.append(data)
        self.size += len(data)
        count = len(array)
        acc = gl.Accessor(bufferView=len(self.doc.bufferViews) - 1, componentType=component, count=count, type=kind)
        if min_max:
            flat = np.asarray(array).reshape(count, -1)
            acc.min, acc.max = flat.min(0).tolist(), flat.max(0).tolist()
        self.doc.accessors.append(acc)
        return len(self.doc.accessors) - 1

    def floats(self, array, kind, target=None, min_max=False) -> int:
        return self.add(np.asarray(array, np.float32), kind, gl.FLOAT, target, min_max)

    def finish(self) -> None:
        blob = b"".join(self.parts)
        self.doc.buffers.append(gl.Buffer(byteLength=len(blob)))
        self.doc.set_binary_blob(blob)


def _trs(node: gl.Node, m: np.ndarray) -> None:
    node.translation = [float(x) for x in m[:3, 3]]
    node.rotation = [float(x) for x in quaternions(m[None, :3, :3])[0]]


def _material(doc: gl.GLTF2, name: str, srgb, double_sided=False, roughness=0.8) -> int:
    lin = srgb_to_linear(srgb)
    doc.materials.append(gl.Material(
        name=name, doubleSided=double_sided,
        pbrMetallicRoughness=gl.PbrMetallicRoughness(baseColorFactor=[*map(float, lin), 1.0], metallicFactor=0.0,
                                                     roughnessFactor=roughness)))
    return len(doc.materials) - 1


def _lines(doc: gl.GLTF2, blob: "_Blob", name: str, points: np.ndarray, material: int, strip: bool = False) -> int:
    """A mesh of line segments (pairs of points) or one polyline through `points` (N, 3)."""
    attrs = gl.Attributes(POSITION=blob.floats(points, gl.VEC3, gl.ARRAY_BUFFER, min_max=True))
    doc.meshes.append(gl.Mesh(name=name, primitives=[gl.Primitive(attributes=attrs, material=material,
                                                                  mode=gl.LINE_STRIP if strip else gl.LINES)]))
    return len(doc.meshes) - 1


def _face_colors(colors: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(F, 3) the colour most of each triangle's corners have (the first corner's on a tie)."""
    c = colors[faces]  # (F, 3, 3)
    same12 = np.all(c[:, 1] == c[:, 2], axis=1) & ~np.all(c[:, 0] == c[:, 1], axis=1)
    return np.where(same12[:, None], c[:, 1], c[:, 0])


def _skinned_mesh(doc: gl.GLTF2, blob: _Blob, person: GltfPerson) -> int:
    primitives = []
    for part in person.meshes:
        normals = trimesh.Trimesh(part.vertices, part.faces, process=False).vertex_normals
        attrs = gl.Attributes(POSITION=blob.floats(part.vertices, gl.VEC3, gl.ARRAY_BUFFER, min_max=True),
                              NORMAL=blob.floats(normals, gl.VEC3, gl.ARRAY_BUFFER))
        k = -(-part.weights.shape[1] // 4) * 4  # influences padded to whole VEC4 sets
        w = np.zeros((len(part.weights), k), np.float32)
        j = np.zeros((len(part.weights), k), np.uint16)
        w[:, :part.weights.shape[1]] = part.weights
        j[:, :part.weights.shape[1]] = part.bones
        j[w == 0] = 0  # unused slots point at joint 0 with weight 0 (the spec's rule)
        w /= w.sum(1, keepdims=True)
        for s in range(k // 4):
            setattr(attrs, f"JOINTS_{s}", blob.add(j[:, 4 * s:4 * s + 4], gl.VEC4, gl.UNSIGNED_SHORT, gl.ARRAY_BUFFER))
            setattr(attrs, f"WEIGHTS_{s}", blob.floats(w[:, 4 * s:4 * s + 4], gl.VEC4, gl.ARRAY_BUFFER))
        face_rgb = _face_colors(np.round(np.asarray(part.colors, np.float64), 6), part.faces)
        for rgb in np.unique(face_rgb, axis=0):
            tris = part.faces[np.all(face_rgb == rgb, axis=1)]
            name = person.color_names.get(tuple(rgb.tolist()), part.name) if part.name == "body" else part.name
            mat = _material(doc, f"{person.name} {name}", rgb, double_sided=part.double_sided)
            idx = blob.add(tris.astype(np.uint32).reshape(-1), gl.SCALAR, gl.UNSIGNED_INT, gl.ELEMENT_ARRAY_BUFFER)
            primitives.append(gl.Primitive(attributes=attrs, indices=idx, material=mat))
    doc.meshes.append(gl.Mesh(name=person.name, primitives=primitives))
    return len(doc.meshes) - 1


def build_gltf(
    people: list[GltfPerson],
    c2w: np.ndarray,              # (T, 4, 4) camera-to-world, OpenGL axes
    fov_y_deg: np.ndarray,        # (T,) vertical field of view
    width: int, height: int,      # the render size (the camera's aspect ratio)
    fps: float,
    floor: tuple | None = None,   # (centre x, centre z, half size) of a floor quad on y = 0; None: none
    near: float = 0.05, far: float = 200.0,
    extras: dict | None = None,   # stored on the glTF scene (e.g. the AMG scene's name and fps)
    camera_gizmo: float = 0.0,    # > 0: draw the camera's path and its frustum (this deep, metres) as lines
) -> gl.GLTF2:
    """The animated scene as a pygltflib document (write it with `.save_binary(path)`)."""
    num_frames = len(c2w)
    doc = gl.GLTF2(asset=gl.Asset(version="2.0", generator="AMG Studio"), scene=0)
    blob = _Blob(doc)
    roots: list[int] = []
    anim = gl.Animation(name="AMG scene", samplers=[], channels=[])
    times = blob.floats(np.arange(num_frames) / fps, gl.SCALAR, min_max=True)

    def channel(node: int, path: str, values: np.ndarray, kind: str, pointer: str | None = None):
        anim.samplers.append(gl.AnimationSampler(input=times, output=blob.floats(values, kind), interpolation="LINEAR"))
        target = gl.AnimationChannelTarget(node=node, path=path)
        if pointer:
            target.node, target.extensions = None, {POINTER: {"pointer": pointer}}
        anim.channels.append(gl.AnimationChannel(sampler=len(anim.samplers) - 1, target=target))

    def node(**kw) -> int:
        doc.nodes.append(gl.Node(**kw))
        return len(doc.nodes) - 1

    if floor is not None:
        cx, cz, half = floor
        quad = np.array([[-1, 0, -1], [-1, 0, 1], [1, 0, 1], [1, 0, -1]], np.float32) * [half, 0, half] + [cx, 0, cz]
        attrs = gl.Attributes(POSITION=blob.floats(quad, gl.VEC3, gl.ARRAY_BUFFER, min_max=True),
                              NORMAL=blob.floats(np.tile([0, 1, 0], (4, 1)), gl.VEC3, gl.ARRAY_BUFFER))
        idx = blob.add(np.array([0, 1, 2, 0, 2, 3], np.uint32), gl.SCALAR, gl.UNSIGNED_INT, gl.ELEMENT_ARRAY_BUFFER)
        doc.meshes.append(gl.Mesh(name="floor", primitives=[gl.Primitive(
            attributes=attrs, indices=idx, material=_material(doc, "floor", (0.5, 0.5, 0.5), roughness=1.0))]))
        roots.append(node(name="floor", mesh=len(doc.meshes) - 1))

    for person in people:
        bones = len(person.bone_names)
        first = len(doc.nodes)  # bone b is node first + b
        local_bind = person.bind.copy()
        local_pose = person.poses.copy()  # (T, B, 4, 4)
        for b, p in enumerate(person.parents):
            if p >= 0:
                local_bind[b] = np.linalg.inv(person.bind[p]) @ person.bind[b]
                local_pose[:, b] = np.linalg.inv(person.poses[:, p]) @ person.poses[:, b]
        for b in range(bones):
            n = node(name=person.bone_names[b])
            _trs(doc.nodes[n], local_bind[b])
        for b, p in enumerate(person.parents):
            if p >= 0:
                doc.nodes[first + p].children.append(first + b)
        joints = list(range(first, first + bones))
        inverse_bind = np.linalg.inv(person.bind).transpose(0, 2, 1)  # column-major
        doc.skins.append(gl.Skin(name=person.name, joints=joints, skeleton=first,
                                 inverseBindMatrices=blob.floats(inverse_bind, gl.MAT4)))
        mesh = _skinned_mesh(doc, blob, person)
        top = [first + b for b, p in enumerate(person.parents) if p < 0]
        roots.append(node(name=person.name, children=top, extras={
            "smplx_joint_nodes": [first + int(b) for b in person.joint_bones]}))
        # a skinned mesh node sits at the root: parent transforms never apply to it (glTF spec)
        roots.append(node(name=f"{person.name} mesh", mesh=mesh, skin=len(doc.skins) - 1))
        q = quaternions(local_pose[..., :3, :3])  # (T, B, 4)
        for b in range(bones):
            channel(first + b, "rotation", q[:, b], gl.VEC4)
        for b in top:
            channel(b, "translation", local_pose[:, b - first, :3, 3], gl.VEC3)

    doc.cameras.append(gl.Camera(name="scene camera", type="perspective", perspective=gl.Perspective(
        yfov=float(np.radians(fov_y_deg[0])), aspectRatio=width / height, znear=near, zfar=far)))
    cam = node(name="scene camera", camera=0)
    _trs(doc.nodes[cam], c2w[0])
    roots.append(cam)
    channel(cam, "translation", c2w[:, :3, 3], gl.VEC3)
    channel(cam, "rotation", quaternions(c2w[:, :3, :3]), gl.VEC4)
    channel(cam, "pointer", np.radians(fov_y_deg), gl.SCALAR, pointer="/cameras/0/perspective/yfov")
    if camera_gizmo > 0:  # for viewers: a glTF camera itself is invisible
        red = _material(doc, "camera", (0.85, 0.2, 0.1))
        path = c2w[:, :3, 3].astype(np.float32)  # (T, 3) where the camera goes
        if len(path) == 1:
            path = np.concatenate([path, path])
        roots.append(node(name="camera path", mesh=_lines(doc, blob, "camera path", path, red, strip=True)))
        # the frustum in the camera's own frame (looking down -Z): it rides on the animated camera node
        half_h = camera_gizmo * np.tan(np.radians(fov_y_deg[0]) / 2)
        half_w = half_h * width / height
        corners = np.array([[-half_w, -half_h, -camera_gizmo], [half_w, -half_h, -camera_gizmo],
                            [half_w, half_h, -camera_gizmo], [-half_w, half_h, -camera_gizmo]], np.float32)
        segments = [np.zeros(3, np.float32), corners[0], np.zeros(3, np.float32), corners[1],
                    np.zeros(3, np.float32), corners[2], np.zeros(3, np.float32), corners[3],
                    corners[0], corners[1], corners[1], corners[2], corners[2], corners[3], corners[3], corners[0],
                    # a small triangle above the image: which way is up
                    corners[3] * [0.5, 1, 1], corners[2] * [0.5, 1, 1], corners[2] * [0.5, 1, 1],
                    [0, half_h * 1.4, -camera_gizmo], [0, half_h * 1.4, -camera_gizmo], corners[3] * [0.5, 1, 1]]
        frustum = node(name="camera frustum", mesh=_lines(doc, blob, "camera frustum",
                                                          np.array(segments, np.float32), red))
        doc.nodes[cam].children.append(frustum)
    doc.extensionsUsed = [POINTER]
    doc.animations.append(anim)
    doc.scenes.append(gl.Scene(name="AMG scene", nodes=roots, extras=dict(extras or {})))
    blob.finish()
    return doc
