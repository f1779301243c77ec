"""Motion files in and out: every common format to the canonical Motion (Y up, metres).

Accepted (see ACCEPTED_FORMATS, shown to users when a file is not understood):
- our `.npz` (`format`="amg-motion" or `fps` + `global_orient` (T,3) + `body_pose` (T,63)
  + `transl` (T,3) pelvis positions; a leading person axis for several people);
- AMASS `.npz` (SMPL-H `poses` (N,156), SMPL-X `poses` (N,165) or (N,55,3), or
  `root_orient` + `pose_body`; `trans`, `betas`, `gender`, `mocap_framerate` or
  `mocap_frame_rate`), Z-up, converted to Y-up;
- SMPL / SMPL-X parameter `.npz` from video mocap (TRACE, ROMP, 4D-Humans, GVHMR, WHAM):
  `global_orient`, `body_pose` (23 or 21 joints), `transl`, as axis-angle or rotation
  matrices, with or without a person axis; the up axis is detected from the body;
- AIST++ `.npz` (`smpl_poses` (N,72), `smpl_trans`, `smpl_scaling`, `fps`);
- joint positions `.npy`/`.npz` (T,22,3), (T,66) or (P,T,22,3) (HumanML3D, MDM, MoMask,
  InterGen), solved by inverse kinematics;
- BVH (amg.motion.bvh).
Files are data: nothing is ever unpickled.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from amg.errors import AmgError
from amg.motion import edit
from amg.motion.motion import Motion
from amg.files import atomic_write_bytes

ACCEPTED_FORMATS = (
    "accepted motion files: AMG .npz (fps, global_orient, body_pose, transl); AMASS .npz "
    "(poses, trans, mocap_framerate); SMPL/SMPL-X parameter .npz (global_orient, body_pose, transl) "
    "from TRACE/ROMP/4D-Humans/GVHMR/WHAM; AIST++ .npz (smpl_poses, smpl_trans); joint positions "
    ".npy (T,22,3) or (P,T,22,3) from HumanML3D/MDM/MoMask/InterGen; BVH (.bvh)"
)
#: Larger files are refused before reading (10 min of 120 fps AMASS is ~90 MB).
MAX_FILE_BYTES = 512 * 1024 * 1024
#: Frame rate assumed for joint-position files, which store none (HumanML3D's 20 fps).
DEFAULT_JOINTS_FPS = 20.0

#: AMASS (Z up) -> our world (Y up): (x, y, z) -> (x, z, -y).
Z_UP_TO_Y_UP = Rotation.from_euler("x", -90, degrees=True)
#: Rest position of the pelvis joint in the SMPL(-H) / SMPL-X model frame (neutral shape):
#: SMPL's `trans` moves the model, the pelvis sits at trans + this.
SMPL_PELVIS_REST = np.array([-0.0022, -0.2408, 0.0286])
SMPLX_PELVIS_REST = np.array([0.0031, -0.3514, 0.0120])


# ---- reading files safely ----------------------------------------------------------------
def check_file(path: str | os.PathLike) -> Path:
    """The path, if it names a readable regular file of acceptable size."""
    path = Path(path)
    if not path.exists():
        raise AmgError(f"{path}: no such motion file")
    if not path.is_file():
        raise AmgError(f"{path}: not a file")
    size = path.stat().st_size
    if size == 0:
        raise AmgError(f"{path}: the file is empty; {ACCEPTED_FORMATS}")
    if size > MAX_FILE_BYTES:
        raise AmgError(f"{path}: {size / 2**30:.1f} GiB is too large for a motion file "
                       f"(limit {MAX_FILE_BYTES // 2**20} MiB); trim it or split it first")
    return path


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an `.npz` (or the one array of an `.npy`, as key "array"), no pickles."""
    with path.open("rb") as f:
        magic = f.read(6)
    if not (magic.startswith(b"PK\x03\x04") or magic == b"\x93NUMPY"):
        # np.load takes anything else for a pickle; only a real one (protocol 2+) is called that
        what = "holds pickled Python objects, which are never loaded (they can run code)" if magic[:1] == b"\x80" \
            else "not a NumPy .npz/.npy file (its first bytes are not NumPy's)"
        raise AmgError(f"{path}: {what}; {ACCEPTED_FORMATS}")
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise AmgError(f"{path}: holds pickled Python objects, which are never loaded (they can run "
                           f"code); save plain arrays with numpy.savez; {ACCEPTED_FORMATS}") from None
        raise AmgError(f"{path}: not a readable NumPy file ({e}); {ACCEPTED_FORMATS}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise AmgError(f"{path}: not a readable NumPy file ({e}); {ACCEPTED_FORMATS}") from None
    if isinstance(data, np.ndarray):
        return {"array": data}
    out = {}
    with data:
        for key in data.files:
            try:
                out[key] = data[key]
            except ValueError as e:
                if "pickle" in str(e).lower() or "object" in str(e).lower():
                    raise AmgError(f"{path}: array {key!r} holds pickled Python objects, which are never "
                                   f"loaded (they can run code); store plain numbers or strings") from None
                raise AmgError(f"{path}: array {key!r} cannot be read ({e})") from None
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
                raise AmgError(f"{path}: array {key!r} is damaged or truncated ({e})") from None
    return out


def _text(value, default: str = "") -> str:
    """A string stored as str, bytes or a 0-d array of either."""
    if value is None:
        return default
    value = np.asarray(value)
    if value.dtype.kind not in "US":
        return default
    item = value.reshape(-1)[0] if value.size else default
    return item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)


def _number(value, what: str, path: Path) -> float:
    try:
        x = float(np.asarray(value, dtype=np.float64).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        raise AmgError(f"{path}: {what} must be a number, got {value!r}") from None
    if not (np.isfinite(x) and x > 0):
        raise AmgError(f"{path}: {what} must be a positive number, got {x}")
    return x


def _finite(arr: np.ndarray, key: str, path: Path) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype.kind not in "fiu":
        raise AmgError(f"{path}: {key!r} must hold numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr.reshape(arr.shape[0], -1)))[0][0] if arr.ndim and arr.shape[0] else 0
        raise AmgError(f"{path}: {key!r} contains NaN or infinite values (first at frame {bad})")
    return arr


def _gender(data: dict) -> str:
    g = _text(data.get("gender"), "neutral").strip().lower()
    return g if g in ("male", "female", "neutral") else "neutral"


# ---- rotations -----------------------------------------------------------------------------
def _to_rotvec(arr: np.ndarray, joints: int, key: str, path: Path) -> np.ndarray:
    """(..., joints*3), (..., joints, 3) axis-angle or (..., joints, 3, 3) matrices -> (..., joints, 3).

    For joints == 1 a (..., 3, 3) array of proper rotations is read as matrices.
    """
    def as_matrices(mats_shape_lead):
        mats = arr.reshape(-1, 3, 3)
        if np.any(np.abs(np.linalg.det(mats) - 1) > 1e-2):
            raise AmgError(f"{path}: {key!r} looks like rotation matrices but they are not rotations")
        return Rotation.from_matrix(mats).as_rotvec().reshape(*mats_shape_lead, joints, 3)

    if arr.ndim >= 3 and arr.shape[-3:] == (joints, 3, 3):
        return as_matrices(arr.shape[:-3])
    if joints == 1 and arr.ndim >= 2 and arr.shape[-2:] == (3, 3):
        mats = arr.reshape(-1, 3, 3)
        if np.allclose(mats @ mats.transpose(0, 2, 1), np.eye(3), atol=1e-3):
            return as_matrices(arr.shape[:-2])
    if arr.ndim >= 2 and arr.shape[-2:] == (joints, 3):
        return arr
    if arr.shape[-1] == joints * 3:
        return arr.reshape(*arr.shape[:-1], joints, 3)
    raise AmgError(f"{path}: {key!r} has shape {arr.shape}; expected (T, {joints * 3}), "
                   f"(T, {joints}, 3) axis-angle or (T, {joints}, 3, 3) rotation matrices")


def _up_fix(global_orient: np.ndarray) -> Rotation:
    """Rotation bringing the body's up axis (median over frames) onto +Y.

    Video mocap writes camera coordinates (Y down), AMASS-like tools Z up; the body's own
    up axis (+Y in the SMPL model frame) says which.
    """
    up = Rotation.from_rotvec(global_orient.reshape(-1, 3)).apply([0.0, 1.0, 0.0])
    up = np.median(up, axis=0)
    axis = int(np.argmax(np.abs(up)))
    sign = np.sign(up[axis])
    if axis == 1:
        return Rotation.identity() if sign > 0 else Rotation.from_euler("x", 180, degrees=True)
    if axis == 2:
        return Rotation.from_euler("x", -90 * sign, degrees=True)
    return Rotation.from_euler("z", 90 * sign, degrees=True)


def _make(orient: np.ndarray, body: np.ndarray, pelvis: np.ndarray, fix: Rotation, fps: float,
          name: str, betas=None, gender="neutral", meta=None) -> Motion:
    """A Motion from model-frame parameters turned into our world by `fix`."""
    orient = (fix * Rotation.from_rotvec(orient)).as_rotvec()
    return Motion(orient, body.reshape(-1, 63), fix.apply(pelvis), fps=fps, betas=betas, gender=gender,
                  name=name, meta=dict(meta or {}))


# ---- importers -----------------------------------------------------------------------------
def import_ours(data: dict, path: Path) -> list[Motion]:
    fps = _number(data.get("fps"), "'fps'", path)
    orient = _finite(data["global_orient"], "global_orient", path)
    body = _finite(data["body_pose"], "body_pose", path)
    transl = _finite(data["transl"], "transl", path)
    if orient.ndim == 2:
        orient, body, transl = orient[None], body[None], transl[None]
    if not (orient.ndim == 3 and orient.shape[-1] == 3 and body.shape[:2] == orient.shape[:2]
            and body.shape[-1] == 63 and transl.shape == orient.shape):
        raise AmgError(f"{path}: expected global_orient (T,3), body_pose (T,63), transl (T,3) "
                       f"(optionally with a leading person axis), got {orient.shape}, {body.shape}, {transl.shape}")
    betas = _finite(data["betas"], "betas", path) if "betas" in data else None
    names = np.atleast_1d(data["names"]) if "names" in data else None
    out = []
    for p in range(orient.shape[0]):
        b = None if betas is None else (betas[p] if betas.ndim == 2 else betas)
        name = _text(names[p]) if names is not None and p < len(names) else _text(data.get("name"), path.stem)
        out.append(Motion(orient[p], body[p], transl[p], fps=fps, betas=b, gender=_gender(data), name=name,
                          meta={"source_format": "amg npz", "person": p}))
    return out


def import_amass(data: dict, path: Path) -> list[Motion]:
    if "poses" in data:
        poses = _finite(data["poses"], "poses", path)
        if poses.ndim == 3 and poses.shape[-1] == 3:
            poses = poses.reshape(len(poses), -1)
        if poses.ndim != 2 or poses.shape[1] not in (66, 72, 156, 165):
            raise AmgError(f"{path}: 'poses' has shape {data['poses'].shape}; AMASS stores (N,156) SMPL-H, "
                           f"(N,165) or (N,55,3) SMPL-X (or (N,72) SMPL)")
        orient, body = poses[:, :3], poses[:, 3:66]
        model = {165: "smplx", 156: "smplh", 72: "smpl", 66: "smplx"}[poses.shape[1]]
    else:
        orient = _finite(data["root_orient"], "root_orient", path)
        body = _finite(data["pose_body"], "pose_body", path)
        model = "smplx"
        if body.shape[-1] != 63 or orient.shape[-1] != 3 or len(body) != len(orient):
            raise AmgError(f"{path}: root_orient must be (N,3) and pose_body (N,63), got "
                           f"{orient.shape} and {body.shape}")
    model = _text(data.get("surface_model_type"), model).lower() or model
    if "trans" not in data:
        raise AmgError(f"{path}: AMASS file has no 'trans' (root translation)")
    trans = _finite(data["trans"], "trans", path)
    if trans.shape != (len(orient), 3):
        raise AmgError(f"{path}: 'trans' has shape {trans.shape}, expected ({len(orient)}, 3)")
    rate = data.get("mocap_framerate", data.get("mocap_frame_rate"))
    if rate is None:
        raise AmgError(f"{path}: AMASS file has no 'mocap_framerate' (frames per second)")
    fps = _number(rate, "'mocap_framerate'", path)
    rest = SMPLX_PELVIS_REST if model == "smplx" else SMPL_PELVIS_REST
    betas = _finite(data["betas"], "betas", path).reshape(-1) if "betas" in data else None
    return [_make(orient, body, trans + rest, Z_UP_TO_Y_UP, fps, path.stem, betas, _gender(data),
                  {"source_format": f"AMASS ({model})"})]


def import_smpl_params(data: dict, path: Path, fps: float | None) -> list[Motion]:
    body = _finite(data["body_pose"], "body_pose", path)
    # 23 SMPL joints or 21 SMPL-X ones, axis-angle or matrices; the first 21 are the same.
    joints = next((n for n in (21, 23) if body.shape[-1] == 3 * n or body.shape[-2:] == (n, 3)
                   or body.shape[-3:] == (n, 3, 3)), None)
    if joints is None:
        raise AmgError(f"{path}: 'body_pose' has shape {body.shape}; expected 21 (SMPL-X) or 23 (SMPL) "
                       f"joints as (T,63)/(T,69), (T,J,3) axis-angle or (T,J,3,3) matrices")
    body = _to_rotvec(body, joints, "body_pose", path)[..., :21, :]  # (..., T, 21, 3)
    orient = _to_rotvec(_finite(data["global_orient"], "global_orient", path), 1, "global_orient", path)
    orient = orient.reshape(*body.shape[:-2], 3)
    if body.ndim == 3:
        body, orient = body[None], orient[None]
    if body.ndim != 4 or orient.shape != body.shape[:2] + (3,):
        raise AmgError(f"{path}: global_orient {data['global_orient'].shape} does not match "
                       f"body_pose {data['body_pose'].shape}")
    key = next((k for k in ("transl", "trans", "smpl_trans") if k in data), None)
    transl = _finite(data[key], key, path).reshape(*orient.shape) if key else np.zeros_like(orient)
    rest = SMPL_PELVIS_REST if joints == 23 else SMPLX_PELVIS_REST
    rate = fps or (data.get("fps") if "fps" in data else data.get("mocap_framerate"))
    rate = _number(rate, "'fps'", path) if rate is not None else 30.0
    fix = _up_fix(orient)
    betas = _finite(data["betas"], "betas", path) if "betas" in data else None
    out = []
    for p in range(orient.shape[0]):
        b = None if betas is None else (betas[p] if betas.ndim == 2 and len(betas) == orient.shape[0]
                                        else betas.reshape(-1, betas.shape[-1])[0])
        out.append(_make(orient[p], body[p], transl[p] + rest, fix, rate, path.stem, b, _gender(data),
                         {"source_format": "SMPL parameters" if joints == 23 else "SMPL-X parameters",
                          "person": p, "fps_assumed": "fps" not in data and fps is None}))
    return out


def import_aistpp(data: dict, path: Path) -> list[Motion]:
    poses = _finite(data["smpl_poses"], "smpl_poses", path)
    if poses.ndim != 2 or poses.shape[1] != 72:
        raise AmgError(f"{path}: 'smpl_poses' has shape {poses.shape}, AIST++ stores (N, 72)")
    trans = _finite(data.get("smpl_trans", np.zeros((len(poses), 3))), "smpl_trans", path)
    scale = _number(data["smpl_scaling"], "'smpl_scaling'", path) if "smpl_scaling" in data else 1.0
    fps = _number(data.get("fps", 60), "'fps'", path)
    return [_make(poses[:, :3], poses[:, 3:66], trans / scale + SMPL_PELVIS_REST, _up_fix(poses[:, :3]),
                  fps, path.stem, None, "neutral", {"source_format": "AIST++"})]


def import_joints(positions: np.ndarray, path: Path, fps: float | None, key: str = "array",
                  progress=None) -> list[Motion]:
    from amg.motion.ik import people_to_motions

    arr = np.asarray(positions)
    if arr.ndim == 2 and arr.shape[1] == 263:
        raise AmgError(f"{path}: this is a HumanML3D feature-vector file (263 values per frame), not joint "
                       f"positions; convert it with HumanML3D's recover_from_ric(data, 22) to (T, 22, 3) "
                       f"joints first; {ACCEPTED_FORMATS}")
    arr = _finite(arr, key, path)
    if arr.ndim == 2 and arr.shape[1] == 66:
        arr = arr.reshape(-1, 22, 3)
    if arr.ndim == 3 and arr.shape[1:] == (22, 3):
        arr = arr[None]
    if not (arr.ndim == 4 and arr.shape[2:] == (22, 3)):
        raise AmgError(f"{path}: array of shape {np.shape(positions)} is not a motion; joint positions must be "
                       f"(T, 22, 3), (T, 66) or (people, T, 22, 3); {ACCEPTED_FORMATS}")
    rate = fps or DEFAULT_JOINTS_FPS
    out = people_to_motions(arr, rate, name=path.stem, progress=progress)
    for p, m in enumerate(out):
        m.meta.update(person=p, fps_assumed=fps is None)
    return out


def import_arrays(data: dict, path: Path, fps: float | None = None, progress=None) -> list[Motion]:
    """Recognise the format from the array names and import it."""
    keys = set(data)
    if "array" in keys and len(keys) == 1:
        return import_joints(data["array"], path, fps, progress=progress)
    ours = _text(data.get("format")) == "amg-motion" or (
        "fps" in keys and "format" not in keys and np.shape(data.get("body_pose", ()))[-1:] == (63,))
    if ours and {"global_orient", "body_pose", "transl"} <= keys:
        return import_ours(data, path)
    if "smpl_poses" in keys:
        return import_aistpp(data, path)
    if ("poses" in keys and ("trans" in keys or "mocap_framerate" in keys or "mocap_frame_rate" in keys)) \
            or {"root_orient", "pose_body"} <= keys:
        return import_amass(data, path)
    if {"global_orient", "body_pose"} <= keys:
        return import_smpl_params(data, path, fps)
    for k in ("joints", "positions", "joint_positions", "motion"):
        if k in keys:
            return import_joints(data[k], path, fps, k, progress=progress)
    shown = ", ".join(sorted(keys)[:12]) or "none"
    raise AmgError(f"{path}: no motion found (arrays in the file: {shown}); {ACCEPTED_FORMATS}")


def load_motion_file(path: str | os.PathLike, fps: float | None = None, progress=None) -> list[Motion]:
    """Every person's Motion in a motion file of any accepted format.

    fps: for BVH/npz with a frame rate, resample to it; for joint-position files (which
    store none) it is their frame rate (default DEFAULT_JOINTS_FPS).
    progress: optional `progress(done, total)` for the slow part (IK of joint positions).
    """
    path = check_file(path)
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        from amg.motion.bvh import import_bvh

        motions = [import_bvh(path)]
    elif suffix in (".npz", ".npy"):
        data = read_arrays(path)
        try:
            motions = import_arrays(data, path, fps, progress)
        except AmgError as e:  # a check deeper down names the motion: name the user's file
            raise (e if str(path) in str(e) else AmgError(f"{path}: {e}")) from None
        except (ValueError, IndexError, TypeError, KeyError) as e:  # arrays of shapes no importer expects
            shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in sorted(data.items())[:12])
            raise AmgError(f"{path}: its arrays do not fit together as a motion ({shapes}): "
                           f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    else:
        raise AmgError(f"{path}: unknown motion file type {suffix or '(no extension)'!r}; {ACCEPTED_FORMATS}")
    if fps is not None:  # joint files already took `fps` as their own rate: no-op for them
        motions = [m if abs(m.fps - fps) < 1e-9 else edit.resample(m, fps) for m in motions]
    for m in motions:
        m.meta.setdefault("source", str(path))
    return motions


# ---- writers -------------------------------------------------------------------------------
def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def save_npz(motions: Motion | list[Motion], path: str | os.PathLike, dtype=np.float32) -> Path:
    """Our `.npz` (atomically). Several motions need equal lengths and fps: a person axis."""
    motions = [motions] if isinstance(motions, Motion) else list(motions)
    if not motions:
        raise AmgError(f"{path}: nothing to save")
    first = motions[0]
    if any(m.num_frames != first.num_frames or abs(m.fps - first.fps) > 1e-9 for m in motions):
        raise AmgError(f"{path}: people of one file must share frame count and fps")
    stack = (lambda key: getattr(first, key)) if len(motions) == 1 else \
        (lambda key: np.stack([getattr(m, key) for m in motions]))
    arrays = {"format": np.array("amg-motion"), "fps": np.array(first.fps),
              "global_orient": stack("global_orient").astype(dtype), "body_pose": stack("body_pose").astype(dtype),
              "transl": stack("transl").astype(dtype), "gender": np.array(first.gender),
              "name": np.array(first.name), "names": np.array([m.name for m in motions])}
    if first.betas is not None:
        arrays["betas"] = np.asarray(first.betas, dtype=dtype)
    path = Path(path)
    atomic_write_bytes(path, _npz_bytes(arrays))
    return path


def save_amass(motion: Motion, path: str | os.PathLike) -> Path:
    """AMASS-style SMPL-X `.npz` (Z up, `poses` (N,165), `trans`, `mocap_framerate`)."""
    inv = Z_UP_TO_Y_UP.inv()
    orient = (inv * Rotation.from_rotvec(motion.global_orient)).as_rotvec()
    poses = np.zeros((motion.num_frames, 165))
    poses[:, :3], poses[:, 3:66] = orient, motion.body_pose
    trans = inv.apply(motion.transl) - SMPLX_PELVIS_REST
    betas = np.zeros(10) if motion.betas is None else np.asarray(motion.betas, dtype=np.float64)
    arrays = {"poses": poses, "trans": trans, "betas": betas, "gender": np.array(motion.gender),
              "mocap_framerate": np.array(float(motion.fps)), "surface_model_type": np.array("smplx")}
    path = Path(path)
    atomic_write_bytes(path, _npz_bytes(arrays))
    return path
