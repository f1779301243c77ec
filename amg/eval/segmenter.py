"""A small people segmenter for videos of the synthetic world: where are the people in a frame?

Placement IoU needs the people pixels of a *generated* video. Differencing it against the
ground truth's clean plate flags every background pixel the model drew differently (and a
small model draws the whole background differently); a segmenter trained on the world's own
"real" frames and their people masks, as a person segmenter is used on real footage, finds
people wherever the background is. It learns from the frames as they are and as the VAE
draws them back (the look of decoded latents), and from blurred copies (the look of a small
model's samples); its IoU on the ground truth shows the ceiling of the detector.

    segmenter = train_segmenter(frames, masks, steps=800)      # (N,H,W,3) uint8, (N,H,W) bool
    save_segmenter(segmenter, "people_segmenter.safetensors")
    found = segment_people(load_segmenter(path), video)       # (T,H,W,3) uint8 -> (T,H,W) bool
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from amg.errors import AmgError

SEGMENTER_FILE = "people_segmenter.safetensors"
WIDTHS = (8, 16, 32)  # channels per level; 64x64 frames -> 16x16 at the bottom


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(4, cout), nn.SiLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(4, cout), nn.SiLU())


class PeopleSegmenter(nn.Module):
    """A three-level U-Net: frames (N, 3, H, W) in [0, 1] -> logits (N, 1, H, W); H, W multiples of 4."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS):
        super().__init__()
        self.widths = tuple(widths)
        self.down = nn.ModuleList(_block(cin, cout) for cin, cout in zip((3, *widths[:-1]), widths))
        self.up = nn.ModuleList(_block(widths[i] + widths[i + 1], widths[i]) for i in range(len(widths) - 1))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        for i in reversed(range(len(self.up))):
            x = nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
            x = self.up[i](torch.cat([skips[i], x], dim=1))
        return self.head(x)


def _blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x (N, 3, H, W) blurred per frame by a Gaussian of sigma (N,) pixels (0: unchanged)."""
    radius = 5
    r = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k = torch.exp(-(r[None] ** 2) / (2 * sigma.clamp(min=1e-3)[:, None] ** 2))
    k = k / k.sum(1, keepdim=True)  # (N, 2r+1)
    n, c, h, w = x.shape
    y = x.reshape(1, n * c, h, w)
    kx = k.repeat_interleave(c, 0)[:, None, None, :]
    y = nn.functional.conv2d(nn.functional.pad(y, (radius, radius, 0, 0), mode="replicate"), kx, groups=n * c)
    y = nn.functional.conv2d(nn.functional.pad(y, (0, 0, radius, radius), mode="replicate"),
                             kx.transpose(2, 3), groups=n * c)
    return y.reshape(n, c, h, w)


def train_segmenter(frames: np.ndarray, masks: np.ndarray, steps: int = 800, batch: int = 16, lr: float = 3e-3,
                    seed: int = 0, max_blur: float = 2.0,
                    progress: Callable[[str, int, int, float], None] | None = None) -> PeopleSegmenter:
    """Train on frames (N, H, W, 3) uint8 with people masks (N, H, W) bool; a random half of each batch
    is blurred (sigma up to `max_blur` px) and jittered in brightness, so decoded samples look familiar."""
    if frames.ndim != 4 or masks.shape != frames.shape[:3]:
        raise AmgError(f"segmenter training: frames (N,H,W,3) and masks (N,H,W) must match, got {frames.shape} "
                       f"and {masks.shape}")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = PeopleSegmenter()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    x_all = torch.from_numpy(frames).permute(0, 3, 1, 2)  # (N, 3, H, W) uint8
    y_all = torch.from_numpy(masks.astype(np.float32))[:, None]
    share = float(y_all.mean())
    pos_weight = torch.tensor(min(10.0, (1 - share) / max(share, 1e-4)) ** 0.5)  # people are few pixels
    model.train()
    for step in range(steps):
        idx = torch.randint(len(x_all), (batch,), generator=g)
        x, y = x_all[idx].float() / 255.0, y_all[idx]
        flip = torch.rand(batch, generator=g) < 0.5
        flip = flip[:, None, None, None]
        x, y = torch.where(flip, x.flip(3), x), torch.where(flip, y.flip(3), y)
        sigma = torch.rand(batch, generator=g) * max_blur * (torch.rand(batch, generator=g) < 0.5)
        x = _blur(x, sigma)
        x = (x * (0.8 + 0.4 * torch.rand(batch, 1, 1, 1, generator=g))).clamp(0, 1)
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), y, pos_weight=pos_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None:
            progress("segmenter", step + 1, steps, float(loss))
    return model.eval()


def save_segmenter(model: PeopleSegmenter, path: str | Path) -> Path:
    from safetensors.torch import save

    from amg.files import atomic_write_bytes

    path = Path(path)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, save(state, metadata={"format": "amg-people-segmenter",
                                                   "widths": ",".join(map(str, model.widths))}))
    return path


def load_segmenter(path: str | Path) -> PeopleSegmenter:
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(path)
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        if meta.get("format") != "amg-people-segmenter":
            raise AmgError(f"{path}: not a people segmenter (format {meta.get('format')!r})")
        model = PeopleSegmenter(tuple(int(w) for w in meta["widths"].split(",")))
        model.load_state_dict(load_file(path))
    except (OSError, SafetensorError, KeyError, ValueError, RuntimeError) as e:
        raise AmgError(f"{path}: cannot load the people segmenter ({e})") from None
    return model.eval()


@torch.no_grad()
def segment_people(model: PeopleSegmenter, frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, H, W) bool: the pixels the segmenter calls people."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    return (model(x)[:, 0] > 0).numpy()
