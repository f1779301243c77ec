"""The on-disk latent cache: each clip's VAE latents and caption embedding, computed once.

    DATASET/latent_cache/<base key>/
      empty_caption.safetensors          the empty caption's embedding (caption dropout)
      <clip id>-<clip key>.safetensors   one shard per clip: video (C, t, h, w), condition
                                         (C, t, h, w), caption (L, D); float32

The base key hashes the cache's format and the base model (family, name, architecture, random
or not); the clip key hashes the clip's caption and the bytes of its two videos, so a changed clip (or a dataset
copied elsewhere, whose file times change) is judged by its content: only a changed clip is
encoded again, and its old shard is removed. Shards are written atomically (a killed run
leaves whole shards or none). Encoding is spread over the processes of a distributed run:
rank r encodes the missing clips r, r + N, r + 2N, ...; every rank then reads any shard.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from amg.files import atomic_write_bytes
from amg.train.dataset import Clip, TrainingData

EMPTY_CAPTION = "empty_caption.safetensors"
#: Part of the base key: a cache written in an older layout (e.g. a (1, L, D) empty caption) is
#: never mixed with this one's shards; bump it whenever what a shard holds changes.
CACHE_FORMAT = 2


def cache_folder(pipe, dataset: TrainingData) -> Path:
    """DATASET/latent_cache/<key of the base model>."""
    key = f"format {CACHE_FORMAT}|{pipe.family}|{pipe.base_model_name}|{pipe.base_architecture_sha256}|{pipe.random_base}"
    return dataset.root / "latent_cache" / hashlib.sha256(key.encode()).hexdigest()[:16]


def clip_key(dataset: TrainingData, clip: Clip) -> str:
    """Changes when the clip's caption or the content of either of its videos does."""
    h = hashlib.sha256(clip.caption.encode())
    for path in (clip.video_path(dataset.root), clip.condition_path(dataset.root)):
        h.update(b"|" + path.name.encode() + b":")
        if path.is_file():
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        else:
            h.update(b"missing")
    return h.hexdigest()[:16]


@dataclass
class LatentCache:
    """The shards of one dataset for one base model; `load(i)` reads clip i's tensors."""

    folder: Path
    shards: list[Path]  # per clip of the dataset, in its order
    encoded: int = 0    # shards this run wrote (over all processes)
    reused: int = 0     # shards found on disk

    def __len__(self) -> int:
        return len(self.shards)

    def load(self, i: int) -> dict[str, torch.Tensor]:
        """{"video": (C, t, h, w), "condition": (C, t, h, w), "caption": (L, D)}."""
        from safetensors.torch import load_file

        return load_file(self.shards[i])

    def empty_caption(self) -> torch.Tensor:
        """(L, D): the empty caption's embedding."""
        from safetensors.torch import load_file

        return load_file(self.folder / EMPTY_CAPTION)["caption"]


def build_cache(pipe, dataset: TrainingData, accelerator=None,
                progress: Callable[[int, int], None] | None = None,
                should_cancel: Callable[[], bool] | None = None) -> LatentCache | None:
    """Encode the clips whose shards are missing (this process's share of them) and return
    the cache; None when cancelled (on any process). Every process must call it."""
    from safetensors.torch import save

    folder = cache_folder(pipe, dataset)
    rank, world = (accelerator.process_index, accelerator.num_processes) if accelerator else (0, 1)
    main = rank == 0
    shards = [folder / f"{c.id}-{clip_key(dataset, c)}.safetensors" for c in dataset.clips]
    missing = [i for i, p in enumerate(shards) if not p.is_file()]
    mine = missing[rank::world]
    cancelled = False
    with torch.no_grad():
        if main and not (folder / EMPTY_CAPTION).is_file():
            empty, _ = pipe.encode_prompt("", pipe.device, 1, False)  # (1, L, D): CLIP 77x1024, UMT5 512x4096
            atomic_write_bytes(folder / EMPTY_CAPTION, save({"caption": empty[0].float().cpu().contiguous()}))
        for done, i in enumerate(mine):
            if should_cancel is not None and should_cancel():
                cancelled = True
                break
            clip = dataset.clips[i]
            video, condition = dataset.load(clip)
            caption, _ = pipe.encode_prompt(clip.caption, pipe.device, 1, False)
            entry = {"video": pipe.encode_condition(video)[0], "condition": pipe.encode_condition(condition)[0],
                     "caption": caption[0]}
            atomic_write_bytes(shards[i], save({k: v.float().cpu().contiguous() for k, v in entry.items()},
                                               metadata={"clip": clip.id, "caption": clip.caption, "process": str(rank)}))
            for old in folder.glob(f"{clip.id}-*.safetensors"):  # the shard of this clip's former content
                if old != shards[i] and old.name[len(clip.id) + 1:-len(".safetensors")].isalnum():
                    old.unlink(missing_ok=True)
            if progress is not None:
                progress(done + 1, len(mine))
    if accelerator is not None:
        if cancelled:
            accelerator.set_trigger()
        accelerator.wait_for_everyone()
        cancelled = accelerator.check_trigger()
    if cancelled:
        return None
    return LatentCache(folder, shards, encoded=len(missing), reused=len(shards) - len(missing))
