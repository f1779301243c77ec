"""Anny, the embedded body: a person of given build driven by a SMPL-X Motion."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from amg.body.anny_model import load_anny
from amg.body.retarget import (SMPL_TO_ANNY, bone_to_joint, joint_bone_indices, tpose_corrections,
                               world_rotations)
from amg.motion.motion import Motion

#: Phenotype values of an average adult (Anny's own defaults are 0.5).
DEFAULT_PHENOTYPE = {"gender": 0.5, "age": 0.5, "muscle": 0.5, "weight": 0.5, "height": 0.5, "proportions": 0.5}


@dataclass
class PosedBody:
    """A body over time, in the world (Y up, metres).

    vertices: (T, V, 3); joints: (T, 22, 3) SMPL-X body joints as this body performs them;
    faces: (F, 3) int32 triangle indices.
    """

    vertices: np.ndarray
    joints: np.ndarray
    faces: np.ndarray


@dataclass
class SkinnedBody:
    """A body as a skinned mesh and its skeleton over time (what glTF/FBX-style exporters need).

    World Y up, metres. Linear blend skinning reproduces the posed vertices exactly:
    v_t = sum_k weights[v, k] * poses[t, bones[v, k]] @ inv(bind[bones[v, k]]) @ bind_vertices[v].

    bind_vertices: (V, 3) the mesh at the bind pose; faces: (F, 3) int32;
    weights: (V, K) float32 skin weights (rows sum to 1); bones: (V, K) int bone per weight;
    names: (B,) bone names; parents: (B,) parent bone, -1 for the root;
    bind: (B, 4, 4) world matrix of every bone at the bind pose (rigid);
    poses: (T, B, 4, 4) world matrix of every bone at every frame (rigid; child offsets fixed);
    joint_bones: (22,) the bone whose origin is each SMPL-X body joint.
    """

    bind_vertices: np.ndarray
    faces: np.ndarray
    weights: np.ndarray
    bones: np.ndarray
    names: list[str]
    parents: np.ndarray
    bind: np.ndarray
    poses: np.ndarray
    joint_bones: np.ndarray

    @property
    def joints(self) -> np.ndarray:
        """(T, 22, 3) SMPL-X body joints over time."""
        return self.poses[:, self.joint_bones][..., :3, 3]


class AnnyBody:
    """An Anny person with a fixed phenotype.

    phenotype: values in [0, 1] for gender (0 male, 1 female), age (0 baby, 1/3 child,
    2/3 young adult, 1 old), muscle, weight, height, proportions; missing ones are 0.5.
    """

    def __init__(self, phenotype: dict[str, float] | None = None):
        self.model = load_anny()
        self.phenotype = {**DEFAULT_PHENOTYPE, **(phenotype or {})}
        labels = list(self.model.bone_labels)
        self.bone_labels = labels
        self._drive = bone_to_joint(labels)  # (B,) SMPL-X joint per bone
        self._joint_bones = joint_bone_indices(labels)  # (22,)
        with torch.no_grad():
            # The rest body depends only on the phenotype: computed once, reused for every pose.
            coeffs = self.model.get_phenotype_blendshape_coefficients(**self.phenotype)
            rest = self.model.get_rest_model(coeffs)
        self._rest_vertices = rest["rest_vertices"]  # (1, V, 3)
        self._rest_bone_poses = rest["rest_bone_poses"]  # (1, B, 4, 4)
        self._rest_rot = rest["rest_bone_poses"][0, :, :3, :3].numpy().astype(np.float64)  # (B, 3, 3)
        self._tpose = tpose_corrections(rest["rest_bone_poses"][0, :, :3, 3].numpy(), labels)  # (B, 3, 3)
        self.faces = self.model.get_triangular_faces().numpy().astype(np.int32)

    @property
    def dominant_bone(self) -> np.ndarray:
        """(V,) label index of the bone weighing most on each vertex (for painting regions)."""
        w = self.model.vertex_bone_weights.numpy()
        idx = self.model.vertex_bone_indices.numpy()
        return idx[np.arange(len(idx)), w.argmax(1)]

    def bone_pose_parameters(self, motion: Motion) -> torch.Tensor:
        """(T, B, 4, 4) Anny 'world-orient' pose parameters for every frame of `motion`."""
        t = motion.num_frames
        local = Rotation.from_rotvec(motion.local_rotations().reshape(-1, 3)).as_matrix().reshape(t, 22, 3, 3)
        g_smpl = world_rotations(local)  # (T, 22, 3, 3) rest -> posed, SMPL-X frame
        g_anny = SMPL_TO_ANNY @ g_smpl @ SMPL_TO_ANNY.T
        rot = g_anny[:, self._drive] @ (self._tpose @ self._rest_rot)  # (T, B, 3, 3)
        params = np.zeros((t, len(self.bone_labels), 4, 4))
        params[..., :3, :3] = rot
        params[..., 3, 3] = 1.0
        params[:, 0, :3, 3] = motion.transl @ SMPL_TO_ANNY.T  # the root's head is the pelvis joint
        return torch.from_numpy(params).float()

    @torch.no_grad()
    def pose(self, motion: Motion) -> PosedBody:
        """Vertices and joints for every frame of `motion`, the pelvis joint at `motion.transl`."""
        params = self.bone_pose_parameters(motion)
        transforms, bone_poses = self.model.get_bone_transforms(params, self._rest_bone_poses)
        vertices = self.model.get_skinned_vertices(
            bone_transforms=transforms, rest_vertices=self._rest_vertices.expand(len(params), -1, -1))
        vertices = vertices.numpy() @ SMPL_TO_ANNY  # row vectors: v_world = v_anny @ SMPL_TO_ANNY
        return PosedBody(vertices.astype(np.float32), self._world_joints(bone_poses), self.faces)

    @torch.no_grad()
    def joints(self, motion: Motion) -> np.ndarray:
        """(T, 22, 3) the joints of `pose(motion)` without skinning the mesh (~20x cheaper)."""
        _, bone_poses = self.model.get_bone_transforms(self.bone_pose_parameters(motion), self._rest_bone_poses)
        return self._world_joints(bone_poses)

    def _world_joints(self, bone_poses: torch.Tensor) -> np.ndarray:
        return (bone_poses[:, self._joint_bones, :3, 3].numpy() @ SMPL_TO_ANNY).astype(np.float32)

    @torch.no_grad()
    def skin(self, motion: Motion) -> SkinnedBody:
        """The same body as `pose(motion)` as a skinned mesh: bind pose, weights and bone matrices.

        Anny's bind pose is its rest (A-)pose; bone matrices are Anny's bone poses moved into
        the world frame (its Z-up axes rotated to Y up), so the bones keep their own axes.
        """
        params = self.bone_pose_parameters(motion)
        _, bone_poses = self.model.get_bone_transforms(params, self._rest_bone_poses)
        to_world = np.eye(4)
        to_world[:3, :3] = SMPL_TO_ANNY.T  # column vectors: v_world = SMPL_TO_ANNY.T @ v_anny
        bind = to_world @ self._rest_bone_poses[0].numpy().astype(np.float64)
        poses = to_world @ bone_poses.numpy().astype(np.float64)
        return SkinnedBody(
            bind_vertices=(self._rest_vertices[0].numpy() @ SMPL_TO_ANNY).astype(np.float32),
            faces=self.faces,
            weights=self.model.vertex_bone_weights.numpy().astype(np.float32),
            bones=self.model.vertex_bone_indices.numpy().astype(np.int64),
            names=list(self.bone_labels),
            parents=np.array(self.model.bone_parents, dtype=np.int64),
            bind=bind,
            poses=poses,
            joint_bones=np.asarray(self._joint_bones, dtype=np.int64),
        )

    def pelvis_height(self) -> float:
        """Height of the pelvis joint above the soles when this body stands in the rest pose."""
        return float(self.rest_pose.joints[0, 0, 1])

    @functools.cached_property
    def rest_pose(self) -> PosedBody:
        """The T-pose with the soles on the floor (y = 0)."""
        posed = self.pose(Motion.rest(1))
        low = posed.vertices[0, :, 1].min()
        return PosedBody(posed.vertices - [0, low, 0], posed.joints - [0, low, 0], posed.faces)

    def vertex_regions(self, appearance) -> np.ndarray:
        """(V,) region per vertex: 0 top, 1 bottom, 2 shoes, 3 hair, 4 skin (see amg.avatar)."""
        labels = np.array(self.bone_labels)[self.dominant_bone]
        posed = self.rest_pose
        rest, joints = posed.vertices[0], posed.joints[0]
        y = rest[:, 1]
        top, bottom, shoes, hair, skin = range(5)
        out = np.full(len(labels), skin)

        def has(*prefixes):
            return np.array([lab.startswith(prefixes) for lab in labels])

        out[has("spine", "clavicle", "shoulder01")] = top
        out[has("root", "pelvis", "spine05", "upperleg")] = bottom
        waist_y = joints[0, 1] + 0.45 * (joints[3, 1] - joints[0, 1])
        torso = has("spine", "root", "pelvis")
        out[torso & (y >= waist_y)] = top
        out[torso & (y < waist_y)] = bottom
        if appearance.lower == "trousers":
            out[has("lowerleg")] = bottom
        elif appearance.lower == "shorts":
            knee_y = joints[4, 1]
            out[has("upperleg") & (y < knee_y + 0.12)] = skin
        else:  # skirt or dress: bare legs under the skirt mesh
            out[has("upperleg") & (y < joints[1, 1] - 0.06)] = skin
        if appearance.sleeves != "none":
            out[has("upperarm")] = top
        else:
            out[has("shoulder01")] = skin
        if appearance.sleeves == "long":
            out[has("lowerarm")] = top
        out[has("foot", "toe")] = shoes
        # hair: the scalp (above the forehead and behind the ears); longer hair down the back
        head = has("head", "neck")
        head_joint = joints[15]
        scalp = head & (y > head_joint[1] + 0.075)
        back = head & (rest[:, 2] < head_joint[2] - 0.035) & (y > head_joint[1] - (0.12 if appearance.long_hair else 0.0))
        out[scalp | back] = hair
        return out

    def waist_radius(self) -> tuple[float, float]:
        """(half width, half depth) of the body at the waist, for skirts."""
        posed = self.rest_pose
        rest = posed.vertices[0]
        band = rest[np.abs(rest[:, 1] - posed.joints[0, 0, 1]) < 0.03]
        band = band[np.abs(band[:, 0]) < 0.3]  # not the hands
        return float(np.abs(band[:, 0]).max()), float(0.5 * np.ptp(band[:, 2]))
