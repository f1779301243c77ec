"""CLIP score: 100 * cos(text embedding, frame embedding), averaged over a video's frames.

The paper uses the OpenCLIP ViT-H-14 family; its transformers-format weights are
`laion/CLIP-ViT-H-14-laion2B-s32B-b79K` (CLIPModel + CLIPProcessor, no open_clip import).
No weights can be fetched on a machine without network: then the score is reported as
unavailable, with the reason, never as a number. A tiny randomly initialised CLIP with
the real tokenizer (`ClipScorer.tiny_random()`) runs the same code path for tests and
demos and is flagged untrained in every result.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from amg.errors import AmgError

DEFAULT_CLIP_MODEL = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
#: Name that builds the tiny random model (untrained: its scores mean nothing).
TINY_RANDOM = "tiny-random"
_MARKER = "amg_eval.json"  # beside a saved model: records that its weights are untrained


class ClipUnavailable(RuntimeError):
    """No CLIP weights could be loaded (the message says why)."""


@dataclass
class ClipScore:
    """value: mean of per_frame (None when unavailable). untrained: weights are random."""

    value: float | None
    model: str
    status: str  # "ok" | "unavailable" | "not requested"
    untrained: bool = False
    reason: str = ""
    per_frame: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class ClipScorer:
    """A CLIP model and its processor, scoring frames against a prompt.

    >>> scorer = ClipScorer.from_pretrained("laion/CLIP-ViT-H-14-laion2B-s32B-b79K")
    >>> scorer(frames, "a man dancing on a beach").value   # frames: (T, H, W, 3) uint8
    """

    def __init__(self, model, processor, name: str, untrained: bool = False):
        self.model = model.eval()
        self.processor = processor
        self.name = name
        self.untrained = untrained

    @classmethod
    def from_pretrained(cls, name_or_path: str = DEFAULT_CLIP_MODEL, allow_download: bool = False,
                        device: str | None = None) -> "ClipScorer":
        """Load from a local folder or a Hugging Face hub id.

        Without `allow_download` only local files (a folder, or the hub cache) are used, so a
        machine with no network answers at once instead of retrying for a minute.
        Raises ClipUnavailable with the reason when there are no weights to load.
        device: None puts it on the GPU when there is one.
        """
        if name_or_path == TINY_RANDOM:
            return cls.tiny_random()
        from transformers import CLIPModel, CLIPProcessor

        local = Path(name_or_path).expanduser()
        is_dir = local.is_dir()
        if not is_dir and name_or_path.startswith((".", "/", "~")):  # a path, not a hub id
            raise ClipUnavailable(f"CLIP model folder {name_or_path} not found")
        source = str(local) if is_dir else name_or_path
        try:
            model = CLIPModel.from_pretrained(source, local_files_only=not allow_download)
            processor = CLIPProcessor.from_pretrained(source, local_files_only=not allow_download)
        except (OSError, ValueError) as e:
            if not (allow_download or is_dir):
                raise ClipUnavailable(f"no CLIP weights: {source} is not in the local Hugging Face cache and "
                                      "downloading is off (allow downloads, e.g. `amg eval --download`, "
                                      "or give a local model folder)") from None
            where = f"folder {source}" if is_dir else f"hub id {source}"
            raise ClipUnavailable(f"no CLIP weights for {where}: {str(e).strip().splitlines()[0][:200]}") from None
        untrained = False
        if is_dir and (local / _MARKER).is_file():
            untrained = bool(json.loads((local / _MARKER).read_text()).get("untrained", False))
        import torch

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        return cls(model.to(device), processor, source, untrained)

    @classmethod
    def tiny_random(cls, seed: int = 0) -> "ClipScorer":
        """A tiny randomly initialised CLIP (hidden 32, 2 layers, 32 px images) with the real
        CLIP tokenizer: runs every step of the real path in milliseconds; scores mean nothing."""
        import torch
        from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

        from amg.model.tokenizer import clip_tokenizer

        tokenizer = clip_tokenizer()
        config = CLIPConfig(
            text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                             num_attention_heads=4, max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id,
                             eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id),
            vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                               image_size=32, patch_size=8),
            projection_dim=16,
        )
        torch.manual_seed(seed)
        model = CLIPModel(config)
        image_processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
        return cls(model, CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer), TINY_RANDOM, untrained=True)

    def save_pretrained(self, path: str | os.PathLike) -> Path:
        """Write the model and processor (and the untrained flag) to a folder."""
        path = Path(path)
        self.model.save_pretrained(path)
        self.processor.save_pretrained(path)
        (path / _MARKER).write_text(json.dumps({"untrained": self.untrained}))
        return path

    def __call__(self, frames: np.ndarray, prompt: str, batch_size: int = 8) -> ClipScore:
        """Score (T, H, W, 3) uint8 frames against `prompt` (truncated to CLIP's 77 tokens)."""
        import torch

        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
            raise AmgError(f"CLIP score: frames must be (T, H, W, 3) with T >= 1, got {frames.shape}")
        if not prompt or not prompt.strip():
            raise AmgError("CLIP score: the prompt is empty")
        device = next(self.model.parameters()).device
        text = self.processor(text=[prompt], return_tensors="pt", padding=True, truncation=True,
                              max_length=self.processor.tokenizer.model_max_length)
        scores = []
        with torch.inference_mode():
            for start in range(0, len(frames), batch_size):
                images = self.processor(images=list(frames[start:start + batch_size]), return_tensors="pt")
                out = self.model(input_ids=text["input_ids"].to(device), attention_mask=text["attention_mask"].to(device),
                                 pixel_values=images["pixel_values"].to(device))
                # text_embeds / image_embeds are already L2-normalised projections.
                scores.append((out.image_embeds @ out.text_embeds.T)[:, 0].float().cpu().numpy())
        per_frame = (100.0 * np.concatenate(scores)).tolist()
        return ClipScore(float(np.mean(per_frame)), self.name, "ok", self.untrained, per_frame=per_frame)


def clip_score(frames: np.ndarray, prompt: str, model: str | ClipScorer = DEFAULT_CLIP_MODEL,
               allow_download: bool = False) -> ClipScore:
    """CLIP score of frames against a prompt; "unavailable" (with the reason) when no weights load."""
    if isinstance(model, ClipScorer):
        return model(frames, prompt)
    try:
        scorer = ClipScorer.from_pretrained(model, allow_download=allow_download)
    except ClipUnavailable as e:
        return ClipScore(None, model, "unavailable", reason=str(e))
    return scorer(frames, prompt)
