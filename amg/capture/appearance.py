"""What each captured person looks like: colours sampled from the video where they are.

The paper describes each person with a captioner (LLaVA) and builds an avatar from that
text. Without a captioner, the avatar still gets the person's own colours: the lit colour
of the torso (top), thighs and shins (bottom), the feet (shoes), the face (skin) and the
top of the head (hair), over a few frames where the person is seen well.
"""

from __future__ import annotations

import numpy as np

from amg.capture.detect import (L_ANKLE, L_EAR, L_HIP, L_KNEE, L_SHOULDER, L_TOE, NOSE, R_ANKLE, R_EAR, R_HIP,
                                R_KNEE, R_SHOULDER, R_TOE)
from amg.colors import rgb_to_hex


def _patches(frame: np.ndarray, points: np.ndarray, radius: float) -> np.ndarray:
    """(N, 3) pixels of small squares around `points` (M, 2), clipped to the frame."""
    h, w = frame.shape[:2]
    r = max(int(radius), 1)
    out = []
    for x, y in np.asarray(points).reshape(-1, 2):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        x, y = int(x), int(y)
        x0, x1, y0, y1 = max(x - r, 0), min(x + r + 1, w), max(y - r, 0), min(y + r + 1, h)
        if x1 > x0 and y1 > y0:
            out.append(frame[y0:y1, x0:x1].reshape(-1, 3))
    return np.concatenate(out) if out else np.zeros((0, 3), np.uint8)


def _along(a: np.ndarray, b: np.ndarray, fractions) -> np.ndarray:
    return np.stack([a + f * (b - a) for f in fractions])


def region_samples(frame: np.ndarray, kp: np.ndarray) -> dict[str, np.ndarray]:
    """(N, 3) RGB pixels per region of one person in one frame; kp: (33, 3) pixels + visibility.

    Small patches inside each body part (on the bone lines, away from the outline), so a
    bent-over body or the background never leaks in.
    """
    k = kp[:, :2]
    ear_gap = float(np.linalg.norm(k[L_EAR] - k[R_EAR])) + 1.0
    shoulder, hip = (k[L_SHOULDER] + k[R_SHOULDER]) / 2, (k[L_HIP] + k[R_HIP]) / 2
    size = float(np.linalg.norm(shoulder - hip)) + 1.0          # torso length: the patch scale
    head = (k[L_EAR] + k[R_EAR]) / 2
    points = {
        "top": np.concatenate([_along(shoulder, hip, (0.3, 0.5, 0.7)), _along(k[L_SHOULDER], k[L_HIP], (0.35, 0.6)),
                               _along(k[R_SHOULDER], k[R_HIP], (0.35, 0.6))]),
        "bottom": np.concatenate([_along(k[L_HIP], k[L_KNEE], (0.4, 0.7)), _along(k[R_HIP], k[R_KNEE], (0.4, 0.7)),
                                  _along(k[L_KNEE], k[L_ANKLE], (0.3, 0.6)), _along(k[R_KNEE], k[R_ANKLE], (0.3, 0.6))]),
        "shoes": np.concatenate([_along(k[L_ANKLE], k[L_TOE], (0.5, 0.8)), _along(k[R_ANKLE], k[R_TOE], (0.5, 0.8))]),
        "skin": (k[NOSE] + np.array([[0.0, 0.25], [-0.25, 0.1], [0.25, 0.1]]) * ear_gap),
        "hair": head + np.array([[0.0, -0.7], [-0.2, -0.6], [0.2, -0.6]]) * ear_gap,
    }
    radius = {"top": 0.08, "bottom": 0.05, "shoes": 0.03, "skin": 0.03, "hair": 0.03}
    return {name: px for name, pts in points.items() if len(px := _patches(frame, pts, radius[name] * size))}


def person_colours(frames: np.ndarray, keypoints: np.ndarray, frames_used: int = 5) -> dict[str, str]:
    """{"top": "#rrggbb", ...} for one person: median colours over up to `frames_used` frames
    where the person is most visible. frames: (T, H, W, 3) uint8 at the video's pixel size
    scaled by the same factor as keypoints (T, 33, 3)."""
    seen = np.flatnonzero(np.isfinite(keypoints[:, 0, 0]))
    if not len(seen):
        return {}
    vis = np.nan_to_num(keypoints[seen][:, :, 2]).mean(1)
    pick = seen[np.argsort(-vis)[:frames_used]]
    pools: dict[str, list] = {}
    for i in pick:
        for name, px in region_samples(frames[i], keypoints[i]).items():
            pools.setdefault(name, []).append(px)
    return {name: rgb_to_hex(_lit_colour(np.concatenate(px)), 255) for name, px in pools.items()}


def _lit_colour(pixels: np.ndarray) -> np.ndarray:
    """The colour of a surface under its light: the median of its brighter pixels (the 60th
    to 90th luminance percentile), since the avatar renderer adds its own shading and a
    plain median would bake the video's shadows in (and the brightest are highlights)."""
    lum = pixels.astype(np.float64) @ [0.299, 0.587, 0.114]
    lo, hi = np.percentile(lum, [60, 90])
    keep = pixels[(lum >= lo) & (lum <= hi)]
    return np.median(keep if len(keep) else pixels, axis=0)
