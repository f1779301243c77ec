"""Learned point tracking: CoTracker3 (offline) through torch.hub, when it is available.

The paper's metric (and DMT's public code) tracks a 55x55 grid with CoTracker. Its code
comes from the torch.hub repository `facebookresearch/co-tracker` and its weights from
`scaled_offline.pth`. Both must already be on disk (torch.hub's cache, or paths given
here) unless downloading is allowed: with no network the loader says plainly why it
cannot run, and the caller falls back to Lucas-Kanade and reports that it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amg.eval.tracklets import Tracklets

HUB_REPO = "facebookresearch/co-tracker"
HUB_ENTRY = "cotracker3_offline"
CHECKPOINT_NAME = "scaled_offline.pth"


class CoTrackerUnavailable(RuntimeError):
    """CoTracker's code or weights are not on this machine (the message says which)."""


@dataclass
class CoTrackerConfig:
    #: Points are seeded on a grid_size x grid_size grid on the first frame (DMT: 55).
    grid_size: int = 55
    #: A clone of the co-tracker repository; None looks in torch.hub's cache.
    repo_dir: str | None = None
    #: The weights file; None looks for torch.hub's cached `scaled_offline.pth`.
    checkpoint: str | None = None
    #: Fetch missing code or weights from GitHub / Hugging Face.
    allow_download: bool = False
    #: None: the GPU when there is one.
    device: str | None = None

    def resolved_device(self) -> str:
        import torch

        return self.device or ("cuda" if torch.cuda.is_available() else "cpu")


def _hub_dir() -> Path:
    import torch

    return Path(torch.hub.get_dir())


def load_cotracker(config: CoTrackerConfig):
    """The CoTracker predictor module, or CoTrackerUnavailable with the reason."""
    import torch

    repo = Path(config.repo_dir) if config.repo_dir else _hub_dir() / "facebookresearch_co-tracker_main"
    if config.repo_dir and not (repo / "hubconf.py").is_file():
        raise CoTrackerUnavailable(f"CoTracker: {repo} is not a co-tracker checkout (no hubconf.py)")
    have_repo = (repo / "hubconf.py").is_file()
    checkpoint = Path(config.checkpoint) if config.checkpoint else _hub_dir() / "checkpoints" / CHECKPOINT_NAME
    if config.checkpoint and not checkpoint.is_file():
        raise CoTrackerUnavailable(f"CoTracker: checkpoint {checkpoint} not found")
    have_weights = checkpoint.is_file()
    if not config.allow_download and not (have_repo and have_weights):
        missing = [what for what, ok in ((f"code ({repo})", have_repo), (f"weights ({checkpoint})", have_weights)) if not ok]
        raise CoTrackerUnavailable("CoTracker unavailable: no " + " and no ".join(missing)
                                   + " on this machine, and downloading is off")
    try:
        source = dict(repo_or_dir=str(repo), source="local") if have_repo else dict(repo_or_dir=HUB_REPO, source="github")
        predictor = torch.hub.load(**source, model=HUB_ENTRY, pretrained=not have_weights)
        if have_weights:
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
            if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
                state = state["model"]
            predictor.model.load_state_dict(state)
    except CoTrackerUnavailable:
        raise
    except Exception as e:  # network, missing packages in the repo's imports, bad checkpoint
        raise CoTrackerUnavailable(f"CoTracker unavailable: {type(e).__name__}: {str(e).strip()[:300]}") from None
    return predictor.to(config.resolved_device()).eval()


def track_cotracker(predictor, frames: np.ndarray, config: CoTrackerConfig, mask: np.ndarray | None = None) -> Tracklets:
    """Track a grid of first-frame points.

    frames: (T, H, W, 3) uint8 RGB. mask: (H, W) bool: grid points only where True.
    """
    import torch

    t_count, h, w = frames.shape[:3]
    device = next(predictor.parameters()).device
    video = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)[None].float().to(device)
    kwargs = {"grid_size": int(config.grid_size)}
    if mask is not None:
        kwargs["segm_mask"] = torch.from_numpy(mask.astype(np.float32))[None, None].to(device)
    with torch.inference_mode():
        tracks, _visible = predictor(video, **kwargs)  # (1, T, N, 2), (1, T, N)
    points = tracks[0].permute(1, 0, 2).float().cpu().numpy()  # (N, T, 2)
    return Tracklets(points, HUB_ENTRY, (h, w), seeded=points.shape[0])
