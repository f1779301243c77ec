"""An avatar: a body of some build with garments painted on it by region, posed by a Motion."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from amg.avatar.appearance import Appearance, parse_appearance
from amg.avatar.garments import jacket_regions, skirt_faces, skirt_skin_weights, skirt_vertices
from amg.colors import hex_to_rgb
from amg.errors import AmgError
from amg.motion import edit
from amg.motion.motion import SMPLX_JOINT_NAMES, Motion
from amg.motion.skeleton import PELVIS_HEIGHT
from amg.scene import AvatarSpec

#: Colours for garments a prompt leaves unnamed, one set per person so people differ.
PALETTE = [
    {"top": (0.2, 0.4, 0.75), "bottom": (0.18, 0.18, 0.22), "hair": (0.22, 0.14, 0.08), "shoes": (0.12, 0.1, 0.1)},
    {"top": (0.75, 0.22, 0.2), "bottom": (0.35, 0.3, 0.25), "hair": (0.08, 0.06, 0.05), "shoes": (0.9, 0.9, 0.88)},
    {"top": (0.2, 0.6, 0.35), "bottom": (0.12, 0.15, 0.3), "hair": (0.75, 0.6, 0.35), "shoes": (0.35, 0.2, 0.1)},
    {"top": (0.85, 0.7, 0.2), "bottom": (0.4, 0.4, 0.42), "hair": (0.45, 0.2, 0.08), "shoes": (0.1, 0.1, 0.12)},
]
#: Painted regions (a body vertex's region indexes this); "jacket" only where one is worn.
REGIONS = ("top", "bottom", "shoes", "hair", "skin", "jacket")


@dataclass
class PosedAvatar:
    """meshes: (vertices (T, V, 3), faces (F, 3), colours (V, 3)) per part (body, skirt);
    joints: (T, 22, 3) SMPL-X body joints. World Y up, metres, grounded."""

    meshes: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    joints: np.ndarray

    @property
    def body_vertices(self) -> np.ndarray:
        """(T, V, 3) the body mesh's vertices."""
        return self.meshes[0][0]


@dataclass
class SkinPart:
    """One mesh of a skinned avatar, at the bind pose: vertices (V, 3), faces (F, 3),
    weights and bones (V, K) into the avatar's skeleton, colours (V, 3) RGB in [0, 1]."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    weights: np.ndarray
    bones: np.ndarray
    colors: np.ndarray


@dataclass
class SkinnedAvatar:
    """An avatar performing a motion as skinned meshes on one skeleton (for export).

    skeleton: the body's SkinnedBody (bone matrices over time, SMPL-X joint bones);
    parts: the body and, for skirts and dresses, the skirt (weights transferred from the
    body, so it follows the legs as a skinned garment rather than being rebuilt per frame).
    """

    skeleton: object  # amg.body.anny_body.SkinnedBody
    parts: list[SkinPart]


@dataclass
class Avatar:
    appearance: Appearance
    body: object  # AnnyBody or SMPLXBody: .pose(motion) -> PosedBody, .pelvis_height()
    colors: np.ndarray  # (V, 3) body vertex colours
    waist_radius: tuple = (0.15, 0.11)
    prompt: str = ""
    meta: dict = field(default_factory=dict)

    def pose(self, motion: Motion, frames: slice | None = None) -> PosedAvatar:
        """The avatar performing `motion` (only `frames` of it, when given: the same frames as
        posing the whole clip, so a long clip can be posed a piece at a time).

        Motions are grounded for the canonical skeleton (amg.motion.edit.ground: one offset
        per clip). This body's legs may be longer or shorter, so its root path is scaled by
        the ratio of standing pelvis heights: its soles then meet the floor wherever the
        canonical ones do, jumps stay in the air, and strides fit its legs.
        """
        posed = self.body.pose(sized_motion(motion, self.body, frames))
        vertices, joints = posed.vertices, posed.joints
        meshes = [(vertices, posed.faces, self.colors)]
        app = self.appearance
        if app.lower in ("skirt", "dress"):
            verts = skirt_vertices(joints, app.hem, self.waist_radius)
            faces = skirt_faces(10, 40)
            meshes.append((verts, faces, np.tile(np.asarray(app.bottom, np.float32), (verts.shape[1], 1))))
        return PosedAvatar(meshes, joints)

    def joints(self, motion: Motion) -> np.ndarray:
        """(T, 22, 3) the joints of `pose(motion)`, without posing the meshes."""
        return self.body.joints(sized_motion(motion, self.body))

    def skin(self, motion: Motion) -> SkinnedAvatar:
        """The avatar performing `motion` as skinned meshes; its skeleton's joints equal `pose(motion).joints`."""
        if not hasattr(self.body, "skin"):
            raise AmgError(f"{type(self.body).__name__}: this body has no skeleton to export")
        sk = self.body.skin(sized_motion(motion, self.body))
        parts = [SkinPart("body", sk.bind_vertices, sk.faces, sk.weights, sk.bones, self.colors)]
        app = self.appearance
        if app.lower in ("skirt", "dress"):
            # The skirt as the renderer builds it at the first frame, skinned to the pelvis and thighs
            # and un-skinned to the bind pose: exact at frame 0, following the legs after.
            skin0 = sk.poses[0] @ np.linalg.inv(sk.bind)  # (B, 4, 4) bind -> frame 0
            verts0 = skirt_vertices(sk.joints[:1], app.hem, self.waist_radius)[0]
            pelvis, left_hip, right_hip = (int(sk.joint_bones[SMPLX_JOINT_NAMES.index(n)])
                                           for n in ("pelvis", "left_hip", "right_hip"))
            weights, bones = skirt_skin_weights(pelvis, left_hip, right_hip)
            blend = np.einsum("vk,vkij->vij", weights, skin0[bones])  # (N, 4, 4)
            verts = np.einsum("vij,vj->vi", np.linalg.inv(blend), np.c_[verts0, np.ones(len(verts0))])[:, :3]
            colors = np.tile(np.asarray(app.bottom, np.float32), (len(verts), 1))
            parts.append(SkinPart("skirt", verts.astype(np.float32), skirt_faces(10, 40), weights, bones, colors))
        return SkinnedAvatar(sk, parts)

    def export_glb(self, path, motion: Motion | None = None, frame: int = 0):
        """Write the avatar posed at `frame` of `motion` (rest pose if None) as GLB with vertex colours."""
        import trimesh

        from amg.files import atomic_write_bytes

        motion = motion or Motion.rest(1)
        posed = self.pose(motion)
        parts = []
        for verts, faces, colors in posed.meshes:
            rgba = np.concatenate([np.clip(colors, 0, 1), np.ones((len(colors), 1))], axis=1)
            parts.append(trimesh.Trimesh(verts[frame], faces, vertex_colors=(rgba * 255).astype(np.uint8), process=False))
        mesh = trimesh.util.concatenate(parts)
        atomic_write_bytes(path, mesh.export(file_type="glb"))
        return path


def resolve_appearance(spec: AvatarSpec, index: int = 0) -> Appearance:
    """The prompt's appearance, unnamed colours from the person's palette, explicit controls on top."""
    app = parse_appearance(spec.prompt)
    palette = PALETTE[index % len(PALETTE)]
    for region, colour in palette.items():
        if region not in app.explicit:
            if region == "bottom" and app.lower == "dress":
                continue
            setattr(app, region, colour)
            if region == "top" and app.lower == "dress":
                app.bottom = colour
    app.phenotype = {**app.phenotype, **spec.phenotype}
    if spec.garment:
        app.lower = spec.garment
    for region, hex_colour in spec.colors.items():
        setattr(app, region, hex_to_rgb(hex_colour))
        app.explicit.add(region)
    return app


def sized_motion(motion: Motion, body, frames: slice | None = None) -> Motion:
    """`motion` for `body`: its root path scaled about the clip's first frame (see Avatar.pose),
    then only `frames` of it."""
    motion = edit.scale_root(motion, body.pelvis_height() / PELVIS_HEIGHT)
    return motion if frames is None else motion.frame_range(*frames.indices(motion.num_frames)[:2])


def make_body(spec: AvatarSpec, phenotype: dict[str, float]):
    if spec.body == "smplx":
        from amg.body.smplx_body import SMPLXBody

        return SMPLXBody.from_env(phenotype)
    from amg.body.anny_body import AnnyBody

    return AnnyBody(anny_phenotype(phenotype))


#: How much Anny's muscle value drops as the weight moves away from average (see anny_phenotype).
WEIGHT_SOFTENS = 0.5


def anny_phenotype(phenotype: dict[str, float]) -> dict[str, float]:
    """The avatar's build in Anny's values. Weight is read as body fat: Anny (MakeHuman's targets)
    changes the body little with weight at its average muscle (waist girth +19% from weight 0 to 1),
    and much with low muscle (skinny .. obese), so muscle is lowered as the weight moves away from the
    average (x1.6 girth from 0 to 1); the muscle a prompt or slider sets still adds on top."""
    weight = phenotype.get("weight", 0.5)
    muscle = phenotype.get("muscle", 0.5) - WEIGHT_SOFTENS * abs(weight - 0.5)
    return {**phenotype, "muscle": min(1.0, max(0.0, muscle))}


def build_avatar(spec: AvatarSpec, index: int = 0, appearance: Appearance | None = None) -> Avatar:
    """The avatar a spec describes; `index` (the person's place in the scene) picks default colours."""
    app = appearance or resolve_appearance(spec, index)
    body = make_body(spec, app.phenotype)
    regions = body.vertex_regions(app)
    if app.jacket is not None:
        rest = body.rest_pose
        regions = jacket_regions(regions, rest.vertices[0], rest.joints[0], app.jacket_hem,
                                 *(REGIONS.index(r) for r in ("top", "bottom", "jacket")))
    paint = {r: getattr(app, r) for r in REGIONS}
    paint["jacket"] = app.jacket if app.jacket is not None else app.top
    colors = np.stack([np.asarray(paint[r], np.float32) for r in REGIONS])[regions]
    return Avatar(app, body, colors, waist_radius=body.waist_radius(), prompt=spec.prompt)


def build_avatars(specs: list[AvatarSpec]) -> list[Avatar]:
    """Avatars for every person of a scene, made visually distinct from each other."""
    apps = [resolve_appearance(s, i) for i, s in enumerate(specs)]
    make_distinct(apps)
    return [build_avatar(s, i, a) for i, (s, a) in enumerate(zip(specs, apps))]


def make_distinct(apps: list[Appearance], min_distance: float = 0.25) -> None:
    """Change what the user did not fix until no two people share the same look."""
    def signature(a: Appearance) -> np.ndarray:
        return np.concatenate([a.top, a.bottom, a.hair, [0.3 * (a.lower in ("skirt", "dress"))]])

    for i in range(1, len(apps)):
        for attempt in range(len(PALETTE) + 2):
            if all(np.linalg.norm(signature(apps[i]) - signature(apps[k])) >= min_distance for k in range(i)):
                break
            a = apps[i]
            free = [r for r in ("top", "hair", "bottom") if r not in a.explicit]
            alt = PALETTE[(i + attempt + 1) % len(PALETTE)]
            if free:
                for r in free:
                    setattr(a, r, alt[r])
            else:  # everything was named: shade the top so the two still read apart
                a.top = tuple(float(c) * 0.6 if np.mean(a.top) > 0.5 else min(1.0, float(c) + 0.35) for c in a.top)
                a.hair = alt["hair"]
