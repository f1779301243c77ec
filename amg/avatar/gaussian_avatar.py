"""Gaussian avatars: 3D gaussians bound to a body and moved by its motion (HumanGaussian's animation).

The gaussians live in the body's canonical space: the body standing in the rest T-pose
(`Motion.rest`), world frame, metres. Each gaussian takes the skinning weights of its
nearest body surface point; a motion moves its centre and rotation by linear blend
skinning (the bones' rest-pose-relative transforms blended by those weights, the rotation
part made orthonormal). A skirt is cloth the body does not skin: its gaussians ride on
the skirt's triangles instead (centre at a fixed barycentric point, rotated with the
triangle's frame).

Two sources: `GaussianAvatar.from_avatar` covers a mesh avatar's surface with flat
gaussians carrying its colours; `GaussianAvatar.from_ply` places a 3DGS `.ply` on a body
(on SMPL-X as it is, since SMPL-X's rest pose is its canonical space; on Anny after a fit
of scale and offset, reported in `fit`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from amg.avatar.avatar import Avatar, make_body, sized_motion
from amg.avatar.garments import skirt_faces, skirt_vertices
from amg.avatar.gaussians import Gaussians, read_ply, write_ply
from amg.errors import AmgError
from amg.motion.motion import Motion

#: Gaussians a mesh avatar is covered with by default (the paper's avatars have 10k-100k).
DEFAULT_COUNT = 30_000
_SKIRT_RINGS, _SKIRT_SEGMENTS = 10, 40


@dataclass
class PosedGaussians:
    """A gaussian avatar over T frames, world frame (Y up, metres).

    means (T, N, 3); quats (T, N, 4) w x y z (as stored: not normalised); scales (N, 3), opacities (N,) activated;
    sh (N, K, 3) colour coefficients of degree `sh_degree`; joints (T, 22, 3).
    """

    means: np.ndarray
    quats: np.ndarray
    scales: np.ndarray
    opacities: np.ndarray
    sh: np.ndarray
    sh_degree: int
    joints: np.ndarray
    #: (T, V, 3) the body under the splat (face points, fitting), never drawn.
    body_vertices: np.ndarray
    #: No meshes: code that draws a person's meshes draws nothing for a gaussian person.
    meshes: list = field(default_factory=list)


@dataclass
class Fit:
    """How an imported splat was placed on the body: canonical = scale * file + offset."""

    scale: float
    offset: np.ndarray
    median_distance: float   # metres from the gaussians' centres to the body surface after the fit
    within_5cm: float        # fraction of gaussians within 5 cm of the body surface
    body: str

    def summary(self) -> str:
        if self.body == "smplx":
            return "placed on SMPL-X as it is (its rest pose is the splat's canonical space)"
        msg = (f"fitted onto the Anny body: scale {self.scale:.3f}, offset ({', '.join(f'{v:+.3f}' for v in self.offset)}) m; "
               f"median distance to the body surface {100 * self.median_distance:.1f} cm, "
               f"{100 * self.within_5cm:.0f}% of gaussians within 5 cm")
        if self.median_distance > 0.05:
            msg += (". The splat does not match a body standing in a T-pose well: its parts follow the nearest "
                    "body parts, so it may tear when the body moves")
        return msg


def _quat_wxyz(r: Rotation) -> np.ndarray:
    return np.roll(r.as_quat(), 1, axis=-1)


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of (..., 4) w x y z quaternions (b's length is kept: 3DGS quats are not unit)."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], -1)


def nearest_surface(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray):
    """Nearest point on the mesh for each point: (face (N,), barycentric (N, 3), distance (N,)).

    Candidates are the triangles around the nearest vertex (exact for points near the surface,
    which is where a body's gaussians are).
    """
    import trimesh
    from scipy.spatial import cKDTree

    used = np.unique(faces)  # vertices on some triangle (a model may carry loose ones)
    _, nearest = cKDTree(vertices[used]).query(points)
    nearest = used[nearest]
    vertex_faces = trimesh.Trimesh(vertices, faces, process=False).vertex_faces  # (V, max) padded with -1
    cand = vertex_faces[nearest]                                                 # (N, C)
    valid = cand >= 0
    rows, cols = np.nonzero(valid)
    tri = vertices[faces[cand[rows, cols]]]                                      # (M, 3, 3)
    closest = trimesh.triangles.closest_point(tri, points[rows])
    dist = np.full(cand.shape, np.inf)
    dist[rows, cols] = np.linalg.norm(closest - points[rows], axis=1)
    best = dist.argmin(1)
    face = cand[np.arange(len(points)), best]
    pick = np.zeros(cand.shape, bool)
    pick[np.arange(len(points)), best] = True
    sel = pick[rows, cols]
    bary = np.zeros((len(points), 3))
    bary[rows[sel]] = trimesh.triangles.points_to_barycentric(tri[sel], closest[sel])
    return face, np.clip(bary, 0.0, 1.0), dist[np.arange(len(points)), best]


def _triangle_frames(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(..., F, 3, 3) orthonormal frame of each triangle: columns edge, normal x edge, normal."""
    v0, v1, v2 = (vertices[..., faces[:, i], :] for i in range(3))
    e1 = v1 - v0
    n = np.cross(e1, v2 - v0)
    e1 = e1 / np.maximum(np.linalg.norm(e1, axis=-1, keepdims=True), 1e-12)
    n = n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    return np.stack([e1, np.cross(n, e1), n], axis=-1)


def surface_gaussians(vertices, faces, colors, count: int, seed: int = 0, thickness: float = 0.1,
                      spread: float = 0.52, jitter: float = 0.5):
    """Flat gaussians covering a mesh (canonical pose): (Gaussians, face (N,), barycentric (N, 3)).

    Area-weighted samples; each is a disc in its triangle's plane, sized so neighbours overlap
    (standard deviation `spread` times the mean spacing), and takes the colour of its triangle's
    nearest corner (garment borders stay sharp).
    """
    rng = np.random.default_rng(seed)
    tri = vertices[faces]                                                     # (F, 3, 3)
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    # systematic sampling: every triangle gets the floor or ceiling of its share (no clumps, no gaps)
    face = np.searchsorted(np.cumsum(area) / area.sum() * count, np.arange(count) + rng.random(), side="right")
    face = np.minimum(face, len(faces) - 1)
    r1, r2 = np.sqrt(rng.random(count)), rng.random(count)
    # near the triangle's centre: samples follow the mesh's own even tessellation (fewer gaps)
    bary = (1 - jitter) / 3 + jitter * np.stack([1 - r1, r1 * (1 - r2), r1 * r2], 1)
    means = np.einsum("nk,nkd->nd", bary, tri[face])
    frames = _triangle_frames(vertices, faces)[face]
    sigma = spread * np.sqrt(area.sum() / count)
    scales = np.tile([sigma, sigma, sigma * thickness], (count, 1))
    corner = faces[face, bary.argmax(1)]
    rgb = np.asarray(colors, np.float64)[corner]
    # a little baked light from above so the splat reads as a body, not a flat cut-out
    shade = 0.82 + 0.22 * np.clip(frames[:, 1, 2], 0.0, 1.0)
    rgb = np.clip(rgb * shade[:, None], 0.0, 1.0)
    quats = _quat_wxyz(Rotation.from_matrix(frames))
    return Gaussians.from_rgb(means, quats, scales, np.full(count, 0.95), rgb), face, bary


class GaussianAvatar:
    """Gaussians bound to a body (see the module docstring). `pose(motion)` -> PosedGaussians."""

    def __init__(self, gaussians: Gaussians, body, body_index: np.ndarray, weights: np.ndarray,
                 skirt: dict | None = None, prompt: str = "", fit: Fit | None = None, appearance=None):
        self.gaussians = gaussians          # canonical space
        self.body = body
        self.body_index = body_index        # (Nb,) gaussians skinned by the body
        self.weights = weights              # (Nb, B) their skinning weights
        self.skirt = skirt                  # {"index", "face", "bary", "hem", "waist_radius", "rest_frames"}
        self.prompt = prompt
        self.fit = fit
        self.appearance = appearance
        self.meta: dict = {}
        self._rest_bones_inv = np.linalg.inv(body.skin(Motion.rest(1)).poses[0].astype(np.float64))

    def __len__(self) -> int:
        return len(self.gaussians)

    # ---- sources -------------------------------------------------------------------------------------------
    @classmethod
    def from_avatar(cls, avatar: Avatar, count: int = DEFAULT_COUNT, seed: int = 0) -> "GaussianAvatar":
        """The same person as a splat: gaussians on the mesh avatar's surface, with its colours."""
        body = avatar.body
        rest = body.pose(Motion.rest(1))
        verts, faces = rest.vertices[0].astype(np.float64), rest.faces
        skirt = None
        n_skirt = 0
        app = avatar.appearance
        if app.lower in ("skirt", "dress"):
            sv = skirt_vertices(rest.joints, app.hem, avatar.waist_radius)[0].astype(np.float64)
            sf = skirt_faces(_SKIRT_RINGS, _SKIRT_SEGMENTS)
            body_area = _area(verts, faces)
            skirt_area = _area(sv, sf)
            n_skirt = int(round(count * skirt_area / (body_area + skirt_area)))
        body_g, face, bary = surface_gaussians(verts, faces, avatar.colors, count - n_skirt, seed)
        parts = [body_g]
        if n_skirt:
            colour = np.tile(np.asarray(app.bottom, np.float32), (len(sv), 1))
            # the skirt's long triangles leave gaps between random samples: wider discs close them
            skirt_g, sface, sbary = surface_gaussians(sv, sf, colour, n_skirt, seed + 1, spread=0.8, jitter=1.0)
            parts.append(skirt_g)
            skirt = {"index": np.arange(count - n_skirt, count), "face": sface, "bary": sbary, "hem": app.hem,
                     "waist_radius": avatar.waist_radius, "rest_frames": _triangle_frames(sv, sf)[sface]}
        weights = _surface_weights(body, face, bary, faces)
        return cls(Gaussians.concatenate(parts), body, np.arange(count - n_skirt), weights, skirt,
                   prompt=avatar.prompt, appearance=app)

    @classmethod
    def from_ply(cls, path: str | os.PathLike, spec=None, phenotype: dict | None = None) -> "GaussianAvatar":
        """A 3DGS `.ply` placed on a body: SMPL-X as it is when the spec asks for it or the user's SMPL-X
        model is configured ($AMG_SMPLX_MODEL); else the Anny body `spec` describes, after a fit."""
        from amg.scene import AvatarSpec

        from amg.body.smplx_body import ENV

        spec = spec or AvatarSpec()
        if spec.body != "smplx" and os.environ.get(ENV):
            # the splat's canonical space is SMPL-X's: with the user's SMPL-X model, wear it exactly there
            spec = spec.model_copy(update={"body": "smplx"})
        gaussians = read_ply(path)
        body = make_body(spec, phenotype or dict(spec.phenotype))
        rest = body.pose(Motion.rest(1))
        verts, faces = rest.vertices[0].astype(np.float64), rest.faces
        if spec.body == "smplx":
            # SMPL-X's zero pose is the splat's canonical space; our rest pose puts its pelvis at Motion.rest's
            offset = Motion.rest(1).transl[0] - body._rest_pelvis
            scale = 1.0
        else:
            scale, offset = fit_to_body(gaussians, verts, faces)
        placed = Gaussians(gaussians.means * scale + offset, gaussians.quats, gaussians.log_scales + np.log(scale),
                           gaussians.opacity_logits, gaussians.sh_dc, gaussians.sh_rest)
        face, bary, dist = nearest_surface(placed.means.astype(np.float64), verts, faces)
        fit = Fit(float(scale), np.asarray(offset, float), float(np.median(dist)), float(np.mean(dist < 0.05)),
                  spec.body)
        weights = _surface_weights(body, face, bary, faces)
        return cls(placed, body, np.arange(len(placed)), weights, prompt=Path(path).name, fit=fit)

    # ---- animation -----------------------------------------------------------------------------------------
    def pose(self, motion: Motion, frames: slice | None = None) -> PosedGaussians:
        """The avatar performing `motion` (root path scaled to this body's size, as mesh avatars
        do; only `frames` of it when given, as Avatar.pose)."""
        motion = sized_motion(motion, self.body, frames)
        posed_body = self.body.pose(motion)
        # every bone's move from the rest pose: (T, B, 4, 4)
        bones = self.body.skin(motion).poses.astype(np.float64) @ self._rest_bones_inv
        g = self.gaussians
        t = motion.num_frames
        means = np.empty((t, len(g), 3), np.float32)
        quats = np.empty((t, len(g), 4), np.float32)
        idx = self.body_index
        flat = bones[:, :, :3, :].transpose(1, 0, 2, 3).reshape(bones.shape[1], -1).astype(np.float32)
        blend = (self.weights @ flat).reshape(len(idx), t, 3, 4).transpose(1, 0, 2, 3)  # (T, Nb, 3, 4)
        means[:, idx] = np.einsum("tnij,nj->tni", blend[..., :3], g.means[idx].astype(np.float64)) + blend[..., 3]
        # The blended matrix is not quite a rotation: blend the bones' quaternions instead (normalised
        # weighted sum, one hemisphere), the usual cheap stand-in for its nearest rotation.
        bone_q = _quat_wxyz(Rotation.from_matrix(bones[:, :, :3, :3].reshape(-1, 3, 3))).reshape(t, -1, 4)
        bone_q *= np.where(bone_q[..., :1] < 0, -1.0, 1.0)
        q = (self.weights @ bone_q.transpose(1, 0, 2).reshape(bone_q.shape[1], -1)).reshape(len(idx), t, 4)
        q /= np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), 1e-12)
        quats[:, idx] = quat_multiply(q.transpose(1, 0, 2), g.quats[idx][None].astype(np.float64))
        if self.skirt is not None:
            s = self.skirt
            sv = skirt_vertices(posed_body.joints, s["hem"], s["waist_radius"]).astype(np.float64)  # (T, V, 3)
            sf = skirt_faces(_SKIRT_RINGS, _SKIRT_SEGMENTS)
            tri = sv[:, sf[s["face"]]]                                                  # (T, Ns, 3, 3)
            means[:, s["index"]] = np.einsum("nk,tnkd->tnd", s["bary"], tri)
            frames = _triangle_frames(sv, sf)[:, s["face"]]                             # (T, Ns, 3, 3)
            rel = frames @ np.swapaxes(s["rest_frames"], -1, -2)[None]
            rel_q = _quat_wxyz(Rotation.from_matrix(rel.reshape(-1, 3, 3))).reshape(t, -1, 4)
            quats[:, s["index"]] = quat_multiply(rel_q, g.quats[s["index"]][None].astype(np.float64))
        _, _, scales, opacities, sh = g.activated()
        return PosedGaussians(means, quats, scales, opacities, sh, g.sh_degree, posed_body.joints,
                              posed_body.vertices)

    def joints(self, motion: Motion) -> np.ndarray:
        """(T, 22, 3) the joints of `pose(motion)`, without moving the gaussians."""
        return self.body.joints(sized_motion(motion, self.body))

    def posed_gaussians(self, motion: Motion | None = None, frame: int = 0) -> Gaussians:
        """The stored-form gaussians at `frame` of `motion` (the canonical pose when None)."""
        if motion is None:
            return self.gaussians
        posed = self.pose(motion)
        g = self.gaussians
        return Gaussians(posed.means[frame], posed.quats[frame], g.log_scales, g.opacity_logits, g.sh_dc, g.sh_rest)

    def export_ply(self, path: str | os.PathLike, motion: Motion | None = None, frame: int = 0) -> Path:
        """A standard 3DGS `.ply` of the avatar (canonical T-pose, or posed at `frame` of `motion`)."""
        return write_ply(self.posed_gaussians(motion, frame), path)


def _area(vertices, faces) -> float:
    tri = vertices[faces]
    return float(0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum())


def _surface_weights(body, face, bary, faces) -> np.ndarray:
    """(N, B) skinning weights of surface points: their triangle's vertex weights, blended barycentrically."""
    skin = body.skin(Motion.rest(1))
    dense = np.zeros((len(skin.bind_vertices), len(skin.names)), np.float32)  # (V, B)
    np.add.at(dense, (np.arange(len(dense))[:, None], skin.bones), skin.weights)
    return np.einsum("nk,nkb->nb", bary, dense[faces[face]]).astype(np.float32)


def fit_to_body(gaussians: Gaussians, vertices: np.ndarray, faces: np.ndarray, iterations: int = 8,
                sample: int = 6000) -> tuple[float, np.ndarray]:
    """Scale and offset that put a splat on a body standing in the rest pose (Y up).

    Starts by matching the robust bounding boxes (height, feet on the body's soles, centred),
    then refines scale and offset by iterated closest points to the body's vertices.
    """
    from scipy.spatial import cKDTree

    _, _, _, opacities, _ = gaussians.activated()
    pts = gaussians.means[opacities > 0.2].astype(np.float64)
    if len(pts) < 10:
        pts = gaussians.means.astype(np.float64)
    if len(pts) > sample:
        pts = pts[np.random.default_rng(0).choice(len(pts), sample, replace=False)]
    lo, hi = np.percentile(pts, 1, axis=0), np.percentile(pts, 99, axis=0)
    blo, bhi = vertices.min(0), vertices.max(0)
    if hi[1] - lo[1] <= 1e-9:
        raise AmgError("gaussian splat: it has no height (all gaussians on one horizontal plane): cannot fit a body")
    scale = (bhi[1] - blo[1]) / (hi[1] - lo[1])
    offset = np.array([(blo[0] + bhi[0]) / 2 - scale * (lo[0] + hi[0]) / 2, blo[1] - scale * lo[1],
                       (blo[2] + bhi[2]) / 2 - scale * (lo[2] + hi[2]) / 2])
    tree = cKDTree(vertices)
    first = scale
    for _ in range(iterations):
        placed = pts * scale + offset
        dist, near = tree.query(placed)
        keep = dist <= np.percentile(dist, 90)   # ignore outliers (loose hair, props)
        p, q = pts[keep], vertices[near[keep]]
        pc, qc = p - p.mean(0), q - q.mean(0)
        # nearest-point matches pull inwards: keep the scale near the bounding-box one
        scale = float(np.clip((pc * qc).sum() / max((pc * pc).sum(), 1e-12), 0.85 * first, 1.15 * first))
        offset = q.mean(0) - scale * p.mean(0)
    return scale, offset


def scene_avatar(spec, avatar: Avatar, resolve_path=Path):
    """The avatar a person of a scene wears: `avatar` itself, or its gaussian form the spec asks for."""
    if spec.gaussians:
        return GaussianAvatar.from_ply(resolve_path(spec.gaussians), spec, phenotype=avatar.appearance.phenotype)
    if spec.style == "gaussians":
        return GaussianAvatar.from_avatar(avatar)
    return avatar
