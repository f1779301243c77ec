"""Scores against a known ground truth (the synthetic world): what Table 1 cannot measure on
real footage.

For a generated clip, its condition (avatar video), the people's masks in the condition,
the ground-truth "real" video and its clean plate (the same background and shadows without
the people):

- Motion Fidelity against the condition: `evaluate_pair` (Lucas-Kanade tracks seeded in
  the bounding box of the people's first-frame masks), on frames enlarged to 256 px so the
  tracker's windows fit toy-size videos.
- PSNR and SSIM against the ground truth (scikit-image), per frame, averaged.
- Placement IoU: the generated video's people pixels, intersected over union with the
  condition's, averaged over frames. The people are found by the world's people segmenter
  (`amg.eval.segmenter`, trained on the world's real frames) or, without one, where a frame
  differs from the clean plate by more than `PEOPLE_THRESHOLD` + `PEOPLE_RELATIVE` x its
  brightness (max over RGB): strict, since every background pixel the model drew otherwise
  counts as a person. The ground truth's own IoU shows the ceiling of the detector.
- People motion: the direction of the people's motion across the frame, from the generated
  video's people pixels (as for placement) against the condition's: per frame pair, the
  cosine between the two centroid displacements (0 when either moves less than
  `STILL_CENTROID_PX`), averaged, x 100. Motion Fidelity's point tracks need texture that
  a small model's blurred figures lack (Lucas-Kanade finds no moving point in them); the
  people's centroids move with the figures all the same.
- Background class: the mean and spread of colour in the top and bottom thirds of the
  frame outside the (dilated) people, compared with per-class centroids measured on
  ground-truth training clips: the nearest centroid is the class.
- Background motion (for camera moves, e.g. orbits): Farneback optical flow outside the
  people; per frame pair, the cosine between the generated and the ground-truth mean
  background flow (0 when either is below `STILL_FLOW_PX`), averaged, x 100. 100: the
  background moves with the camera as it should; 0: it stands still or moves at random.
"""

from __future__ import annotations

import cv2
import numpy as np

from amg.eval.evaluate import EvalConfig, evaluate_pair

#: A pixel is a person's where it differs from the plate by more than this (of 255) plus a share of
#: the plate's brightness: a fixed threshold misses dark people at night and finds noise by day.
PEOPLE_THRESHOLD = 16
PEOPLE_RELATIVE = 0.15
STILL_FLOW_PX = 0.05
STILL_CENTROID_PX = 0.5
TRACK_SIDE = 256


def _union(masks: np.ndarray) -> np.ndarray:
    """(T, P, H, W) or (T, H, W) bool -> (T, H, W) bool."""
    return masks.any(axis=1) if masks.ndim == 4 else masks.astype(bool)


def _dilate(mask: np.ndarray, px: int) -> np.ndarray:
    kernel = np.ones((2 * px + 1, 2 * px + 1), np.uint8)
    return np.stack([cv2.dilate(m.astype(np.uint8), kernel) > 0 for m in mask])


def psnr_ssim(generated: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Mean over frames of PSNR (dB) and SSIM (colour, 7x7 window). (T, H, W, 3) uint8 each."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    with np.errstate(divide="ignore"):  # identical frames: infinite PSNR, capped at 100 dB below
        p = [peak_signal_noise_ratio(t, g, data_range=255) for g, t in zip(generated, truth)]
    s = [structural_similarity(t, g, channel_axis=2, data_range=255) for g, t in zip(generated, truth)]
    return float(np.mean(np.minimum(p, 100.0))), float(np.mean(s))


def people_pixels(frames: np.ndarray, plate: np.ndarray, threshold: float = PEOPLE_THRESHOLD,
                  relative: float = PEOPLE_RELATIVE) -> np.ndarray:
    """(T, H, W) bool: where frames differ from the clean plate (T, H, W, 3)."""
    diff = np.abs(frames.astype(np.float32) - plate.astype(np.float32)).max(axis=3)
    limit = threshold + relative * plate.astype(np.float32).mean(axis=3)
    return diff > limit


def placement_iou(found: np.ndarray, masks: np.ndarray) -> float:
    """Mean over frames of IoU(found (T, H, W) bool: a video's people pixels, the condition's people pixels)."""
    truth = _union(masks)
    inter = (found & truth).sum(axis=(1, 2))
    union = (found | truth).sum(axis=(1, 2))
    return float(np.mean(np.where(union > 0, inter / np.maximum(union, 1), 1.0)))


def _centroids(mask: np.ndarray) -> np.ndarray:
    """(T, H, W) bool -> (T, 2) x, y of each frame's pixels (NaN where a frame has none)."""
    ys, xs = np.mgrid[:mask.shape[1], :mask.shape[2]]
    n = mask.sum(axis=(1, 2)).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.stack([(mask * xs).sum(axis=(1, 2)) / n, (mask * ys).sum(axis=(1, 2)) / n], axis=1)


def people_motion(found: np.ndarray, masks: np.ndarray) -> float:
    """Agreement (x 100) of the found people's centroid motion with the condition's; see the module docstring."""
    a, b = np.diff(_centroids(found), axis=0), np.diff(_centroids(_union(masks)), axis=0)  # (T-1, 2)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    moving = np.nan_to_num(na) > STILL_CENTROID_PX
    moving &= np.nan_to_num(nb) > STILL_CENTROID_PX
    cos = np.where(moving, np.nan_to_num((a * b).sum(axis=1)) / np.maximum(np.nan_to_num(na * nb), 1e-9), 0.0)
    return float(100.0 * cos.mean())


def background_features(frames: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(12,): mean and std of RGB/255 in the top and bottom thirds, outside the dilated people."""
    keep = ~_dilate(_union(masks), 2)
    h = frames.shape[1]
    out = []
    for rows in (slice(0, h // 3), slice(h - h // 3, h)):
        px = frames[:, rows][keep[:, rows]].astype(np.float32) / 255.0  # (N, 3)
        if len(px) == 0:
            px = frames[:, rows].reshape(-1, 3).astype(np.float32) / 255.0
        out += [px.mean(0), px.std(0)]
    return np.concatenate(out)


def class_centroids(features: dict[str, list[np.ndarray]]) -> dict[str, list[float]]:
    return {name: np.mean(f, axis=0).round(5).tolist() for name, f in features.items() if f}


def classify_background(frames: np.ndarray, masks: np.ndarray, centroids: dict[str, list[float]]) -> str:
    f = background_features(frames, masks)
    return min(centroids, key=lambda name: float(np.linalg.norm(f - np.asarray(centroids[name]))))


def _background_flow(frames: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(T-1, 2) mean Farneback flow (pixels) outside the people, per frame pair."""
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    out = []
    for t in range(len(frames) - 1):
        flow = cv2.calcOpticalFlowFarneback(gray[t], gray[t + 1], None, 0.5, 2, 9, 3, 5, 1.1, 0)
        m = keep[t] & keep[t + 1]
        out.append(flow[m].mean(axis=0) if m.any() else np.zeros(2))
    return np.asarray(out)


def background_motion(frames: np.ndarray, truth: np.ndarray, masks: np.ndarray) -> float:
    """Agreement (x 100) of the background's motion with the ground truth's; see the module docstring."""
    keep = ~_dilate(_union(masks), 3)
    a, b = _background_flow(frames, keep), _background_flow(truth, keep)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    moving = (na > STILL_FLOW_PX) & (nb > STILL_FLOW_PX)
    cos = np.where(moving, (a * b).sum(axis=1) / np.maximum(na * nb, 1e-9), 0.0)
    return float(100.0 * cos.mean())


def _enlarge(frames: np.ndarray, side: int) -> np.ndarray:
    h, w = frames.shape[1:3]
    scale = side / max(h, w)
    if scale <= 1:
        return frames
    size = (round(w * scale), round(h * scale))
    return np.stack([cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in frames])


def motion_fidelity(frames: np.ndarray, condition: np.ndarray, masks: np.ndarray) -> float | None:
    """Motion Fidelity (0-100) of frames against the condition, tracked in the people's box."""
    union = _union(masks)
    if not union[0].any():
        return None
    big = _enlarge(frames, TRACK_SIDE)
    mask = cv2.resize(union[0].astype(np.uint8), big.shape[2:0:-1], interpolation=cv2.INTER_NEAREST) > 0
    result = evaluate_pair(big, _enlarge(condition, TRACK_SIDE), None, EvalConfig(tracker="lk"), mask=mask,
                           mask_box=True)
    return result.motion_fidelity


def score_clip(frames: np.ndarray, truth: dict, people: np.ndarray, centroids: dict, camera_moves: bool) -> dict:
    """All columns for one generated clip. truth: condition, real (T,H,W,3) uint8; masks (T,P,H,W); info;
    people (T,H,W) bool: the clip's people pixels as a detector found them (see placement IoU)."""
    psnr, ssim = psnr_ssim(frames, truth["real"])
    background = classify_background(frames, truth["masks"], centroids)
    return {
        "motion_fidelity": motion_fidelity(frames, truth["condition"], truth["masks"]),
        "psnr": psnr, "ssim": ssim,
        "placement_iou": placement_iou(people, truth["masks"]),
        "people_motion": people_motion(people, truth["masks"]),
        "background": background, "background_ok": background == truth["info"]["background"],
        "background_motion": background_motion(frames, truth["real"], truth["masks"]) if camera_moves else None,
    }
