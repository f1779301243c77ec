"""The training samples as one endless, seeded stream that any number of processes share.

Position p of the stream is one sample: the clip at p mod N of epoch p // N's shuffle of the N
training clips (so every clip comes once per epoch), with its own noise, timestep seed and
dropout draws, all from (seed, p). Step k of a run with global batch G = processes x batch x
accumulation takes positions k*G ... k*G + G-1; accelerate's sharded data loader gives each
process its own batches of them (process r takes batches r, r + N, ...). Hence:
- ranks draw different clips each step (without replacement within an epoch);
- what a step trains on depends only on G and the seed, not on how G is split: 2 processes x
  batch 1 see the samples 1 process x batch 2 does, with the same noise;
- a resumed run starts the stream at its step's position and repeats the uninterrupted run.
"""

from __future__ import annotations

import functools

import torch

from amg.train.cache import LatentCache

_EPOCH_SALT = 1_000_003
_SAMPLE_SALT = 7_919


class ClipStream(torch.utils.data.Dataset):
    """Map-style dataset over stream positions [0, length) of the clips `indices` of `cache`."""

    def __init__(self, cache: LatentCache, indices: list[int], length: int, seed: int,
                 condition_dropout: float, caption_dropout: float):
        self.cache, self.indices, self.length, self.seed = cache, list(indices), int(length), int(seed)
        self.condition_dropout, self.caption_dropout = condition_dropout, caption_dropout
        self._empty = cache.empty_caption()

    def __len__(self) -> int:
        return self.length

    @functools.lru_cache(maxsize=4)
    def _order(self, epoch: int) -> list[int]:
        g = torch.Generator().manual_seed(self.seed * _EPOCH_SALT + epoch)
        return [self.indices[i] for i in torch.randperm(len(self.indices), generator=g).tolist()]

    def clip_at(self, position: int) -> int:
        """The cache index of the clip at stream position `position`."""
        epoch, k = divmod(position, len(self.indices))
        return self._order(epoch)[k]

    def __getitem__(self, position: int) -> dict:
        i = self.clip_at(position)
        entry = self.cache.load(i)
        g = torch.Generator().manual_seed((self.seed * _SAMPLE_SALT + position) % 2**63)
        noise = torch.randn(entry["video"].shape, generator=g)  # (C, t, h, w)
        drop_a, drop_t = (torch.rand(2, generator=g) < torch.tensor([self.condition_dropout,
                                                                     self.caption_dropout])).tolist()
        return {
            "video": entry["video"],
            "condition": torch.zeros_like(entry["condition"]) if drop_a else entry["condition"],
            "caption": self._empty if drop_t else entry["caption"],
            "noise": noise,
            # the seed of this sample's timestep draw (the backbone draws it: DDPM step or flow sigma)
            "timestep_seed": int(torch.randint(2**62, (1,), generator=g)),
            "clip": i,
            "position": position,
        }


class StreamRange(torch.utils.data.Sampler):
    """Stream positions start, start + 1, ..., stop - 1, in order (accelerate shards their batches)."""

    def __init__(self, start: int, stop: int):
        self.start, self.stop = int(start), int(stop)

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self) -> int:
        return self.stop - self.start
