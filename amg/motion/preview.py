"""Stick-figure contact sheets of motions (PIL only), to look at a motion without a renderer.

Each row is a clip, each column a moment; the skeleton is drawn in an orthographic view
turned `view_yaw` degrees about the vertical, with the floor line. Left limbs are drawn
in orange, right limbs in blue, so a mirrored or swapped retarget is visible at once.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from amg.motion import edit
from amg.motion.motion import SMPLX_JOINT_NAMES, Motion
from amg.motion.skeleton import PARENTS

_LEFT, _RIGHT, _MID = (255, 150, 40), (60, 140, 255), (230, 230, 230)
_PEOPLE = ((230, 230, 230), (120, 230, 120), (230, 120, 230))


def _bone_colour(j: int, person: int) -> tuple:
    name = SMPLX_JOINT_NAMES[j]
    if name.startswith("left"):
        return _LEFT
    if name.startswith("right"):
        return _RIGHT
    return _PEOPLE[person % len(_PEOPLE)]


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
                for j in range(1, 22):
                    draw.line([to_px(p[PARENTS[j]]), to_px(p[j])], fill=_bone_colour(j, person), width=2)
                hx, hy = to_px(p[15])
                draw.ellipse([hx - 5, hy - 9, hx + 5, hy + 1], outline=_PEOPLE[person % 3])
            draw.text((x0 + 4, y0 + 4), f"{t:.1f}s", fill=(140, 140, 140))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
