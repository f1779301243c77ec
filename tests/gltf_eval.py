"""An independent reader of the animated glTF the exporter writes (tests and checks only).

It decodes accessors with pygltflib, samples the animation at given times (LINEAR: lerp /
slerp between the two neighbouring keys), composes node world matrices from the node
tree, and evaluates the skins with the glTF formula
    v = sum_k w_k * world(joint_k) @ inverseBind_k @ v_bind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygltflib as gl
from scipy.spatial.transform import Rotation, Slerp

_COMPONENTS = {gl.SCALAR: 1, gl.VEC2: 2, gl.VEC3: 3, gl.VEC4: 4, gl.MAT4: 16}
_DTYPES = {gl.FLOAT: np.float32, gl.UNSIGNED_INT: np.uint32, gl.UNSIGNED_SHORT: np.uint16, gl.UNSIGNED_BYTE: np.uint8}


def accessor(doc: gl.GLTF2, index: int) -> np.ndarray:
    acc = doc.accessors[index]
    view = doc.bufferViews[acc.bufferView]
    blob = doc.binary_blob()
    n = _COMPONENTS[acc.type]
    dtype = np.dtype(_DTYPES[acc.componentType])
    start = (view.byteOffset or 0) + (acc.byteOffset or 0)
    data = np.frombuffer(blob, dtype, count=acc.count * n, offset=start)
    return data.reshape(acc.count, n) if n > 1 else data.copy()


def _local(node: gl.Node) -> np.ndarray:
    m = np.eye(4)
    if node.matrix:
        return np.array(node.matrix, np.float64).reshape(4, 4).T
    if node.rotation:
        m[:3, :3] = Rotation.from_quat(node.rotation).as_matrix()
    if node.translation:
        m[:3, 3] = node.translation
    if node.scale:
        m[:3, :3] = m[:3, :3] * np.array(node.scale)
    return m


@dataclass
class Track:
    times: np.ndarray
    values: np.ndarray


class GltfScene:
    def __init__(self, path):
        self.doc = gl.GLTF2().load(str(path))
        doc = self.doc
        self.parent = {c: i for i, n in enumerate(doc.nodes) for c in (n.children or [])}
        self.tracks: dict[tuple, Track] = {}
        self._worlds: dict[float, dict] = {}
        for anim in doc.animations:
            for ch in anim.channels:
                s = anim.samplers[ch.sampler]
                assert s.interpolation == "LINEAR"
                key = (ch.target.node, ch.target.path)
                if ch.target.path == "pointer":
                    key = (None, ch.target.extensions["KHR_animation_pointer"]["pointer"])
                self.tracks[key] = Track(accessor(doc, s.input).astype(np.float64), accessor(doc, s.output).astype(np.float64))

    def sample(self, key, t: float) -> np.ndarray | None:
        tr = self.tracks.get(key)
        if tr is None:
            return None
        times, vals = tr.times, tr.values
        t = float(np.clip(t, times[0], times[-1]))
        i = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1))
        j = min(i + 1, len(times) - 1)
        u = 0.0 if j == i else (t - times[i]) / (times[j] - times[i])
        if key[1] == "rotation":
            return Slerp([0, 1], Rotation.from_quat(vals[[i, j]]))(u).as_quat()
        return (1 - u) * vals[i] + u * vals[j]

    def local(self, node: int, t: float) -> np.ndarray:
        m = _local(self.doc.nodes[node])
        r, tr = self.sample((node, "rotation"), t), self.sample((node, "translation"), t)
        if r is not None:
            m[:3, :3] = Rotation.from_quat(r).as_matrix()
        if tr is not None:
            m[:3, 3] = tr
        return m

    def world(self, node: int, t: float) -> np.ndarray:
        cache = self._worlds.setdefault(t, {})
        if node not in cache:
            m = self.local(node, t)
            cache[node] = self.world(self.parent[node], t) @ m if node in self.parent else m
        return cache[node]

    def skin_vertices(self, mesh_node: int, t: float) -> list[np.ndarray]:
        """(V, 3) world vertices of each primitive of a skinned mesh node at time t."""
        doc = self.doc
        node = doc.nodes[mesh_node]
        skin = doc.skins[node.skin]
        joint_mats = np.stack([self.world(j, t) for j in skin.joints]) @ \
            accessor(doc, skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
        out = []
        for prim in doc.meshes[node.mesh].primitives:
            a = prim.attributes
            pos = accessor(doc, a.POSITION).astype(np.float64)
            acc = np.zeros((len(pos), 4))
            s = 0
            while getattr(a, f"JOINTS_{s}", None) is not None:
                j, w = accessor(doc, getattr(a, f"JOINTS_{s}")), accessor(doc, getattr(a, f"WEIGHTS_{s}"))
                for k in range(4):
                    acc += w[:, k, None] * np.einsum("vij,vj->vi", joint_mats[j[:, k]], np.c_[pos, np.ones(len(pos))])
                s += 1
            out.append(acc[:, :3])
        return out

    def node_named(self, name: str) -> int:
        return next(i for i, n in enumerate(self.doc.nodes) if n.name == name)
