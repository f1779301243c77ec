"""Base model weights: a hub id, a local diffusers folder, or seeded random weights.

The base is ModelScopeT2V in diffusers' layout (model_index.json; unet/, vae/,
text_encoder/, tokenizer/, scheduler/). Only safetensors are read (never pickles). With a
network, huggingface_hub downloads with its progress bars; without one, a clear message
says how to fetch the weights. `tiny-random` and `modelscope-random` build the same
architecture with seeded random weights: for tests, benchmarks and trying the flow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from amg.errors import AmgError
from amg.model import configs
from amg.model.tokenizer import clip_tokenizer
from amg.model.unet import UNet3DWithPeft

#: The files a generation needs; weights as safetensors only (no pickled .bin/.ckpt).
_DOWNLOAD_PATTERNS = ["model_index.json", "*/config.json", "*/*_config.json", "tokenizer/*"]
_SUBFOLDERS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


@dataclass
class BaseComponents:
    """The frozen pieces of the base model, before AMG's adapters are added."""

    name: str  # hub id, folder, or random-model name
    unet: UNet3DWithPeft
    vae: "AutoencoderKL"  # noqa: F821
    text_encoder: "CLIPTextModel"  # noqa: F821
    tokenizer: "CLIPTokenizer"  # noqa: F821
    scheduler: "DDIMScheduler"  # noqa: F821
    random_weights: bool


def load_base(model: str, dtype: torch.dtype = torch.float32, variant: str | None = None,
              seed: int = 0) -> BaseComponents:
    """Base components from a random-model name, a local folder or a hub id."""
    if not isinstance(model, str) or not model.strip():
        raise AmgError("model: empty; give a hub id, a local folder or 'tiny-random'")
    model = model.strip()
    if model in configs.RANDOM_MODELS:
        return random_base(model, dtype=dtype, seed=seed)
    path = Path(model).expanduser()
    looks_like_path = model.startswith((".", "/", "~")) or "\\" in model or model.count("/") > 1
    if path.exists() or looks_like_path:
        return _from_folder(path, model, dtype, variant)
    if model.count("/") != 1:
        raise AmgError(f"model '{model}': no such folder, and not a hub id of the form owner/name "
                       f"(e.g. {configs.DEFAULT_MODEL}); use 'tiny-random' to try the flow without weights")
    return _from_folder(download(model, variant), model, dtype, variant)


def random_base(name: str = configs.TINY_RANDOM, dtype: torch.dtype = torch.float32, seed: int = 0) -> BaseComponents:
    """The ModelScope architecture (full or toy size) with seeded random weights."""
    from diffusers import AutoencoderKL, DDIMScheduler
    from transformers import CLIPTextConfig, CLIPTextModel

    tiny = name == configs.TINY_RANDOM
    unet_cfg = configs.TINY_UNET if tiny else configs.MODELSCOPE_UNET
    vae_cfg = configs.TINY_VAE if tiny else configs.MODELSCOPE_VAE
    text_cfg = configs.TINY_TEXT_ENCODER if tiny else configs.MODELSCOPE_TEXT_ENCODER
    with torch.random.fork_rng(devices=[]):  # same weights for the same seed; caller's RNG untouched
        torch.manual_seed(seed)
        unet = UNet3DWithPeft(**unet_cfg)
        vae = AutoencoderKL(**vae_cfg)
        text_encoder = CLIPTextModel(CLIPTextConfig(**text_cfg))
    if dtype != torch.float32:  # built in fp32; cast only when asked (diffusers warns on a no-op cast)
        unet, vae, text_encoder = unet.to(dtype), vae.to(dtype), text_encoder.to(dtype)
    return BaseComponents(
        name=name, unet=unet.eval(), vae=vae.eval(), text_encoder=text_encoder.eval(), tokenizer=clip_tokenizer(),
        scheduler=DDIMScheduler(**configs.MODELSCOPE_SCHEDULER), random_weights=True,
    )


def download(repo_id: str, variant: str | None = None) -> Path:
    """A local snapshot of a hub repo: from the cache, else downloaded (with progress bars)."""
    from huggingface_hub import snapshot_download

    # Only the weights of one precision: fp16 files for the fp16 variant, full-precision ones otherwise.
    allow = _DOWNLOAD_PATTERNS + [f"*/*.{variant}.safetensors" if variant else "*/*.safetensors"]
    ignore = None if variant else ["*.fp16.safetensors"]
    try:
        return Path(snapshot_download(repo_id, allow_patterns=allow, ignore_patterns=ignore, local_files_only=True))
    except Exception:  # not cached (or cache incomplete): fetch it
        pass
    try:
        return Path(snapshot_download(repo_id, allow_patterns=allow, ignore_patterns=ignore))
    except Exception as e:  # huggingface_hub raises many kinds (offline, 404, gated, network)
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise AmgError(
            f"model '{repo_id}': cannot download from the Hugging Face Hub ({type(e).__name__}: {reason[:200]}). "
            f"On a machine with a network run `hf download {repo_id} --local-dir models/{repo_id.split('/')[-1]}` "
            f"(or `huggingface-cli download ...` with older huggingface_hub) and pass that folder as --model; "
            f"`--model tiny-random` tries the whole flow without weights") from None


def _from_folder(path: Path, name: str, dtype: torch.dtype, variant: str | None) -> BaseComponents:
    from diffusers import AutoencoderKL, DDIMScheduler
    from transformers import CLIPTextModel, CLIPTokenizer

    if not path.is_dir():
        raise AmgError(f"model folder {path}: not found")
    missing = [s for s in _SUBFOLDERS if not (path / s).is_dir()]
    if missing:
        raise AmgError(f"model folder {path}: not a diffusers text-to-video model (missing {', '.join(m + '/' for m in missing)}; "
                       f"expected the layout of {configs.DEFAULT_MODEL})")
    part = "unet"
    try:
        unet = UNet3DWithPeft.from_pretrained(path, subfolder="unet", torch_dtype=dtype, variant=variant,
                                              use_safetensors=True)
        part = "vae"
        vae = AutoencoderKL.from_pretrained(path, subfolder="vae", torch_dtype=dtype, variant=variant,
                                            use_safetensors=True)
        part = "text_encoder"
        text_encoder = CLIPTextModel.from_pretrained(path, subfolder="text_encoder", dtype=dtype, variant=variant,
                                                     use_safetensors=True)
        part = "tokenizer"
        tokenizer = CLIPTokenizer.from_pretrained(path, subfolder="tokenizer")
        part = "scheduler"
        # The paper samples with DDIM; the base's own noise schedule is kept.
        scheduler = DDIMScheduler.from_pretrained(path, subfolder="scheduler")
    except (OSError, ValueError, EnvironmentError, KeyError, RuntimeError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise AmgError(f"model folder {path}: cannot load {part}/ ({reason[:300]}); "
                       "weights must be safetensors in diffusers' layout") from None
    return BaseComponents(name=name, unet=unet.eval(), vae=vae.eval(), text_encoder=text_encoder.eval(),
                          tokenizer=tokenizer, scheduler=scheduler, random_weights=False)


def save_base(components: BaseComponents, directory: str | os.PathLike) -> Path:
    """Write base components in diffusers' layout (what _from_folder reads), e.g. a tiny test model."""
    import json

    directory = Path(directory)
    components.unet.save_pretrained(directory / "unet")
    components.vae.save_pretrained(directory / "vae")
    components.text_encoder.save_pretrained(directory / "text_encoder")
    components.tokenizer.save_pretrained(directory / "tokenizer")
    components.scheduler.save_pretrained(directory / "scheduler")
    index = {"_class_name": "TextToVideoSDPipeline", "scheduler": ["diffusers", "DDIMScheduler"],
             "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
             "unet": ["diffusers", "UNet3DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
    (directory / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    return directory
