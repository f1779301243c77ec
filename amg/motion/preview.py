"""Stick figures of motions (PIL only), to look at a motion without a renderer.

`stick_figures`: a few poses of a clip, front view, one colour per person (the app's
motion thumbnails). `contact_sheet`: each row a clip, each column a moment, in an
orthographic view turned `view_yaw` degrees about the vertical, with the floor line; left
limbs in orange, right limbs in blue, so a mirrored or swapped retarget is visible at once.
Both draw bones with `draw_bones`.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from amg.motion import edit
from amg.motion.motion import SMPLX_JOINT_NAMES, Motion
from amg.motion.skeleton import PARENTS

FIGURE_COLOURS = [(47, 111, 208), (208, 74, 58), (47, 154, 90), (199, 154, 30)]
_LEFT, _RIGHT, _MID = (255, 150, 40), (60, 140, 255), (230, 230, 230)
_PEOPLE = ((230, 230, 230), (120, 230, 120), (230, 120, 230))


def _bone_colour(j: int, person: int) -> tuple:
    name = SMPLX_JOINT_NAMES[j]
    if name.startswith("left"):
        return _LEFT
    if name.startswith("right"):
        return _RIGHT
    return _PEOPLE[person % len(_PEOPLE)]


def draw_bones(draw: ImageDraw.ImageDraw, points, colour, width: int = 2) -> None:
    """A line from each body joint's parent to it. points: (22, 2) pixels; colour: an RGB
    tuple, or a function of the joint index giving one."""
    for j in range(1, len(PARENTS)):
        draw.line([tuple(points[PARENTS[j]]), tuple(points[j])], fill=colour(j) if callable(colour) else colour,
                  width=width)


def stick_figures(joints: np.ndarray, poses: int = 4, size: tuple[int, int] = (200, 150)) -> Image.Image:
    """joints: (P, T, 22, 3) world joints (Y up) -> `poses` moments of the clip, left to right."""
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim == 3:
        j = j[None]
    num_people, num_frames = j.shape[:2]
    w, h = size
    img = Image.new("RGB", size, (248, 248, 244))
    d = ImageDraw.Draw(img)
    frames = np.linspace(0, num_frames - 1, poses).round().astype(int)
    # front view: x right, y up; every pose shares one scale, each its own slot
    span_y = max(float(j[..., 1].max() - min(j[..., 1].min(), 0.0)), 1.0)
    scale = 0.82 * h / span_y
    slot = w / poses
    floor = h - 10
    d.line([(0, floor), (w, floor)], fill=(200, 200, 190))
    for k, f in enumerate(frames):
        centre = j[:, f, 0, 0].mean()
        for p in range(num_people):
            col = FIGURE_COLOURS[p % len(FIGURE_COLOURS)]
            pts = j[p, f]
            u = slot * (k + 0.5) + (pts[:, 0] - centre) * scale
            v = floor - pts[:, 1] * scale
            draw_bones(d, np.stack([u, v], axis=1), col)
            d.ellipse([u[15] - 3, v[15] - 3, u[15] + 3, v[15] + 3], fill=col)
    return img


def contact_sheet(rows: list[tuple[str, list[Motion]]], path, columns: int = 6, cell: int = 160,
                  view_yaw: float = 30.0, pair_view_yaw: float = 75.0) -> None:
    """Write a PNG: one row per (label, people) entry, `columns` evenly spaced moments.

    Rows of several people are seen more from the side (`pair_view_yaw`) so the space
    between partners shows.
    """
    import io

    from amg.files import atomic_write_bytes

    label_w = 120
    img = Image.new("RGB", (label_w + columns * cell, len(rows) * cell), (20, 20, 24))
    draw = ImageDraw.Draw(img)
    for r, (label, people) in enumerate(rows):
        yaw = np.radians(pair_view_yaw if len(people) > 1 else view_yaw)
        c, s = np.cos(yaw), np.sin(yaw)
        joints = [edit.joints(m) for m in people]
        duration = max(m.duration for m in people)
        allj = np.concatenate([j.reshape(-1, 3) for j in joints])
        draw.text((6, r * cell + 6), label[:18], fill=(255, 255, 255))
        draw.text((6, r * cell + 20), f"{duration:.1f} s", fill=(160, 160, 160))
        for k in range(columns):
            t = duration * k / max(columns - 1, 1)
            x0, y0 = label_w + k * cell, r * cell
            # Frame each moment around the people's current centre; scale fixed per sheet.
            cur = [j[min(int(round(t * m.fps)), len(j) - 1)] for j, m in zip(joints, people)]
            centre = np.mean([p[0] for p in cur], axis=0)
            span = max(2.2, float(np.ptp(allj[:, 1])) + 0.3)
            scale = cell / span * 0.9

            def to_px(p):
                q = p - np.array([centre[0], 0.0, centre[2]])
                u = c * q[0] - s * q[2]
                return (x0 + cell / 2 + u * scale, y0 + cell * 0.92 - q[1] * scale)

            floor = to_px(np.array([centre[0] - 1.0, 0.0, centre[2]]))[1]
            draw.line([(x0 + 4, floor), (x0 + cell - 4, floor)], fill=(90, 90, 90))
            for person, p in enumerate(cur):
                draw_bones(draw, [to_px(q) for q in p], lambda j, person=person: _bone_colour(j, person))
                hx, hy = to_px(p[15])
                draw.ellipse([hx - 5, hy - 9, hx + 5, hy + 1], outline=_PEOPLE[person % 3])
            draw.text((x0 + 4, y0 + 4), f"{t:.1f}s", fill=(140, 140, 140))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
