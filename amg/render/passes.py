"""Control passes of a Scene: the videos control models (Wan VACE, ControlNets) understand.

Functional core: every pass is a (T, H, W, 3) uint8 video made from one RenderResult, so
all passes of a clip share one rasterisation and line up pixel for pixel.

  rgb    the avatars as rendered (AMG's condition video)
  depth  inverse depth, near = bright, normalised over the whole clip (no flicker; a clip
         rendered in chunks is normalised by the range of all of them, `inverse_depth_range`);
         black where nothing is (Depth-Anything-style maps, which VACE's depth mode reads)
  pose   OpenPose/DWPose body skeleton (18 keypoints, OpenPose's colour per limb) on black,
         drawn from the bodies' joints projected through the scene camera; nose, eyes and
         ears are vertices of each head, so they turn with it
  mask   white where any person is, black elsewhere
  pose+depth  the skeleton drawn over the depth pass (pose where it is drawn, depth elsewhere)

`reference_images` renders each avatar alone, front view, on a plain background (VACE's
identity/clothing references).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from amg.errors import AmgError

PASSES = ("rgb", "depth", "pose", "mask")
#: Control videos a control model can be given (`pose+depth`: the skeleton over the depth).
CONTROLS = ("depth", "pose", "pose+depth")

# ---- OpenPose's 18-keypoint body (COCO order) ------------------------------------------------
KEYPOINT_NAMES = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
                  "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
                  "right_eye", "left_eye", "right_ear", "left_ear")
#: SMPL joint feeding each OpenPose keypoint; -1 = made otherwise (neck: mid-shoulders; face: head vertices).
SMPL_FOR_KEYPOINT = (-1, -1, 17, 19, 21, 16, 18, 20, 2, 5, 8, 1, 4, 7, -1, -1, -1, -1)
#: The limbs OpenPose draws (keypoint pairs), in its drawing order.
LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
         (1, 0), (0, 14), (14, 16), (0, 15), (15, 17))
#: OpenPose's colour per keypoint (RGB); limb i takes colour i. Limbs are drawn at 60 %.
COLORS = ((255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
          (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
          (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85))
FACE_KEYPOINTS = (0, 14, 15, 16, 17)  # nose, right eye, left eye, right ear, left ear


def pass_paths(output, passes) -> dict:
    """{pass: path}: rgb at `output` (an .mp4), every other pass beside it as STEM.NAME.mp4."""
    from pathlib import Path

    output = Path(output)
    return {n: output if n == "rgb" else output.with_name(f"{output.stem}.{n}{output.suffix}") for n in passes}


def check_passes(passes, allowed=PASSES) -> tuple[str, ...]:
    """Pass names from a list or "rgb,depth" text; unknown or repeated names are refused."""
    names = [p.strip() for p in passes.split(",")] if isinstance(passes, str) else [str(p).strip() for p in passes]
    names = [n for n in names if n]
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise AmgError(f"passes: {', '.join(bad) if bad else 'none given'}; choose from {', '.join(allowed)}")
    if len(set(names)) != len(names):
        raise AmgError(f"passes: {','.join(names)} names a pass twice")
    return tuple(names)


def render_passes(scene, passes=PASSES, frames: int | None = None, width: int | None = None,
                  height: int | None = None, fps: float | None = None,
                  progress: Callable[[str], None] | None = None) -> dict[str, np.ndarray]:
    """Render `scene` once and return {pass name: (T, H, W, 3) uint8} for each requested pass
    (names from PASSES, plus "pose+depth"). Size/frames/fps override the scene's settings."""
    from amg.render.scene_render import render_scene

    names = check_passes(passes, PASSES + ("pose+depth",))
    return passes_from_render(render_scene(scene, frames=frames, width=width, height=height, fps=fps,
                                           progress=progress), names)


def passes_from_render(result, passes=PASSES, inverse_range: tuple[float, float] | None = None
                       ) -> dict[str, np.ndarray]:
    """The passes of an amg.render.RenderResult: {name: (T, H, W, 3) uint8}. For one chunk of a
    clip (amg.render.render_chunks), `inverse_range` is the whole clip's (see depth_pass)."""
    names = check_passes(passes, PASSES + ("pose+depth",))
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name == "rgb":
            out[name] = result.rgb
        elif name == "depth":
            out[name] = depth_pass(result.depth, inverse_range=inverse_range)
        elif name == "mask":
            out[name] = mask_pass(result.masks)
        elif name == "pose":
            out[name] = pose_pass(result)
        else:  # pose+depth
            out[name] = overlay(pose_pass(result), depth_pass(result.depth, inverse_range=inverse_range))
    return out


def depth_pass(depth: np.ndarray,  # (T, H, W) float metres along the view axis, inf = nothing
               floor_value: int = 24, dtype=np.uint8,
               inverse_range: tuple[float, float] | None = None) -> np.ndarray:
    """(T, H, W, 3) grey: inverse depth mapped so the nearest surface of the clip is white (255,
    or 65535 for dtype=np.uint16, the 16-bit PNGs of image sequences) and the farthest
    `floor_value` (in 8-bit steps); nothing = 0. One normalisation for the whole clip: over
    `depth`, or over `inverse_range` (`inverse_depth_range` of the whole clip) when `depth` is
    one chunk of it, so a clip written chunk by chunk is the clip written whole."""
    depth = np.asarray(depth, np.float32)
    out = np.zeros(depth.shape, dtype)
    where, inv = _seen_inverse(depth)
    if len(where):
        top = float(np.iinfo(dtype).max)
        floor_value = floor_value * top / 255.0
        lo, hi = (float(inv.min()), float(inv.max())) if inverse_range is None else inverse_range
        scale = (top - floor_value) / max(hi - lo, 1e-12)
        out.reshape(-1)[where] = np.rint(floor_value + (inv - lo) * scale).astype(dtype)
    return np.broadcast_to(out[..., None], out.shape + (3,)).copy()


def inverse_depth_range(depth: np.ndarray,  # (T, H, W) float metres, inf = nothing
                        joined: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """(lowest, highest) inverse depth of the pixels where something is (None: nothing is), joined
    with the range `joined` of the frames before: over the chunks of a clip, the clip's range."""
    _, inv = _seen_inverse(np.asarray(depth, np.float32))
    if not len(inv):
        return joined
    lo, hi = float(inv.min()), float(inv.max())
    return (lo, hi) if joined is None else (min(lo, joined[0]), max(hi, joined[1]))


def _seen_inverse(depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the pixels where something is, and their inverse depths (float32)."""
    seen = np.isfinite(depth) & (depth > 0)
    where = np.flatnonzero(seen)  # people cover a small share of the frame: work on those pixels only
    return where, 1.0 / depth.reshape(-1)[where]


def mask_pass(masks: np.ndarray) -> np.ndarray:
    """(T, P, H, W) bool per-person masks -> (T, H, W, 3) uint8, white where anyone is."""
    anyone = np.asarray(masks).any(axis=1).view(np.uint8) * np.uint8(255)  # bool -> 0/255 without a copy of bools
    return np.broadcast_to(anyone[..., None], anyone.shape + (3,)).copy()


def overlay(top: np.ndarray, under: np.ndarray) -> np.ndarray:
    """`top` where it is not black, `under` elsewhere; both (T, H, W, 3) uint8."""
    return np.where(top.any(axis=-1, keepdims=True), top, under)


# ---- pose --------------------------------------------------------------------------------------
def openpose_keypoints(joints: np.ndarray,  # (P, T, 22, 3) SMPL world joints
                       face: np.ndarray,  # (P, T, 5, 3) nose, right eye, left eye, right ear, left ear
                       ) -> np.ndarray:
    """(P, T, 18, 3) world positions of OpenPose's 18 body keypoints."""
    joints, face = np.asarray(joints, np.float64), np.asarray(face, np.float64)
    out = np.zeros(joints.shape[:2] + (18, 3))
    for k, j in enumerate(SMPL_FOR_KEYPOINT):
        if j >= 0:
            out[:, :, k] = joints[:, :, j]
    out[:, :, 1] = 0.5 * (joints[:, :, 16] + joints[:, :, 17])  # OpenPose's neck: between the shoulders
    out[:, :, list(FACE_KEYPOINTS)] = face
    return out


def project_keypoints(points: np.ndarray,  # (P, T, K, 3) world positions
                      cameras: list,  # T amg.camera.Camera
                      near: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (P, T, K, 2) (x right, y down, pixel centres at +0.5) and visible (P, T, K) bool:
    in front of the camera and inside the image."""
    p, t, k = points.shape[:3]
    uv = np.zeros((p, t, k, 2))
    visible = np.zeros((p, t, k), bool)
    for f, cam in enumerate(cameras):
        xy, depth = cam.project(points[:, f].reshape(-1, 3))
        xy, depth = xy.reshape(p, k, 2), depth.reshape(p, k)
        uv[:, f] = xy
        visible[:, f] = ((depth > near) & (xy[..., 0] >= 0) & (xy[..., 0] < cam.width)
                         & (xy[..., 1] >= 0) & (xy[..., 1] < cam.height))
    return uv, visible


def draw_skeletons(uv: np.ndarray,  # (P, T, 18, 2) pixels
                   visible: np.ndarray,  # (P, T, 18) bool
                   order: np.ndarray,  # (T, P) person indices, far to near (nearer drawn on top)
                   height: int, width: int) -> np.ndarray:
    """(T, H, W, 3) uint8 OpenPose-style skeletons on black: limbs at 60 % of their colour,
    keypoints as full-colour dots. Line width and dot size follow OpenPose's at 512 px."""
    import cv2

    scale = min(height, width) / 512.0
    stick = max(1, round(4 * scale))
    radius = max(1, round(4 * scale))
    shift = 4  # sub-pixel drawing: keypoints land where they project, not on the pixel grid
    frames = np.zeros((uv.shape[1], height, width, 3), np.uint8)
    for f in range(uv.shape[1]):
        canvas = frames[f]
        for p in order[f]:
            # pixel-centre coordinates -> cv2's integer-centre ones, in 1/16 px
            pts = np.rint((uv[p, f] - 0.5) * (1 << shift)).astype(np.int64)
            for i, (a, b) in enumerate(LIMBS):
                if visible[p, f, a] and visible[p, f, b]:
                    color = tuple(int(0.6 * c) for c in COLORS[i])
                    cv2.line(canvas, tuple(pts[a]), tuple(pts[b]), color, stick * 2, cv2.LINE_AA, shift)
            for k in range(18):
                if visible[p, f, k]:
                    cv2.circle(canvas, tuple(pts[k]), radius << shift, COLORS[k], -1, cv2.LINE_AA, shift)
    return frames


def pose_pass(result) -> np.ndarray:
    """The pose pass of an amg.render.RenderResult: (T, H, W, 3) uint8."""
    points = openpose_keypoints(result.joints, result.face_points)
    uv, visible = project_keypoints(points, result.cameras)
    t = len(result.cameras)
    # Far to near by pelvis depth, per frame: where people overlap, the nearer skeleton is on top.
    depths = np.stack([[-(np.linalg.inv(result.cameras[f].c2w) @ np.r_[result.joints[p, f, 0], 1.0])[2]
                        for p in range(result.joints.shape[0])] for f in range(t)])  # (T, P)
    order = np.argsort(-depths, axis=1)
    return draw_skeletons(uv, visible, order, result.rgb.shape[1], result.rgb.shape[2])


# ---- avatar reference images -------------------------------------------------------------------
def reference_images(scene, width: int, height: int, background=(1.0, 1.0, 1.0),
                     people: list[int] | None = None) -> np.ndarray:
    """(P, H, W, 3) uint8: each avatar alone in an A-pose, seen from the front, filling the
    frame's height, on a plain background (white by default: VACE letterboxes references on white)."""
    from amg.camera.camera import look_at
    from amg.motion.motion import Motion
    from amg.render.rasterizer import rasterize
    from amg.render.scene_render import scene_avatars

    avatars = scene_avatars(scene)
    people = list(range(len(avatars))) if people is None else people
    fov = 30.0
    out = np.empty((len(people), height, width, 3), np.uint8)
    a_pose = Motion.rest(1)
    a_pose.body_pose[0, 15 * 3 + 2] = -np.radians(60)  # left shoulder (joint 16): arm down 60 degrees
    a_pose.body_pose[0, 16 * 3 + 2] = np.radians(60)  # right shoulder (joint 17)
    for i, p in enumerate(people):
        posed = avatars[p].pose(a_pose)  # an A-pose: clothes and arms clear of each other, the frame well filled
        verts = np.concatenate([m[0][0] for m in posed.meshes])
        lo, hi = verts.min(axis=0), verts.max(axis=0)
        centre = 0.5 * (lo + hi)
        # far enough that the whole body (and its arms' width) fits with a 5 % margin
        half = 0.5 * max(hi[1] - lo[1], (hi[0] - lo[0]) * height / width) * 1.1
        distance = half / np.tan(np.radians(fov / 2)) + (hi[2] - lo[2])
        c2w = look_at(centre + np.array([0.0, 0.0, distance]), centre)
        r = rasterize([m[0] for m in posed.meshes], [m[1] for m in posed.meshes], [m[2] for m in posed.meshes],
                      c2w[None], np.array([fov]), width, height, background=tuple(background))
        out[i] = r.rgb[0]
    return out


def visible_people(masks: np.ndarray) -> np.ndarray:
    """(P,) bool: person p covers at least one pixel of some frame (masks: (T, P, H, W))."""
    return np.asarray(masks).any(axis=(0, 2, 3))
