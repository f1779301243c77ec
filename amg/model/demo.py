"""`amg-demo`: the small AMG model this project trains itself, to ship in the repository.

A ModelScope-architecture base (UNet3D, VAE, CLIP text encoder at toy width) trained as a
text-to-video model on the synthetic world's "real" renders, frozen, plus AMG adapters
(zero-init condition conv + LoRA rank 4) trained on (avatar video, real video, caption)
triplets: `python -m amg.synthetic.experiment` makes it, `python -m amg.synthetic.ship`
copies it here. Ship it only when its measured results (docs/synthetic) show that its videos
follow the avatars; until then the folder is absent and `amg-demo` says so. It is not
photoreal; real results need the real base model and adapters trained on real footage.

    presets/models/amg-demo/   model_index.json, unet/, vae/, text_encoder/, tokenizer/,
                               scheduler/ (diffusers layout), adapters/ (AMG adapters),
                               amg_demo.json (its video size, frames, fps, sampling settings),
                               people_segmenter.safetensors (finds its videos' people)
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

DEMO_MODEL = "amg-demo"
INFO_FILE = "amg_demo.json"
DESCRIPTION = ("amg-demo: a small model trained here on synthetic renders (lit avatars in front of beach, park, "
               "street, studio and night backgrounds) with AMG's recipe, to show what the method learns (its "
               "measured results: docs/synthetic/results.md). It is not photoreal: real results need a real base "
               "model (the paper's ModelScopeT2V, ali-vilab/text-to-video-ms-1.7b, or Wan2.1) and AMG adapters "
               "trained on real footage")


def demo_dir() -> Path:
    """presets/models/amg-demo of this checkout, or $AMG_DEMO_MODEL."""
    env = os.environ.get("AMG_DEMO_MODEL")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "presets" / "models" / DEMO_MODEL


def is_demo(model: str | None) -> bool:
    return isinstance(model, str) and model.strip() == DEMO_MODEL


def available() -> bool:
    d = demo_dir()
    return (d / "model_index.json").is_file() and (d / "adapters").is_dir()


def default_adapters(model: str, adapters: str | os.PathLike | None) -> str | os.PathLike | None:
    """For `amg-demo`: its own adapters unless others are given (the name itself is registered in
    amg.model.registry); for any other model, `adapters` unchanged."""
    from amg.errors import AmgError

    if not is_demo(model):
        return adapters
    if not available():
        raise AmgError(f"model 'amg-demo': its weights are missing from {demo_dir()} (they ship with the repository; "
                       "remake them with `python -m amg.synthetic.experiment OUT` and `python -m amg.synthetic.ship OUT`)")
    return adapters if adapters is not None else demo_dir() / "adapters"


@lru_cache(maxsize=1)
def info() -> dict:
    """The demo model's own video size and sampling settings (amg_demo.json)."""
    path = demo_dir() / INFO_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def sampling_defaults(model: str | None) -> dict:
    """{guidance, avatar_guidance} amg-demo was measured at (its results use them); {} for other models."""
    if not is_demo(model):
        return {}
    i = info()
    return {"guidance": float(i.get("guidance", 9.0)),
            "avatar_guidance": None if i.get("avatar_guidance") is None else float(i["avatar_guidance"])}


def native_size(model: str | None) -> dict | None:
    """{width, height, frames, fps} the model was trained at (amg-demo), else None (any size)."""
    if not is_demo(model):
        return None
    i = info()
    return {k: i[k] for k in ("width", "height", "frames", "fps")} if i else None


def hub_weights_cached(repo_id: str) -> bool:
    """Whether the weights of `repo_id` are already on this machine (the Hugging Face cache); never downloads."""
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(repo_id, allow_patterns=["model_index.json"], local_files_only=True)
        return True
    except Exception:  # not cached, or no huggingface_hub: no local weights
        return False


def default_model() -> str:
    """The model to offer first: the paper's base (`modelscope`) when its weights are on this machine,
    else amg-demo (when shipped), else the random tiny model."""
    from amg.model.configs import DEFAULT_MODEL, TINY_RANDOM

    if hub_weights_cached(DEFAULT_MODEL):
        return "modelscope"
    return DEMO_MODEL if available() else TINY_RANDOM
