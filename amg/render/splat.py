"""Gaussian rasterisation: gsplat on CUDA, a tile-based torch rasteriser with the same contract on CPU.

`rasterization(...)` takes gsplat's arguments (means, quats, scales, opacities, colors,
viewmats, Ks, width, height, ...) and returns what `gsplat.rasterization` returns:
(render_colors (C, H, W, D[+1]), render_alphas (C, H, W, 1), meta). On CUDA tensors with
gsplat installed it IS `gsplat.rasterization`; elsewhere `rasterization_torch` computes the
same thing (gsplat's projection, 3.33-sigma footprint, 1/255 alpha cut, 0.999 alpha cap,
front-to-back compositing stopped at transmittance 1e-4, pixel centres at +0.5).

The torch rasteriser is tile-based like gsplat's kernels: every gaussian is intersected with
the screen tiles holding a pixel centre inside its alpha >= 1/255 ellipse (row of tiles by
row: a thin tilted ellipse touches far fewer tiles than its bounding box), the intersections
are sorted by (tile, depth), alpha on all pixels of every tile is one (tile*tile, 6) @ (6, I)
product, front-to-back transmittance a cumulative sum of log(1 - alpha) within each tile, and
the weighted sums of the features one sparse (pixels x gaussians) @ (gaussians x D) product.
No Python loop runs over gaussians, tiles or pixels.

Cameras follow gsplat: viewmats are world-to-camera with OpenCV axes (x right, y down,
z forward), Ks pinhole intrinsics in pixels.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from amg.errors import AmgError

ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.999
T_MIN = 1e-4
_CUM_BLOCK = 2048
# torch says so once per process; the CSR product used here is stable for what we ask of it
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
#: OpenGL camera axes (AMG's files) -> OpenCV axes (gsplat).
GL_TO_CV = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0]))


def gsplat_available() -> bool:
    """True when gsplat can rasterise here (it needs CUDA: it compiles its kernels on first use)."""
    if not torch.cuda.is_available():
        return False
    try:
        import gsplat  # noqa: F401
    except ImportError:
        return False
    return True


def use_gsplat(tensor: torch.Tensor) -> bool:
    """Whether work on `tensor` goes to gsplat (a CUDA tensor and gsplat installed)."""
    return tensor.is_cuda and gsplat_available()


def rasterization(
    means: torch.Tensor,      # (N, 3) world
    quats: torch.Tensor,      # (N, 4) w x y z, need not be unit
    scales: torch.Tensor,     # (N, 3) activated (exp of the stored log scales)
    opacities: torch.Tensor,  # (N,) activated (sigmoid of the stored logits)
    colors: torch.Tensor,     # (N, D) or (C, N, D) features, or (N, K, 3) SH coefficients with sh_degree
    viewmats: torch.Tensor,   # (C, 4, 4) world-to-camera, OpenCV axes
    Ks: torch.Tensor,         # (C, 3, 3)
    width: int,
    height: int,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    eps2d: float = 0.3,
    sh_degree: int | None = None,
    backgrounds: torch.Tensor | None = None,  # (C, D)
    render_mode: str = "RGB",  # "RGB" or "RGB+ED" (expected depth as the last channel)
    rasterize_mode: str = "classic",  # or "antialiased" (Mip-Splatting's opacity compensation)
    tile_size: int = 2,
):
    """gsplat.rasterization on CUDA; the torch rasteriser otherwise. Same inputs, same outputs."""
    if use_gsplat(means):
        import gsplat

        return gsplat.rasterization(means, quats, scales, opacities, colors, viewmats, Ks, width, height,
                                    near_plane=near_plane, far_plane=far_plane, eps2d=eps2d, sh_degree=sh_degree,
                                    backgrounds=backgrounds, render_mode=render_mode, rasterize_mode=rasterize_mode,
                                    packed=False)
    return rasterization_torch(means, quats, scales, opacities, colors, viewmats, Ks, width, height,
                               near_plane=near_plane, far_plane=far_plane, eps2d=eps2d, sh_degree=sh_degree,
                               backgrounds=backgrounds, render_mode=render_mode, rasterize_mode=rasterize_mode,
                               tile_size=tile_size)


def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:
    """(..., 4) w x y z (normalised here) -> (..., 3, 3)."""
    w, x, y, z = torch.nn.functional.normalize(quats, dim=-1).unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], -1).reshape(*quats.shape[:-1], 3, 3)


def eval_sh(sh_degree: int, dirs: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """RGB of SH coefficients (..., K, 3) seen along dirs (..., 3), as gsplat colours them (+0.5, >= 0)."""
    if sh_degree == 0:
        rgb = 0.28209479177387814 * coeffs[..., 0, :]
    elif use_gsplat(dirs):
        from gsplat import spherical_harmonics

        rgb = spherical_harmonics(sh_degree, dirs, coeffs)
    else:
        try:  # gsplat's own pure-torch reference of the same function runs on CPU
            from gsplat.cuda._torch_impl import _spherical_harmonics
        except ImportError:
            raise AmgError("gaussians with view-dependent colour (SH degree > 0) need the gsplat package: "
                           "pip install gsplat==1.5.3") from None
        rgb = _spherical_harmonics(sh_degree, dirs, coeffs)
    return torch.clamp_min(rgb + 0.5, 0.0)


def project(means, quats, scales, viewmats, Ks, width: int, height: int, eps2d=0.3, near_plane=0.01,
            far_plane=1e10):
    """EWA projection of N gaussians into C cameras (gsplat's pinhole model).

    Returns means2d (C, N, 2) pixels, conics (C, N, 3) upper triangle of the inverse 2D
    covariance, depths (C, N) camera z, cov2d (C, N, 3) (xx, xy, yy), valid (C, N) bool,
    compensation (C, N): sqrt(det before / det after the eps2d blur), for "antialiased".
    """
    r, t = viewmats[:, :3, :3], viewmats[:, :3, 3]                # (C, 3, 3), (C, 3)
    mc = torch.einsum("cij,nj->cni", r, means) + t[:, None]       # (C, N, 3)
    rot = quat_to_rotmat(quats)                                   # (N, 3, 3)
    num = len(means)
    # W R S per gaussian in camera space, one (3, 3) @ (3, 3N) product per camera: (C, N, 3, 3)
    rs = (r @ rot.permute(1, 0, 2).reshape(3, 3 * num)).view(-1, 3, num, 3).permute(0, 2, 1, 3) * scales[None, :, None]
    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]                 # (C, 1)
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    tz = mc[..., 2]
    tz_safe = torch.where(tz.abs() < 1e-6, torch.full_like(tz, 1e-6), tz)
    # gsplat clamps the Jacobian's x/z and y/z slightly beyond the view (stable off-screen gaussians)
    lim_xp = (width - cx) / fx + 0.3 * (0.5 * width / fx)
    lim_xn = cx / fx + 0.3 * (0.5 * width / fx)
    lim_yp = (height - cy) / fy + 0.3 * (0.5 * height / fy)
    lim_yn = cy / fy + 0.3 * (0.5 * height / fy)
    tx = tz_safe * torch.maximum(torch.minimum(mc[..., 0] / tz_safe, lim_xp), -lim_xn)
    ty = tz_safe * torch.maximum(torch.minimum(mc[..., 1] / tz_safe, lim_yp), -lim_yn)
    # the 2D covariance J (W R S)(W R S)^T J^T from the two rows of J W R S (C, N, 3), J = [[fx/z, 0, -fx x/z^2],
    # [0, fy/z, -fy y/z^2]]
    row_x = (fx / tz_safe)[..., None] * rs[..., 0, :] - (fx * tx / tz_safe ** 2)[..., None] * rs[..., 2, :]
    row_y = (fy / tz_safe)[..., None] * rs[..., 1, :] - (fy * ty / tz_safe ** 2)[..., None] * rs[..., 2, :]
    c2_xx, c2_xy, c2_yy = (row_x * row_x).sum(-1), (row_x * row_y).sum(-1), (row_y * row_y).sum(-1)
    a, b, c = c2_xx + eps2d, c2_xy, c2_yy + eps2d
    det = (a * c - b * b).clamp_min(1e-10)
    conics = torch.stack([c / det, -b / det, a / det], -1)
    means2d = torch.stack([fx * mc[..., 0] / tz_safe + cx, fy * mc[..., 1] / tz_safe + cy], -1)
    det_orig = c2_xx * c2_yy - b * b
    valid = (tz > near_plane) & (tz < far_plane) & (a * c - b * b > 0)
    return means2d, conics, tz, torch.stack([a, b, c], -1), valid, torch.sqrt((det_orig / det).clamp_min(0.0))


@torch.no_grad()
def rasterization_torch(means, quats, scales, opacities, colors, viewmats, Ks, width: int, height: int,
                        near_plane=0.01, far_plane=1e10, eps2d=0.3, sh_degree=None, backgrounds=None,
                        render_mode="RGB", rasterize_mode="classic", tile_size: int = 2):
    """The CPU twin of gsplat.rasterization (see the module docstring). Returns (colors, alphas, meta)."""
    if render_mode not in ("RGB", "RGB+ED"):
        raise AmgError(f"render_mode {render_mode!r}: the torch rasteriser renders 'RGB' or 'RGB+ED'")
    num_cams = len(viewmats)
    means2d, conics, depths, cov2d, valid, comp = project(means, quats, scales, viewmats, Ks, width, height, eps2d,
                                                          near_plane, far_plane)
    opac = opacities[None] * comp if rasterize_mode == "antialiased" else opacities[None].expand(num_cams, -1)
    if sh_degree is not None:
        campos = torch.linalg.inv(viewmats)[:, :3, 3]                          # (C, 3)
        dirs = means[None] - campos[:, None]                                   # (C, N, 3)
        feats = eval_sh(sh_degree, dirs, colors[None].expand(num_cams, *colors.shape))
    else:
        feats = colors if colors.dim() == 3 else colors[None].expand(num_cams, *colors.shape)
    out_c, out_a = [], []
    for c in range(num_cams):
        f = feats[c]
        if render_mode == "RGB+ED":
            f = torch.cat([f, depths[c, :, None]], 1)
        img, alpha = _rasterize_one(means2d[c], conics[c], cov2d[c], depths[c], opac[c], f, valid[c],
                                    width, height, tile_size)
        if render_mode == "RGB+ED":
            img[..., -1:] = img[..., -1:] / alpha.clamp_min(1e-10)
        if backgrounds is not None:
            img[..., :backgrounds.shape[-1]] += backgrounds[c] * (1 - alpha)
        out_c.append(img)
        out_a.append(alpha)
    radii = torch.ceil(3.33 * cov2d[..., [0, 2]].sqrt()).int() * valid[..., None]
    return torch.stack(out_c), torch.stack(out_a), {"means2d": means2d, "depths": depths, "conics": conics,
                                                    "radii": radii}


def _rasterize_one(means2d, conics, cov2d, depths, opacities, feats, valid, width: int, height: int, ts: int):
    """One camera. means2d (N, 2), conics (N, 3), cov2d (N, 3), depths (N,), opacities (N,),
    feats (N, D), valid (N,) -> image (H, W, D), alpha (H, W, 1)."""
    dev, dim = means2d.device, feats.shape[1]
    tiles_x, tiles_y = math.ceil(width / ts), math.ceil(height / ts)
    # Footprint: alpha = o exp(-sigma) >= 1/255 where sigma <= level = ln(255 o); its box is at most
    # gsplat's 3.33-sigma box (o <= 1).
    level = torch.log((255.0 * opacities).clamp_min(1.0))                      # (N,)
    reach = torch.sqrt(2.0 * level)                                           # in standard deviations
    rx, ry = reach * cov2d[:, 0].sqrt(), reach * cov2d[:, 2].sqrt()
    mx, my = means2d[:, 0], means2d[:, 1]
    keep = valid & (opacities >= ALPHA_MIN) & (mx + rx > 0) & (mx - rx < width) & (my + ry > 0) & (my - ry < height)
    idx = torch.nonzero(keep).squeeze(1)
    # front to back; equal depths in index order, as gsplat's stable radix sort leaves them (depths > 0:
    # their float bits sort as integers)
    idx = idx.index_select(0, _sort_stable(depths.index_select(0, idx).view(torch.int32).long())[1])  # (M,)
    out = torch.zeros(ts * ts * tiles_x * tiles_y, dim + 1, device=dev)      # pixel (ly, lx) of every tile
    if len(idx) > 0:
        tile, gi, params = _bin_tiles(idx, means2d, conics, cov2d, opacities, level, ry, width, height, ts)
        if len(tile) > 0:
            out = _composite(tile, gi, params, feats, ts, tiles_x * tiles_y)
    img = out.view(ts, ts, tiles_y, tiles_x, dim + 1).permute(2, 0, 3, 1, 4).reshape(tiles_y * ts, tiles_x * ts, -1)
    img = img[:height, :width]
    return img[..., :dim].contiguous(), img[..., dim:].contiguous()


def _sort_stable(keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted int64 keys (>= 0, < 2**31) and their order, equal keys in their original order."""
    if keys.device.type == "cpu" and len(keys) < 2 ** 32:
        # The position in the low 32 bits makes every key distinct and the order stable: one value sort,
        # NumPy's vectorised one (several times torch's sort on CPU).
        packed = np.sort(((keys << 32) | torch.arange(len(keys))).numpy())
        return torch.from_numpy(packed >> 32), torch.from_numpy(packed & 0xFFFFFFFF)
    return torch.sort(keys, stable=True)


def _bin_tiles(idx, means2d, conics, cov2d, opacities, level, ry, width: int, height: int, ts: int):
    """Tile intersections of the gaussians idx (M,) (front to back): only the tiles holding a pixel
    centre inside a gaussian's alpha >= 1/255 ellipse, found row of tiles by row (thin, tilted
    ellipses touch far fewer tiles than their bounding box).

    Returns, sorted by tile then depth: tile (I,), gi (I,) the gaussian, params: 6 (I,) its offset
    from the tile's centre (ox, oy), half its conic's diagonal and its off-diagonal (a, b, c:
    sigma = a dx^2 + b dx dy + c dy^2) and its log opacity.
    """
    dev = idx.device
    tiles_x = math.ceil(width / ts)
    pick = lambda v: v.index_select(0, idx)  # noqa: E731
    mx, my, lvl, cov, conic = pick(means2d[:, 0]), pick(means2d[:, 1]), pick(level), pick(cov2d), pick(conics)
    # rows of pixel centres (at +0.5) the ellipse reaches, as rows of tiles
    py0 = torch.ceil(my - pick(ry) - 0.5).clamp_min(0)
    py1 = torch.floor(my + pick(ry) - 0.5).clamp_max(height - 1)
    ty0 = torch.div(py0, ts, rounding_mode="floor")
    n_rows = (torch.div(py1, ts, rounding_mode="floor") - ty0 + 1).clamp_min(0).long()  # (M,)
    g = torch.repeat_interleave(torch.arange(len(idx), device=dev), n_rows)   # (R,) depth rank of each tile row
    first = torch.cumsum(n_rows, 0) - n_rows
    ty = ty0.index_select(0, g) + (torch.arange(len(g), device=dev) - first.index_select(0, g))
    # The ellipse sigma <= L at height dy spans x = mx + (-B dy +- sqrt(2 A L - det dy^2)) / A (conic A B C,
    # det = AC - B^2); its rightmost point is at dy = sqrt(2 L) cov_xy / sqrt(cov_xx), its leftmost at minus
    # that, so over the row's pixel centres dy in [ya, yb] the extremes are at those heights clamped.
    big_a, big_b, big_c = conic.unbind(1)
    turn = torch.sqrt(2.0 * lvl) * cov[:, 1] / cov[:, 0].sqrt()
    mxg, myg, ag, bg, half_cg, detg, lg, tg, log_o = (v.index_select(0, g) for v in (  # (R,) each
        mx, my, big_a, big_b, 0.5 * big_c, big_a * big_c - big_b * big_b, lvl * (1.0 + 1e-4) + 1e-4, turn,
        torch.log(pick(opacities))))
    centre_y = ty * ts + 0.5 * ts                                            # the tile row's centre, pixels
    ya = centre_y - (0.5 * ts - 0.5) - myg
    yb = torch.clamp_max(centre_y + (0.5 * ts - 0.5), height - 0.5) - myg

    def x_at(dy, sign):
        return mxg + (-bg * dy + sign * torch.sqrt((2.0 * ag * lg - detg * dy * dy).clamp_min(0.0))) / ag

    x_hi = x_at(torch.maximum(torch.minimum(tg, yb), ya), 1.0)
    x_lo = x_at(torch.maximum(torch.minimum(-tg, yb), ya), -1.0)
    px0 = torch.ceil(x_lo - 0.5 - 1e-3).clamp_min(0)
    px1 = torch.floor(x_hi - 0.5 + 1e-3).clamp_max(width - 1)
    tx0 = torch.div(px0, ts, rounding_mode="floor")
    n_cols = torch.where(px1 >= px0, torch.div(px1, ts, rounding_mode="floor") - tx0 + 1, 0).long()  # (R,)
    r = torch.repeat_interleave(torch.arange(len(g), device=dev), n_cols)     # (I,) tile row of each intersection
    first = torch.cumsum(n_cols, 0) - n_cols
    tile = (ty * tiles_x + tx0).long().index_select(0, r) + (torch.arange(len(r), device=dev) - first.index_select(0, r))
    tile, order = _sort_stable(tile)                                          # by tile; front to back inside
    r = r.index_select(0, order)
    params = [v.index_select(0, r) for v in (mxg - (tx0 * ts + 0.5 * ts), myg - centre_y, 0.5 * ag, bg, half_cg, log_o)]
    params[0] -= ts * (order - first.index_select(0, r)).float()              # minus the tiles right of the row's first
    return tile, idx.index_select(0, g.index_select(0, r)), params


def _composite(tile, gi, params, feats, ts: int, n_tiles: int):
    """Front-to-back compositing of the sorted tile intersections (see _bin_tiles) ->
    (ts*ts*n_tiles, D+1): features then alpha for pixel (ly, lx) of every tile in turn."""
    dev, n_pix, n_rows = tile.device, ts * ts, len(tile)
    # sigma - log(o) on every pixel of the tile as one (ts*ts, 6) @ (6, I) product: sigma = a dx^2 + b dx dy + c dy^2,
    # dx = ox - lx, dy = oy - ly, (lx, ly) the pixel's offset from the tile's centre.
    lx = (torch.arange(n_pix, device=dev) % ts).float() - 0.5 * (ts - 1)
    ly = (torch.arange(n_pix, device=dev) // ts).float() - 0.5 * (ts - 1)
    basis = torch.stack([torch.ones_like(lx), lx, ly, lx * lx, lx * ly, ly * ly], 1)  # (ts*ts, 6)
    ox, oy, a, b, c, log_o = params
    coef = torch.stack([ox * (a * ox + b * oy) + c * oy * oy - log_o, -2.0 * a * ox - b * oy, -b * ox - 2.0 * c * oy,
                        a, b, c])                                             # (6, I)
    alpha = torch.exp_(torch.neg_(basis @ coef)).clamp_max_(ALPHA_MAX)      # (ts*ts, I)
    alpha.masked_fill_(alpha < ALPHA_MIN, 0.0)
    # front-to-back transmittance within each tile, per pixel: segmented cumulative log(1 - alpha)
    log_keep = torch.log1p(-alpha)
    rows_i = torch.arange(n_rows, device=dev)
    starts = torch.ones(n_rows, dtype=torch.bool, device=dev)
    starts[1:] = tile[1:] != tile[:-1]
    first = torch.cummax(torch.where(starts, rows_i, 0), 0).values           # (I,) the tile's first row
    # Cumulative sums in float32 within blocks of rows (small values: exact enough), the blocks'
    # running offsets in float64, added only where a tile straddles a block boundary.
    blocks = -(-n_rows // _CUM_BLOCK)
    cum = torch.nn.functional.pad(log_keep, (0, blocks * _CUM_BLOCK - n_rows))
    cum = torch.cumsum(cum.view(n_pix, blocks, _CUM_BLOCK), 2)
    totals = cum[..., -1].double()
    offsets = torch.cumsum(totals, 1) - totals                                # (ts*ts, blocks)
    cum = cum.view(n_pix, -1)[:, :n_rows]
    log_t_after = cum - (cum - log_keep).index_select(1, first)
    row_block, first_block = rows_i // _CUM_BLOCK, first // _CUM_BLOCK
    cross = torch.nonzero(row_block != first_block).squeeze(1)
    if len(cross):
        log_t_after[:, cross] += (offsets.index_select(1, row_block[cross])
                                  - offsets.index_select(1, first_block[cross])).float()
    weight = torch.exp(log_t_after - log_keep).mul_(alpha)
    weight.masked_fill_(log_t_after <= math.log(T_MIN), 0.0)                  # gsplat stops at T <= 1e-4
    # Sum of weight x feature per pixel: a sparse (pixels, N) @ (N, D+1) product, one sparse row per
    # (pixel offset, tile), the intersections already in tile order.
    per_tile = torch.bincount(tile, minlength=n_tiles)
    index = torch.int32 if n_pix * n_rows < 2 ** 31 else torch.int64
    crow = torch.cat([torch.zeros(1, dtype=torch.long, device=dev),
                      (torch.cumsum(per_tile, 0)[None] + n_rows * torch.arange(n_pix, device=dev)[:, None]).view(-1)])
    sparse = torch.sparse_csr_tensor(crow.to(index), gi.to(index).repeat(n_pix), weight.view(-1),
                                     (n_pix * n_tiles, len(feats)),
                                     check_invariants=False)
    return sparse @ torch.cat([feats, torch.ones(len(feats), 1, device=dev)], 1)
