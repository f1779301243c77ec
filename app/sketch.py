"""Top-down sketch of a shot: where the people walk and where the camera goes (PIL image).

Seen from above: +X to the right, +Z down the image (Y up comes out of the screen), a
1 m grid. It only draws positions the engine computed (people's pelvis tracks, cameras).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from amg.colors import hex_to_rgb8

BACKGROUND = (250, 250, 247)
GRID = (222, 222, 215)
AXIS = (170, 170, 160)
CAMERA = (200, 60, 40)
TEXT = (40, 40, 40)


def draw_top_down(
    tracks: np.ndarray,  # (P, T, 2) people's floor positions (x, z), metres
    labels: list[str],  # (P,) names
    colours: list[str],  # (P,) "#rrggbb"
    cam_positions: np.ndarray,  # (T, 3) camera centres in the world
    cam_forward: np.ndarray,  # (T, 3) unit viewing directions (camera -Z in the world)
    size: int = 320,
    headings: np.ndarray | None = None,  # (P,) degrees, where each person faces at frame 0
) -> Image.Image:
    tracks = np.asarray(tracks, dtype=np.float64).reshape(len(labels), -1, 2)
    cams = np.asarray(cam_positions, dtype=np.float64).reshape(-1, 3)
    fwd = np.asarray(cam_forward, dtype=np.float64).reshape(-1, 3)
    pts = np.concatenate([tracks.reshape(-1, 2), cams[:, [0, 2]], np.zeros((1, 2))])
    lo, hi = pts.min(0), pts.max(0)
    centre = 0.5 * (lo + hi)
    span = max(float((hi - lo).max()) * 1.25, 3.0)
    scale = (size - 40) / span

    def px(xz):
        xz = np.asarray(xz, dtype=np.float64)
        return (size / 2 + (xz[..., 0] - centre[0]) * scale, size / 2 + (xz[..., 1] - centre[1]) * scale)

    img = Image.new("RGB", (size, size), BACKGROUND)
    d = ImageDraw.Draw(img)
    # 1 m grid over the visible floor
    half = span / 2 + 1
    for k in range(int(np.floor(centre[0] - half)), int(np.ceil(centre[0] + half)) + 1):
        x, _ = px([k, 0.0])
        d.line([(x, 0), (x, size)], fill=AXIS if k == 0 else GRID, width=1)
    for k in range(int(np.floor(centre[1] - half)), int(np.ceil(centre[1] + half)) + 1):
        _, y = px([0.0, k])
        d.line([(0, y), (size, y)], fill=AXIS if k == 0 else GRID, width=1)

    # camera path, the view direction every few frames, the first camera marked
    if len(cams):
        u, v = px(cams[:, [0, 2]])
        if len(cams) > 1:
            d.line(list(zip(u, v)), fill=CAMERA, width=2)
        step = max(1, len(cams) // 6)
        for i in list(range(0, len(cams), step)) + [len(cams) - 1]:
            f = fwd[i, [0, 2]]
            n = np.linalg.norm(f)
            if n > 1e-6:
                tip = cams[i, [0, 2]] + 0.45 * f / n
                tu, tv = px(tip)
                d.line([(u[i], v[i]), (tu, tv)], fill=CAMERA, width=1)
        r = 6
        d.rectangle([u[0] - r, v[0] - r, u[0] + r, v[0] + r], outline=CAMERA, width=2)
        d.text((u[0] + r + 2, v[0] - r), "camera", fill=CAMERA)

    # people: track line, a dot at the start, facing tick, name
    for p, (label, colour) in enumerate(zip(labels, colours)):
        col = hex_to_rgb8(colour)
        u, v = px(tracks[p])
        if len(u) > 1:
            d.line(list(zip(u, v)), fill=col, width=3)
        r = 7
        d.ellipse([u[0] - r, v[0] - r, u[0] + r, v[0] + r], fill=col, outline=TEXT)
        if headings is not None:
            a = np.radians(headings[p])
            # heading 0 faces +Z; counter-clockwise seen from above (x = sin, z = cos)
            tip = tracks[p, 0] + 0.5 * np.array([np.sin(a), np.cos(a)])
            tu, tv = px(tip)
            d.line([(u[0], v[0]), (tu, tv)], fill=TEXT, width=3)
        d.text((u[0] + r + 2, v[0] + 2), label, fill=TEXT)
    d.text((6, size - 16), "top view, 1 m grid  (+x right, +z down)", fill=(120, 120, 110))
    return img
