"""Inverse kinematics: joint positions (as text-to-motion models emit them) -> Motion.

Positions carry no bone twist and their bone lengths differ from the avatar's, so the
joint rotations are solved, not read: a closed-form start (each bone turned onto its
target direction, the pelvis and chest fitted to several children at once) refined by a
batched solve over all frames (torch L-BFGS). Knees and elbows are kept close to hinges,
and unobservable twists near rest, by small priors; a temporal term keeps rotations smooth.

The source performer is usually bigger or smaller than the average avatar (HumanML3D's
skeleton is ~6% bigger). The solve runs on the canonical skeleton scaled to the source's
size, so bone directions, not stretched limbs, carry the pose; the result is then scaled
to the canonical size like every other motion (an avatar performs it at its own size, see
amg.avatar.Avatar.pose) and the measured size is kept in ``meta["source_scale"]``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from amg.errors import AmgError
from amg.motion.motion import JOINT_INDEX as J, Motion
from amg.motion.skeleton import PARENTS, REST_JOINTS

log = logging.getLogger(__name__)
CHILDREN = [[c for c in range(22) if PARENTS[c] == j] for j in range(22)]
#: Hinge axis (in the parent's rest frame) of knees (flex about X) and elbows (about Y).
_HINGES = {J["left_knee"]: 0, J["right_knee"]: 0, J["left_elbow"]: 1, J["right_elbow"]: 1}
#: Bones (by child joint) that measure a skeleton's size: legs, arms, spine, neck. Hip and
#: collar offsets are left out: each skeleton convention places those joints differently.
_SIZE_BONES = [J[n] for n in ("left_knee", "right_knee", "left_ankle", "right_ankle", "left_elbow",
                              "right_elbow", "left_wrist", "right_wrist", "spine1", "spine2", "spine3",
                              "neck", "head")]


@dataclass
class IKConfig:
    iterations: int = 100         # L-BFGS iterations (all frames at once)
    robust_scale: float = 0.05    # metres: joint distances count linearly beyond ~this
    hinge_weight: float = 1e-3    # knees/elbows: off-hinge rotation penalty
    rest_weight: float = 1e-4     # every joint: pull towards rest (fixes free twists)
    smooth_weight: float = 1e-3   # frame-to-frame rotation change penalty


def _min_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 3, 3) smallest rotations taking directions a (N, 3) onto b (N, 3)."""
    a = a / np.linalg.norm(a, axis=-1, keepdims=True).clip(1e-9)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True).clip(1e-9)
    axis = np.cross(a, b)
    s = np.linalg.norm(axis, axis=-1, keepdims=True)
    c = np.sum(a * b, axis=-1, keepdims=True)
    rotvec = np.where(s > 1e-9, axis / s.clip(1e-12) * np.arctan2(s, c), 0.0)
    return Rotation.from_rotvec(rotvec).as_matrix()


def _kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations R minimising sum |R src_k - dst_k|^2; src, dst (N, K, 3)."""
    h = np.einsum("nki,nkj->nij", src, dst)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", vt.transpose(0, 2, 1), u.transpose(0, 2, 1))))
    fix = np.tile(np.eye(3), (len(src), 1, 1))
    fix[:, 2, 2] = d
    return np.einsum("nji,njk,nlk->nil", vt, fix, u)


def initial_rotations(positions: np.ndarray, rest: np.ndarray = REST_JOINTS) -> np.ndarray:
    """(T, 22, 3) local axis-angle turning each rest bone onto the target bone directions.

    positions: (T, 22, 3) world joints.
    """
    t = positions.shape[0]
    world = np.empty((t, 22, 3, 3))
    local = np.empty((t, 22, 3, 3))
    for j in range(22):
        p = PARENTS[j]
        parent_world = np.tile(np.eye(3), (t, 1, 1)) if p < 0 else world[:, p]
        kids = CHILDREN[j]
        if not kids:
            world[:, j] = parent_world
        elif len(kids) == 1:
            rest_dir = np.einsum("nij,j->ni", parent_world, rest[kids[0]] - rest[j])
            world[:, j] = _min_rotation(rest_dir, positions[:, kids[0]] - positions[:, j]) @ parent_world
        else:
            src = np.broadcast_to(rest[kids] - rest[j], (t, len(kids), 3))
            dst = positions[:, kids] - positions[:, j:j + 1]
            dst = dst / np.linalg.norm(dst, axis=-1, keepdims=True).clip(1e-9)
            src = src / np.linalg.norm(src, axis=-1, keepdims=True)
            world[:, j] = _kabsch(src, dst)
        local[:, j] = world[:, j] if p < 0 else parent_world.transpose(0, 2, 1) @ world[:, j]
    return Rotation.from_matrix(local.reshape(-1, 3, 3)).as_rotvec().reshape(t, 22, 3)


def _rotvec_to_matrix(v: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., 3, 3), Rodrigues with a safe small-angle branch."""
    theta2 = (v * v).sum(-1, keepdim=True)
    theta = torch.sqrt(theta2 + 1e-12)
    small = theta2 < 1e-8
    a = torch.where(small, 1 - theta2 / 6, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24, (1 - torch.cos(theta)) / (theta2 + 1e-12))
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*v.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=v.dtype, device=v.device).expand_as(k)
    return eye + a[..., None] * k + b[..., None] * (k @ k)


def fk_torch(rotvecs: torch.Tensor, pelvis: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
    """(T, 22, 3) world joints from rotvecs (T, 22, 3) local, pelvis (T, 3), rest (22, 3)."""
    local = _rotvec_to_matrix(rotvecs)
    offsets = rest - rest[torch.as_tensor(np.maximum(PARENTS, 0))]
    world_rot = [local[:, 0]]
    pos = [pelvis]
    for j in range(1, 22):
        p = int(PARENTS[j])
        pos.append(pos[p] + world_rot[p] @ offsets[j])
        world_rot.append(world_rot[p] @ local[:, j])
    return torch.stack(pos, 1)


def solve_ik(positions: np.ndarray, config: IKConfig | None = None,
             rest: np.ndarray = REST_JOINTS) -> tuple[np.ndarray, np.ndarray]:
    """Rotations and pelvis whose joints best follow `positions` (T, 22, 3).

    returns: (T, 22, 3) local axis-angle, (T, 3) pelvis position.
    """
    config = config or IKConfig()
    init = initial_rotations(positions, rest)
    target = torch.as_tensor(positions, dtype=torch.float64)
    rest_t = torch.as_tensor(rest, dtype=torch.float64)
    x = torch.tensor(init, dtype=torch.float64, requires_grad=True)
    # The root moves too: source pelvis-to-hip offsets differ from the avatar's by centimetres.
    root = target[:, 0].clone().requires_grad_(True)
    off_hinge = torch.zeros(22, 3, dtype=torch.float64)
    for j, axis in _HINGES.items():
        off_hinge[j] = 1.0
        off_hinge[j, axis] = 0.0
    opt = torch.optim.LBFGS([x, root], lr=1.0, max_iter=config.iterations, history_size=20,
                            tolerance_grad=1e-10, tolerance_change=1e-12, line_search_fn="strong_wolfe")
    n = positions.shape[0]
    calls = [0]

    def closure():
        opt.zero_grad()
        joints = fk_torch(x, root, rest_t)
        # Mean joint distance (smoothed near 0), not squared error: a skeleton mismatch the
        # rotations cannot remove (hip width, spine spacing) stays on those joints instead
        # of being spread into the hands and feet.
        dist2 = ((joints - target) ** 2).sum(-1)
        loss = config.robust_scale * torch.sqrt(dist2 + 1e-4).sum() / n
        loss = loss + config.hinge_weight * ((x * off_hinge) ** 2).sum() / n
        loss = loss + config.rest_weight * (x[:, 1:] ** 2).sum() / n
        if n > 1:
            loss = loss + config.smooth_weight * ((x[1:] - x[:-1]) ** 2).sum() / n
        loss.backward()
        calls[0] += 1
        return loss

    # Tensors here are tiny: extra threads only add synchronisation (10-20x slower on a busy CPU).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        opt.step(closure)
    finally:
        torch.set_num_threads(threads)
    log.debug("IK: %d evaluations for %d frames", calls[0], n)
    return x.detach().numpy(), root.detach().numpy()


def source_scale(positions: np.ndarray, rest: np.ndarray = REST_JOINTS) -> float:
    """Size of the skeleton in `positions` (..., T, 22, 3) relative to `rest` (22, 3).

    The ratio of summed limb, spine and neck lengths (averaged over frames).
    """
    positions = np.asarray(positions, dtype=np.float64)
    source = np.linalg.norm(positions[..., _SIZE_BONES, :] - positions[..., PARENTS[_SIZE_BONES], :], axis=-1)
    ours = np.linalg.norm(rest[_SIZE_BONES] - rest[PARENTS[_SIZE_BONES]], axis=-1)
    return float(source.reshape(-1, len(_SIZE_BONES)).mean(0).sum() / ours.sum())


def joints_to_motion(positions: np.ndarray, fps: float, name: str = "", config: IKConfig | None = None,
                     progress: Callable[[int, int], None] | None = None, chunk: int = 256,
                     scale: float | None = None) -> Motion:
    """A canonical-size Motion whose joints follow `positions` (T, 22, 3), Y up, metres.

    scale: the source skeleton's size relative to the canonical one (None: measured,
    `source_scale`); the rotations are solved at that size and the root path divided by it.
    Long clips are solved `chunk` frames at a time; `progress(done, total)` is called after
    each chunk (frames), and Ctrl-C (KeyboardInterrupt) stops between chunks.
    """
    positions = np.asarray(positions, dtype=np.float64)
    where = name or "joint positions"
    if positions.ndim != 3 or positions.shape[1:] != (22, 3):
        raise AmgError(f"{where}: joint positions must have shape (T, 22, 3), got {positions.shape}")
    if not np.all(np.isfinite(positions)):
        raise AmgError(f"{where}: joint positions contain NaN or infinite values")
    if len(positions) < 1:
        raise AmgError(f"{where}: joint positions have no frames")
    scale = source_scale(positions) if scale is None else float(scale)
    if not 0.2 < scale < 5.0:
        raise AmgError(f"{where}: the skeleton is {scale:.2f} times the size of a person's; joint positions "
                       f"must be in metres")
    rots, pelvises = [], []
    for start in range(0, len(positions), chunk):
        rot, pelvis = solve_ik(positions[start:start + chunk], config, rest=REST_JOINTS * scale)
        rots.append(rot)
        pelvises.append(pelvis)
        if progress is not None:
            progress(min(start + chunk, len(positions)), len(positions))
    rot, pelvis = np.concatenate(rots), np.concatenate(pelvises)
    return Motion(rot[:, 0], rot[:, 1:].reshape(-1, 63), pelvis / scale, fps=float(fps), name=name,
                  meta={"source_format": "joint positions (IK)", "source_scale": round(scale, 4)})


def people_to_motions(positions: np.ndarray, fps: float, name: str = "",
                      progress: Callable[[int, int], None] | None = None) -> list[Motion]:
    """One Motion per person of `positions` (P, T, 22, 3), all scaled alike so partners keep
    their distance; `progress(done, total)` counts frames over all people."""
    scale = source_scale(positions)
    out = []
    for p, person in enumerate(positions):
        report = progress and (lambda done, total, p=p: progress(p * total + done, len(positions) * total))
        out.append(joints_to_motion(person, fps, name=f"{name}_{p}" if len(positions) > 1 else name,
                                    progress=report, scale=scale))
    return out
