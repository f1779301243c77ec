"""SMPL-X, the alternative body, from the user's own model file (licence-restricted: never shipped).

Point AMG_SMPLX_MODEL at a `SMPLX_NEUTRAL.npz` (or MALE/FEMALE) downloaded from the SMPL-X
site. The file is checked to hold plain arrays only before the `smplx` package reads it:
`.pkl` model files (and any npz holding pickled objects) are refused.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import torch

from amg.body.anny_body import PosedBody, SkinnedBody
from amg.errors import AmgError
from amg.motion.motion import SMPLX_JOINT_NAMES, Motion

ENV = "AMG_SMPLX_MODEL"
REQUIRED_KEYS = {
    "v_template": 2, "f": 2, "shapedirs": 3, "posedirs": 3, "J_regressor": 2, "weights": 2,
    "kintree_table": 2, "lmk_faces_idx": 1, "lmk_bary_coords": 2,
    "hands_componentsl": 2, "hands_componentsr": 2, "hands_meanl": 1, "hands_meanr": 1,
}
#: Region of the garments painted on the vertices each SMPL-X joint moves most.
_JOINT_REGION = {
    "pelvis": "bottom", "left_hip": "bottom", "right_hip": "bottom", "left_knee": "bottom", "right_knee": "bottom",
    "spine1": "top", "spine2": "top", "spine3": "top", "left_collar": "top", "right_collar": "top",
    "left_shoulder": "top", "right_shoulder": "top", "left_elbow": "top", "right_elbow": "top",
    "left_ankle": "shoes", "right_ankle": "shoes", "left_foot": "shoes", "right_foot": "shoes",
}
_REGION_INDEX = {"top": 0, "bottom": 1, "shoes": 2, "hair": 3, "skin": 4}


def check_model_file(path: Path) -> None:
    """Refuse anything but an SMPL-X .npz of plain arrays with the keys smplx needs."""
    if not path.is_file():
        raise AmgError(f"{ENV}={path}: SMPL-X model file not found")
    if path.suffix.lower() != ".npz":
        raise AmgError(f"{ENV}={path}: expected an SMPLX_*.npz model file (.pkl files hold pickled code and are "
                       "not read); download the npz version from the SMPL-X website")
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            for key, ndim in REQUIRED_KEYS.items():
                if key not in keys:
                    raise AmgError(f"{ENV}={path}: not an SMPL-X model, key {key!r} is missing")
                if data[key].ndim != ndim:
                    raise AmgError(f"{ENV}={path}: {key} should have {ndim} dimensions, has {data[key].ndim}")
            for key in keys:
                data[key]  # raises ValueError on pickled object arrays
    except AmgError:
        raise
    except ValueError as e:
        raise AmgError(f"{ENV}={path}: holds pickled objects, which are never loaded ({e})") from None
    except (OSError, EOFError, Exception) as e:  # zipfile/np errors on corrupt files
        raise AmgError(f"{ENV}={path}: cannot read the SMPL-X model ({type(e).__name__}: {e})") from None


class SMPLXBody:
    """An SMPL-X body (betas from AvatarSpec are not exposed yet: the mean shape is used)."""

    def __init__(self, model_path: str | os.PathLike, phenotype: dict[str, float] | None = None):
        import smplx

        path = Path(model_path).expanduser()
        check_model_file(path)
        gender = "neutral"
        if phenotype and "gender" in phenotype and "NEUTRAL" not in path.name.upper():
            gender = "female" if phenotype["gender"] > 0.5 else "male"
        try:
            self.model = smplx.SMPLX(str(path), ext="npz", gender=gender, use_pca=False, num_betas=10).eval()
        except Exception as e:  # smplx raises assorted errors on inconsistent arrays
            raise AmgError(f"{ENV}={path}: the smplx package could not build the model ({type(e).__name__}: {e})") from None
        self.faces = np.asarray(self.model.faces, dtype=np.int32)
        with torch.no_grad():
            rest = self.model()
        self._rest_pelvis = rest.joints[0, 0].numpy()

    @classmethod
    def from_env(cls, phenotype: dict[str, float] | None = None) -> "SMPLXBody":
        path = os.environ.get(ENV)
        if not path:
            raise AmgError(f"the SMPL-X body needs your own model file: set {ENV}=/path/to/SMPLX_NEUTRAL.npz "
                           "(register and download at https://smpl-x.is.tue.mpg.de), or use the built-in Anny body")
        return cls(path, phenotype)

    @torch.no_grad()
    def pose(self, motion: Motion) -> PosedBody:
        t = motion.num_frames
        f32 = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
        out = self.model(
            global_orient=f32(motion.global_orient), body_pose=f32(motion.body_pose),
            transl=f32(motion.transl - self._rest_pelvis), betas=torch.zeros(t, 10),
            jaw_pose=torch.zeros(t, 3), leye_pose=torch.zeros(t, 3), reye_pose=torch.zeros(t, 3),
            left_hand_pose=torch.zeros(t, 45), right_hand_pose=torch.zeros(t, 45), expression=torch.zeros(t, 10),
        )
        return PosedBody(out.vertices.numpy(), out.joints[:, :22].numpy(), self.faces)

    def joints(self, motion: Motion) -> np.ndarray:
        """(T, 22, 3) the joints of `pose(motion)` (SMPL-X computes them with the mesh)."""
        return self.pose(motion).joints

    @torch.no_grad()
    def skin(self, motion: Motion, max_influences: int = 8) -> SkinnedBody:
        """The same body as `pose(motion)` as a skinned mesh on SMPL-X's 55 joints (mean shape).

        Joints are exact; SMPL-X's pose-corrective blend shapes are left out (a glTF skin is
        linear blend skinning), so vertices near bent joints differ from `pose` by up to a few cm.
        """
        from scipy.spatial.transform import Rotation
        from smplx.joint_names import JOINT_NAMES

        m = self.model
        t = motion.num_frames
        rest = m.v_template.numpy().astype(np.float64)  # (V, 3) the mean shape (betas and expression 0)
        joints = m.J_regressor.numpy().astype(np.float64) @ rest  # (55, 3)
        parents = m.parents.numpy().astype(np.int64).copy()
        parents[0] = -1
        n = len(parents)
        full = np.zeros((t, n, 3))
        full[:, 0] = motion.global_orient
        full[:, 1:22] = motion.body_pose.reshape(t, 21, 3)
        full = full.reshape(t, -1) + m.pose_mean.numpy()  # the hands' mean pose, as smplx adds it
        rot = Rotation.from_rotvec(full.reshape(-1, 3)).as_matrix().reshape(t, n, 3, 3)
        poses = np.zeros((t, n, 4, 4))
        poses[..., 3, 3] = 1.0
        for j in range(n):
            local = np.zeros((t, 4, 4))
            local[:, :3, :3] = rot[:, j]
            local[:, :3, 3] = joints[j] - (joints[parents[j]] if parents[j] >= 0 else 0.0)
            local[:, 3, 3] = 1.0
            poses[:, j] = local if parents[j] < 0 else poses[:, parents[j]] @ local
        poses[:, :, :3, 3] += (motion.transl - self._rest_pelvis)[:, None]
        bind = np.tile(np.eye(4), (n, 1, 1))
        bind[:, :3, 3] = joints
        dense = m.lbs_weights.numpy().astype(np.float64)  # (V, 55)
        k = int(min(max_influences, (dense > 0).sum(1).max()))
        bones = np.argsort(-dense, axis=1)[:, :k]
        weights = np.take_along_axis(dense, bones, 1)
        weights /= weights.sum(1, keepdims=True)
        return SkinnedBody(
            bind_vertices=rest.astype(np.float32), faces=self.faces, weights=weights.astype(np.float32),
            bones=bones.astype(np.int64), names=list(JOINT_NAMES[:n]), parents=parents, bind=bind, poses=poses,
            joint_bones=np.arange(22),
        )

    @functools.cached_property
    def rest_pose(self) -> PosedBody:
        """The T-pose with the pelvis at Motion.rest's position (computed once)."""
        return self.pose(Motion.rest(1))

    def pelvis_height(self) -> float:
        """Height of the pelvis joint above the soles when this body stands in the rest pose."""
        return float(self.rest_pose.joints[0, 0, 1] - self.rest_pose.vertices[0, :, 1].min())

    def vertex_regions(self, appearance) -> np.ndarray:
        weights = self.model.lbs_weights.numpy()  # (V, 55)
        joint = weights.argmax(1)
        names = list(SMPLX_JOINT_NAMES) + ["other"] * (weights.shape[1] - 22)
        out = np.array([_REGION_INDEX[_JOINT_REGION.get(names[j], "skin")] for j in joint])
        if appearance.lower != "trousers":
            out[np.isin(joint, [4, 5])] = _REGION_INDEX["skin"]
        if appearance.sleeves != "long":
            out[np.isin(joint, [18, 19])] = _REGION_INDEX["skin"]
        if appearance.sleeves == "none":
            out[np.isin(joint, [16, 17])] = _REGION_INDEX["skin"]
        rest = self.rest_pose.vertices[0]
        head = self.rest_pose.joints[0, 15]
        out[(joint == 15) & (rest[:, 1] > head[1] + 0.08)] = _REGION_INDEX["hair"]
        return out

    def waist_radius(self) -> tuple[float, float]:
        rest = self.rest_pose
        band = rest.vertices[0][np.abs(rest.vertices[0][:, 1] - rest.joints[0, 0, 1]) < 0.03]
        band = band[np.abs(band[:, 0]) < 0.3]
        if len(band) == 0:
            return 0.15, 0.11
        return float(np.abs(band[:, 0]).max()), float(0.5 * np.ptp(band[:, 2]))
