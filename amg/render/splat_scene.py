"""Gaussian people in a scene: rendered per frame (gsplat on CUDA, the torch rasteriser on CPU)
and depth-composited with the mesh rendering, so splats and meshes occlude each other."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from amg.render.rasterizer import Rasterized
from amg.render.splat import GL_TO_CV, eval_sh, gsplat_available, rasterization

#: A pixel belongs to a gaussian person (mask, id, depth) where the splats cover at least this much.
COVER = 0.5
#: Mip-Splatting's opacity compensation: sub-pixel gaussians (people far away) keep their true
#: coverage instead of swelling the silhouette by the eps2d blur.
RASTERIZE_MODE = "antialiased"


@dataclass
class SplatLayer:
    """rgb (T, H, W, 3) float, premultiplied by alpha; alpha (T, H, W); depth (T, H, W) expected
    camera depth in metres (inf where nothing); ids (T, H, W) uint8 person id (0 = none)."""

    rgb: np.ndarray
    alpha: np.ndarray
    depth: np.ndarray
    ids: np.ndarray


def camera_matrices(c2w: np.ndarray, fov_y_deg: np.ndarray, width: int, height: int):
    """OpenGL camera-to-world (T, 4, 4) and vertical FOV (T,) -> gsplat viewmats (T, 4, 4), Ks (T, 3, 3)."""
    c2w = torch.as_tensor(np.asarray(c2w), dtype=torch.float64)
    viewmats = (GL_TO_CV.double() @ torch.linalg.inv(c2w)).float()
    f = 0.5 * height / np.tan(np.radians(np.asarray(fov_y_deg, np.float64)) / 2)
    ks = torch.zeros(len(c2w), 3, 3)
    ks[:, 0, 0] = torch.as_tensor(f, dtype=torch.float32)
    ks[:, 1, 1] = ks[:, 0, 0]
    ks[:, 0, 2], ks[:, 1, 2], ks[:, 2, 2] = width / 2, height / 2, 1.0
    return viewmats, ks


def default_device() -> str:
    return "cuda" if gsplat_available() else "cpu"


@torch.no_grad()
def render_gaussian_people(
    people: list,              # PosedGaussians per person: means (T, N_p, 3), quats (T, N_p, 4), ...
    ids: list[int],            # person id written for each (1..255)
    c2w: np.ndarray,           # (T, 4, 4) camera-to-world, OpenGL axes
    fov_y_deg: np.ndarray,     # (T,)
    width: int,
    height: int,
    device: str | None = None,
    near: float = 0.05,
) -> SplatLayer:
    """Every frame of the gaussian people, seen by the camera."""
    device = device or default_device()
    num_frames = len(c2w)
    viewmats, ks = camera_matrices(c2w, fov_y_deg, width, height)
    num = len(people)
    cat = lambda arrs: torch.as_tensor(np.concatenate(arrs), dtype=torch.float32, device=device)  # noqa: E731
    scales = cat([p.scales for p in people])
    opacities = cat([p.opacities for p in people])
    degree = max(p.sh_degree for p in people)
    k = (degree + 1) ** 2
    sh = cat([np.concatenate([p.sh, np.zeros((len(p.sh), k - p.sh.shape[1], 3), np.float32)], 1) for p in people])
    onehot = torch.zeros(len(scales), num, device=device)
    start = 0
    for i, p in enumerate(people):
        onehot[start:start + len(p.scales), i] = 1.0
        start += len(p.scales)
    rgb = np.empty((num_frames, height, width, 3), np.float32)
    alpha = np.empty((num_frames, height, width), np.float32)
    depth = np.empty((num_frames, height, width), np.float32)
    out_ids = np.zeros((num_frames, height, width), np.uint8)
    id_table = torch.as_tensor(ids, dtype=torch.uint8)
    for t in range(num_frames):
        means = cat([p.means[t] for p in people])
        quats = cat([p.quats[t] for p in people])
        view, kt = viewmats[t:t + 1].to(device), ks[t:t + 1].to(device)
        campos = torch.linalg.inv(view)[0, :3, 3]
        colors = torch.cat([eval_sh(degree, means - campos, sh), onehot], 1)  # (N, 3 + P)
        img, acc, _ = rasterization(means, quats, scales, opacities, colors, view, kt, width, height,
                                    near_plane=near, render_mode="RGB+ED", rasterize_mode=RASTERIZE_MODE)
        img, acc = img[0].cpu(), acc[0, ..., 0].cpu()
        covered = acc >= COVER
        rgb[t] = img[..., :3].numpy()
        alpha[t] = acc.numpy()
        depth[t] = torch.where(acc > 0, img[..., -1], torch.inf).numpy()
        who = img[..., 3:3 + num].argmax(-1)
        out_ids[t] = torch.where(covered, id_table[who], 0).numpy()
    return SplatLayer(rgb, alpha, depth, out_ids)


def composite(mesh: Rasterized, layer: SplatLayer) -> Rasterized:
    """Splats over the mesh rendering where they are nearer than its surface (meshes are opaque)."""
    front = (layer.alpha > 0) & (layer.depth < mesh.depth)
    base = mesh.rgb.astype(np.float32) / 255.0
    over = layer.rgb + (1.0 - layer.alpha[..., None]) * base
    rgb = np.where(front[..., None], over, base)
    owns = front & (layer.alpha >= COVER)
    return Rasterized(
        np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8),
        np.where(owns, layer.ids, mesh.ids).astype(np.uint8),
        np.where(owns, layer.depth, mesh.depth).astype(np.float32),
    )


def fit_preview(avatar, size: int = 320) -> np.ndarray:
    """(size, 2*size, 3) uint8: the gaussian avatar over its body (grey), from the front and the side.

    Shows how a splat was placed on the body: where the body shows through or the splat
    overhangs, the fit is off.
    """
    from amg.camera.camera import look_at
    from amg.motion.motion import Motion
    from amg.render.rasterizer import rasterize

    posed = avatar.pose(Motion.rest(1))
    verts = posed.body_vertices  # the body as the splat stands on it (same grounding)
    lo = np.minimum(verts[0].min(0), np.percentile(posed.means[0], 1, axis=0))
    hi = np.maximum(verts[0].max(0), np.percentile(posed.means[0], 99, axis=0))
    centre = (lo + hi) / 2
    fov = 30.0
    dist = 1.15 * (hi - lo).max() / 2 / np.tan(np.radians(fov / 2)) + 0.5
    c2w = np.stack([look_at(centre + np.array(d) * dist, centre) for d in ((0, 0, 1), (1, 0, 0))])
    fovs = np.full(2, fov)
    grey = np.full((verts.shape[1], 3), 0.6, np.float32)
    body = rasterize([np.repeat(verts, 2, 0)], [avatar.body.faces], [grey], c2w, fovs, size, size)
    posed2 = type(posed)(np.repeat(posed.means, 2, 0), np.repeat(posed.quats, 2, 0), posed.scales, posed.opacities,
                         posed.sh, posed.sh_degree, np.repeat(posed.joints, 2, 0), np.repeat(posed.body_vertices, 2, 0))
    layer = render_gaussian_people([posed2], [1], c2w, fovs, size, size)
    base = body.rgb.astype(np.float32) / 255.0
    a = 0.75 * layer.alpha[..., None]
    over = base * (1 - a) + a * layer.rgb / np.maximum(layer.alpha[..., None], 1e-6)
    img = np.clip(np.round(over * 255), 0, 255).astype(np.uint8)
    return np.concatenate(list(img), axis=1)
