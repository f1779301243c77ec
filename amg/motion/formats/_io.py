"""Reading motion files safely (size bounds, no pickles) and the checks every importer shares."""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from amg.errors import AmgError

ACCEPTED_FORMATS = (
    "accepted motion files: AMG .npz (fps, global_orient, body_pose, transl); AMASS .npz "
    "(poses, trans, mocap_framerate); SMPL/SMPL-X parameter .npz (global_orient, body_pose, transl) "
    "from TRACE/ROMP/4D-Humans/GVHMR/WHAM; AIST++ .npz (smpl_poses, smpl_trans); joint positions "
    ".npy (T,22,3) or (P,T,22,3) from HumanML3D/MDM/MoMask/InterGen; BVH (.bvh)"
)
#: Larger files are refused before reading (10 min of 120 fps AMASS is ~90 MB).
MAX_FILE_BYTES = 512 * 1024 * 1024


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


def as_text(value, default: str = "") -> str:
    """A string stored as str, bytes or a 0-d array of either."""
    if value is None:
        return default
    value = np.asarray(value)
    if value.dtype.kind not in "US":
        return default
    item = value.reshape(-1)[0] if value.size else default
    return item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)


def as_number(value, what: str, path: Path) -> float:
    try:
        x = float(np.asarray(value, dtype=np.float64).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        raise AmgError(f"{path}: {what} must be a number, got {value!r}") from None
    if not (np.isfinite(x) and x > 0):
        raise AmgError(f"{path}: {what} must be a positive number, got {x}")
    return x


def as_finite(arr: np.ndarray, key: str, path: Path) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype.kind not in "fiu":
        raise AmgError(f"{path}: {key!r} must hold numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr.reshape(arr.shape[0], -1)))[0][0] if arr.ndim and arr.shape[0] else 0
        raise AmgError(f"{path}: {key!r} contains NaN or infinite values (first at frame {bad})")
    return arr


def gender_of(data: dict) -> str:
    g = as_text(data.get("gender"), "neutral").strip().lower()
    return g if g in ("male", "female", "neutral") else "neutral"


def npz_bytes(arrays: dict) -> bytes:
    """An `.npz` file's bytes (compressed), to write atomically."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()
