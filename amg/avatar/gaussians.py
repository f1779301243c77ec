"""3D gaussians in the INRIA 3DGS parameterisation, and their standard `.ply` file.

The arrays are kept exactly as 3DGS stores them (log scales, opacity logits, unnormalised
quaternions w x y z, spherical-harmonic coefficients), so a file read and written back is
bit-identical. `activated()` gives what a rasteriser takes (gsplat's conventions).

The `.ply` is read with `plyfile`; the header is checked before any data is used: the
required properties, their types, the number of gaussians (bounded) and that the data
really is as long as the header says (a truncated file or a lying count is refused).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amg.errors import AmgError

#: 3DGS stores colour as SH coefficients; band 0's basis constant (RGB = SH_C0 * dc + 0.5).
SH_C0 = 0.28209479177387814
#: Number of "rest" coefficients per colour channel for SH degree 0..3.
REST_PER_DEGREE = {0: 0, 1: 3, 2: 8, 3: 15}
MAX_GAUSSIANS = 4_000_000
MAX_FILE_BYTES = 2 << 30
_FLOATS = ("<f4", ">f4", "<f8", ">f8")


@dataclass
class Gaussians:
    """N gaussians, float32, in 3DGS's stored form.

    means (N, 3) metres; quats (N, 4) w x y z, not necessarily normalised; log_scales (N, 3);
    opacity_logits (N,); sh_dc (N, 3); sh_rest (N, K-1, 3) with K = (degree + 1)^2.
    """

    means: np.ndarray
    quats: np.ndarray
    log_scales: np.ndarray
    opacity_logits: np.ndarray
    sh_dc: np.ndarray
    sh_rest: np.ndarray

    def __post_init__(self):
        n = len(self.means)
        for name, width in (("means", (3,)), ("quats", (4,)), ("log_scales", (3,)), ("opacity_logits", ()),
                            ("sh_dc", (3,))):
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.float32)
            if arr.shape != (n, *width):
                raise AmgError(f"gaussians: {name} must have shape {(n, *width)}, got {arr.shape}")
            setattr(self, name, arr)
        self.sh_rest = np.ascontiguousarray(self.sh_rest, dtype=np.float32).reshape(n, -1, 3)
        if self.sh_rest.shape[1] not in REST_PER_DEGREE.values():
            raise AmgError(f"gaussians: {self.sh_rest.shape[1]} SH rest coefficients per channel; 3DGS uses 0, 3, 8 "
                           "or 15 (degree 0-3)")

    def __len__(self) -> int:
        return len(self.means)

    @property
    def sh_degree(self) -> int:
        return {v: k for k, v in REST_PER_DEGREE.items()}[self.sh_rest.shape[1]]

    @property
    def sh(self) -> np.ndarray:
        """(N, K, 3) all SH coefficients, band 0 first."""
        return np.concatenate([self.sh_dc[:, None], self.sh_rest], axis=1)

    @property
    def rgb(self) -> np.ndarray:
        """(N, 3) view-independent colour in [0, 1] (band 0 only)."""
        return np.clip(self.sh_dc * SH_C0 + 0.5, 0.0, 1.0)

    def activated(self):
        """(means (N,3), unit quats (N,4) wxyz, scales (N,3), opacities (N,), sh (N,K,3)) as rasterisers take them."""
        quats = self.quats / np.maximum(np.linalg.norm(self.quats, axis=1, keepdims=True), 1e-12)
        return (self.means, quats.astype(np.float32), np.exp(self.log_scales), 1.0 / (1.0 + np.exp(-self.opacity_logits)),
                self.sh)

    def subset(self, index) -> "Gaussians":
        return Gaussians(self.means[index], self.quats[index], self.log_scales[index], self.opacity_logits[index],
                         self.sh_dc[index], self.sh_rest[index])

    @staticmethod
    def concatenate(parts: list["Gaussians"]) -> "Gaussians":
        degree = max(p.sh_degree for p in parts)
        k = REST_PER_DEGREE[degree]
        rest = [np.concatenate([p.sh_rest, np.zeros((len(p), k - p.sh_rest.shape[1], 3), np.float32)], axis=1)
                for p in parts]
        return Gaussians(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                           ("means", "quats", "log_scales", "opacity_logits", "sh_dc")), np.concatenate(rest))

    @staticmethod
    def from_rgb(means, quats, scales, opacities, rgb) -> "Gaussians":
        """Gaussians of plain colours (degree 0) from activated values."""
        opacities = np.clip(np.asarray(opacities, np.float64), 1e-6, 1 - 1e-6)
        return Gaussians(means, quats, np.log(np.asarray(scales, np.float64)), np.log(opacities / (1 - opacities)),
                         (np.asarray(rgb, np.float64) - 0.5) / SH_C0, np.zeros((len(means), 0, 3)))


# ---- the INRIA 3DGS .ply --------------------------------------------------------------------------------------

def _property_names(degree: int) -> list[str]:
    k = REST_PER_DEGREE[degree]
    return (["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
            + [f"f_rest_{i}" for i in range(3 * k)]
            + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"])


def write_ply(gaussians: Gaussians, path: str | os.PathLike) -> Path:
    """Write the standard 3DGS layout (what the INRIA code, gsplat and splat viewers read), atomically."""
    from plyfile import PlyData, PlyElement

    from amg.files import atomic_path

    g = gaussians
    names = _property_names(g.sh_degree)
    data = np.zeros(len(g), dtype=[(n, "<f4") for n in names])
    for i, axis in enumerate("xyz"):
        data[axis] = g.means[:, i]
    for c in range(3):
        data[f"f_dc_{c}"] = g.sh_dc[:, c]
    # 3DGS flattens the rest coefficients channel-major: all of red's, then green's, then blue's.
    rest = g.sh_rest.transpose(0, 2, 1).reshape(len(g), -1)
    for i in range(rest.shape[1]):
        data[f"f_rest_{i}"] = rest[:, i]
    data["opacity"] = g.opacity_logits
    for i in range(3):
        data[f"scale_{i}"] = g.log_scales[:, i]
    for i in range(4):
        data[f"rot_{i}"] = g.quats[:, i]
    path = Path(path)
    with atomic_path(path) as tmp:
        PlyData([PlyElement.describe(data, "vertex")], byte_order="<").write(str(tmp))
    return path


def read_ply(path: str | os.PathLike, max_gaussians: int = MAX_GAUSSIANS) -> Gaussians:
    """The gaussians of a 3DGS `.ply`; AmgError naming the file and the problem otherwise."""
    from plyfile import PlyData, PlyElementParseError, PlyHeaderParseError

    path = Path(path)
    where = f"{path}: 3DGS .ply"
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if f.read(4) != b"ply\n":
                raise AmgError(f"{where}: not a PLY file (it must start with 'ply')")
    except OSError as e:
        raise AmgError(f"{where}: cannot read ({e.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise AmgError(f"{where}: {size / 2**30:.1f} GiB is over the {MAX_FILE_BYTES >> 30} GiB limit")
    try:
        with open(path, "rb") as f:  # the header alone first: counts are checked before any data is read
            header = PlyData._parse_header(f)
        counts = {e.name: e.count for e in header.elements}
        if not 0 < counts.get("vertex", 0) <= max_gaussians:
            raise AmgError(f"{where}: the header declares {counts.get('vertex', 0):,} gaussians; between 1 and "
                           f"{max_gaussians:,} are accepted")
        ply = PlyData.read(str(path))  # binary data is memory-mapped: nothing is loaded yet
    except (PlyHeaderParseError, PlyElementParseError) as e:
        raise AmgError(f"{where}: {e} (the header does not match the data: truncated or damaged file)") from None
    except (ValueError, OSError) as e:
        raise AmgError(f"{where}: cannot parse ({e})") from None
    if "vertex" not in ply:
        raise AmgError(f"{where}: no 'vertex' element (a 3DGS file stores one gaussian per vertex)")
    vertex = ply["vertex"]
    n = vertex.count
    if not 0 < n <= max_gaussians:
        raise AmgError(f"{where}: {n} gaussians; between 1 and {max_gaussians:,} are accepted")
    if ply.text is False:
        expected = len(ply.header) + 1 + sum(e.count * e.data.dtype.itemsize for e in ply.elements)
        if expected != size:
            raise AmgError(f"{where}: the header describes {expected:,} bytes but the file has {size:,} "
                           "(its gaussian count or properties are wrong)")
    dtype = vertex.data.dtype
    names = set(dtype.names)
    required = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
                "rot_0", "rot_1", "rot_2", "rot_3"]
    missing = [p for p in required if p not in names]
    if missing:
        raise AmgError(f"{where}: missing properties {', '.join(missing)} (not a 3D gaussian splatting file)")
    n_rest = sum(1 for p in names if p.startswith("f_rest_"))
    if n_rest % 3 or n_rest // 3 not in REST_PER_DEGREE.values() or any(
            f"f_rest_{i}" not in names for i in range(n_rest)):
        raise AmgError(f"{where}: {n_rest} f_rest_* properties; 3DGS files have 0, 9, 24 or 45 (SH degree 0-3)")
    used = required + [f"f_rest_{i}" for i in range(n_rest)]
    bad = [p for p in used if dtype[p].str not in _FLOATS]
    if bad:
        raise AmgError(f"{where}: properties {', '.join(bad)} are not float/double")
    data = vertex.data

    def col(name):
        return np.asarray(data[name], dtype=np.float32)

    means = np.stack([col(a) for a in "xyz"], 1)
    quats = np.stack([col(f"rot_{i}") for i in range(4)], 1)
    log_scales = np.stack([col(f"scale_{i}") for i in range(3)], 1)
    rest = (np.stack([col(f"f_rest_{i}") for i in range(n_rest)], 1) if n_rest else np.zeros((n, 0), np.float32))
    g = Gaussians(means, quats, log_scales, col("opacity"), np.stack([col(f"f_dc_{c}") for c in range(3)], 1),
                  rest.reshape(n, 3, -1).transpose(0, 2, 1))
    for name in ("means", "quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest"):
        bad_rows = ~np.isfinite(getattr(g, name).reshape(n, -1)).all(1)
        if bad_rows.any():
            raise AmgError(f"{where}: {int(bad_rows.sum())} gaussians have NaN or infinite {name}")
    if np.any(np.linalg.norm(g.quats, axis=1) < 1e-12):
        raise AmgError(f"{where}: some gaussians have a zero rotation quaternion")
    return g
