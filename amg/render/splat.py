"""Gaussian rasterisation: gsplat on CUDA, a tile-based torch rasteriser with the same contract on CPU.

`rasterization(...)` takes gsplat's arguments (means, quats, scales, opacities, colors,
viewmats, Ks, width, height, ...) and returns what `gsplat.rasterization` returns:
(render_colors (C, H, W, D[+1]), render_alphas (C, H, W, 1), meta). On CUDA tensors with
gsplat installed it IS `gsplat.rasterization`; elsewhere `rasterization_torch` computes the
same thing (gsplat's projection, 3.33-sigma footprint, 1/255 alpha cut, 0.999 alpha cap,
front-to-back compositing stopped at transmittance 1e-4, pixel centres at +0.5).

The torch rasteriser is tile-based like gsplat's kernels: every gaussian is intersected with
the screen tiles its footprint touches, the intersections are sorted by (tile, depth), and
each intersection is evaluated on all pixels of its tile at once, an (I, tile*tile) array;
front-to-back transmittance is a cumulative sum of log(1 - alpha) down each tile's rows.
No Python loop runs over gaussians, tiles or pixels.

Cameras follow gsplat: viewmats are world-to-camera with OpenCV axes (x right, y down,
z forward), Ks pinhole intrinsics in pixels.
"""

from __future__ import annotations

import math

import torch

from amg.errors import AmgError

ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.999
T_MIN = 1e-4
_CUM_BLOCK = 2048
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
    rot = quat_to_rotmat(quats)                                   # (N, 3, 3)
    m = rot * scales[:, None, :]                                  # (N, 3, 3) R S
    covar = m @ m.transpose(1, 2)                                 # (N, 3, 3)
    r, t = viewmats[:, :3, :3], viewmats[:, :3, 3]                # (C, 3, 3), (C, 3)
    mc = torch.einsum("cij,nj->cni", r, means) + t[:, None]       # (C, N, 3)
    cc = r[:, None] @ covar[None] @ r[:, None].transpose(-1, -2)  # (C, N, 3, 3)
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
    zero = torch.zeros_like(tz)
    jac = torch.stack([fx / tz_safe, zero, -fx * tx / tz_safe ** 2,
                       zero, fy / tz_safe, -fy * ty / tz_safe ** 2], -1).reshape(*tz.shape, 2, 3)
    c2 = jac @ cc @ jac.transpose(-1, -2)                         # (C, N, 2, 2)
    a, b, c = c2[..., 0, 0] + eps2d, c2[..., 0, 1], c2[..., 1, 1] + eps2d
    det = (a * c - b * b).clamp_min(1e-10)
    conics = torch.stack([c / det, -b / det, a / det], -1)
    means2d = torch.stack([fx * mc[..., 0] / tz_safe + cx, fy * mc[..., 1] / tz_safe + cy], -1)
    det_orig = c2[..., 0, 0] * c2[..., 1, 1] - b * b
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
    pad_w, pad_h = tiles_x * ts, tiles_y * ts  # rendered on whole tiles, cropped at the end
    # Footprint: pixels whose alpha can reach 1/255 (at most gsplat's 3.33 sigma box).
    reach = torch.sqrt(2.0 * torch.log((255.0 * opacities).clamp_min(1.0)))  # (N,) in sigmas
    rx, ry = reach * cov2d[:, 0].sqrt(), reach * cov2d[:, 2].sqrt()
    mx, my = means2d[:, 0], means2d[:, 1]
    keep = valid & (opacities >= ALPHA_MIN) & (mx + rx > 0) & (mx - rx < width) & (my + ry > 0) & (my - ry < height)
    idx = torch.nonzero(keep).squeeze(1)
    image = torch.zeros(pad_h * pad_w, dim, device=dev)
    alpha_img = torch.zeros(pad_h * pad_w, 1, device=dev)
    if len(idx) > 0:
        idx = idx.index_select(0, torch.argsort(depths.index_select(0, idx)))  # front to back
        pick = lambda v: v.index_select(0, idx)  # noqa: E731
        x0 = torch.floor((pick(mx) - pick(rx)) / ts).clamp(0, tiles_x - 1).int()
        x1 = torch.floor((pick(mx) + pick(rx)) / ts).clamp(0, tiles_x - 1).int()
        y0 = torch.floor((pick(my) - pick(ry)) / ts).clamp(0, tiles_y - 1).int()
        y1 = torch.floor((pick(my) + pick(ry)) / ts).clamp(0, tiles_y - 1).int()
        nx = x1 - x0 + 1
        counts = nx * (y1 - y0 + 1)                                           # tiles per gaussian
        g = torch.repeat_interleave(torch.arange(len(idx), device=dev, dtype=torch.int32), counts)  # depth rank
        gl = g.long()
        local = torch.arange(len(g), device=dev, dtype=torch.int32) - torch.repeat_interleave(
            torch.cumsum(counts, 0, dtype=torch.int32) - counts, counts)
        nxg = nx.index_select(0, gl)
        ty = y0.index_select(0, gl) + local // nxg
        tx = x0.index_select(0, gl) + local % nxg
        tile = ty * tiles_x + tx                                              # (I,)
        order = torch.argsort(tile.long() * len(idx) + gl)                    # by tile, then depth
        tile, tx, ty = tile.index_select(0, order), tx.index_select(0, order), ty.index_select(0, order)
        gi = idx.index_select(0, gl.index_select(0, order))                   # (I,) gaussian index
        # Each intersection on every pixel of its tile, (I, ts*ts): per-row terms first, then one
        # broadcast per pixel offset (pixel centres at +0.5, as gsplat).
        lx = (torch.arange(ts * ts, device=dev) % ts).float()
        ly = (torch.arange(ts * ts, device=dev) // ts).float()
        ox = (mx.index_select(0, gi) - (tx * ts + 0.5))[:, None]
        oy = (my.index_select(0, gi) - (ty * ts + 0.5))[:, None]
        con = conics.index_select(0, gi)
        dx = ox - lx
        dy = oy - ly
        sigma = dx * (0.5 * con[:, 0:1] * dx + con[:, 1:2] * dy)
        sigma.addcmul_(dy * dy, 0.5 * con[:, 2:3])
        alpha = torch.exp_(torch.log(opacities).index_select(0, gi)[:, None] - sigma).clamp_max_(ALPHA_MAX)
        alpha.masked_fill_(alpha < ALPHA_MIN, 0.0)
        # front-to-back transmittance within each tile, per pixel: segmented cumulative log(1 - alpha)
        log_keep = torch.log1p(-alpha)
        # first row of each row's tile: the running maximum of the rows where a tile starts
        n_rows = len(tile)
        rows_i = torch.arange(n_rows, device=dev)
        starts = torch.ones(n_rows, dtype=torch.bool, device=dev)
        starts[1:] = tile[1:] != tile[:-1]
        first = torch.cummax(torch.where(starts, rows_i, 0), 0).values
        # Cumulative sums in float32 within blocks of rows (small values: exact enough), the blocks'
        # running offsets in float64, added only where a tile straddles a block boundary.
        blocks = -(-n_rows // _CUM_BLOCK)
        cum = torch.nn.functional.pad(log_keep, (0, 0, 0, blocks * _CUM_BLOCK - n_rows))
        cum = torch.cumsum(cum.view(blocks, _CUM_BLOCK, -1), 1)
        totals = cum[:, -1].double()
        offsets = torch.cumsum(totals, 0) - totals                            # (blocks, ts*ts)
        cum = cum.view(-1, cum.shape[-1])[:n_rows]
        log_t_after = cum - (cum - log_keep).index_select(0, first)
        row_block, first_block = rows_i // _CUM_BLOCK, first // _CUM_BLOCK
        cross = torch.nonzero(row_block != first_block).squeeze(1)
        if len(cross):
            log_t_after[cross] += (offsets.index_select(0, row_block[cross])
                                   - offsets.index_select(0, first_block[cross])).float()
        weight = torch.exp(log_t_after - log_keep).mul_(alpha)
        weight.masked_fill_(log_t_after <= math.log(T_MIN), 0.0)              # gsplat stops at T <= 1e-4
        flat = weight.view(-1)
        nz = torch.nonzero(flat).squeeze(1)                                   # the pairs that contribute
        w = flat.index_select(0, nz)[:, None]
        rows, cols = nz // (ts * ts), nz % (ts * ts)
        # pixel index of each pair: its tile's top-left pixel plus the offset inside the tile
        corner = (ty.long() * ts * pad_w + tx.long() * ts).index_select(0, rows)
        target = corner + (cols // ts) * pad_w + cols % ts
        alpha_img.index_add_(0, target, w)
        image.index_add_(0, target, w * feats.index_select(0, gi.index_select(0, rows)))
    image = image.reshape(pad_h, pad_w, dim)[:height, :width]
    return image.contiguous(), alpha_img.reshape(pad_h, pad_w, 1)[:height, :width].contiguous()
