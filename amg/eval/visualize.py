"""Pictures of what the Motion Fidelity Score compared: tracklets drawn over a frame."""

from __future__ import annotations

import cv2
import numpy as np

from amg.eval.tracklets import Tracklets


def draw_tracklets(frame: np.ndarray, tracklets: Tracklets, min_extent_px: float = 1.0) -> np.ndarray:
    """A copy of `frame` (H, W, 3) uint8 with each tracklet's path drawn on it.

    Moving tracklets (the ones scored) are coloured by their overall direction (hue =
    angle from start to end), still ones grey; a dot marks where each ends.
    """
    image = np.ascontiguousarray(frame).copy()
    if len(tracklets) == 0:
        return image
    extent = tracklets.extent()
    net = tracklets.points[:, -1] - tracklets.points[:, 0]
    hue = ((np.degrees(np.arctan2(net[:, 1], net[:, 0])) % 360) / 2).astype(np.uint8)  # OpenCV hue: 0-179
    hsv = np.stack([hue, np.full_like(hue, 255), np.full_like(hue, 255)], axis=1)[None]
    colours = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0]
    for pts, e, colour in zip(tracklets.points, extent, colours):
        colour = tuple(int(c) for c in colour) if e >= min_extent_px else (128, 128, 128)
        path = np.round(pts).astype(np.int32)
        cv2.polylines(image, [path], False, colour, 1, cv2.LINE_AA)
        cv2.circle(image, tuple(int(v) for v in path[-1]), 1, colour, -1, cv2.LINE_AA)
    return image


def tracklet_panel(reference: np.ndarray, generated: np.ndarray, ref_tracks: Tracklets, gen_tracks: Tracklets,
                   min_extent_px: float = 1.0) -> np.ndarray:
    """Reference | generated last frames side by side, each with its tracklets. (H, 2W+4, 3) uint8."""
    left = draw_tracklets(reference[-1], ref_tracks, min_extent_px)
    right = draw_tracklets(generated[-1], gen_tracks, min_extent_px)
    gap = np.full((left.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([left, gap, right], axis=1)
