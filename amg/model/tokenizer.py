"""The real CLIP BPE tokenizer, built offline from the vocabulary open-clip-torch ships.

ModelScopeT2V's tokenizer is OpenAI CLIP's (49408 tokens, 77 positions). No model
weights ship on PyPI, but open-clip-torch's wheel holds the BPE merges file; the
vocabulary follows from it. We only read that data file: importing open_clip would
need torchvision.
"""

from __future__ import annotations

import gzip
import importlib.util
from functools import lru_cache
from pathlib import Path

from amg.errors import AmgError

BPE_FILE = "bpe_simple_vocab_16e6.txt.gz"
#: CLIP keeps the first 48894 merges of the file (49408 tokens = 512 byte tokens + merges + 2 specials).
NUM_MERGES = 49152 - 256 - 2
MAX_LENGTH = 77


def bpe_vocabulary_path() -> Path:
    spec = importlib.util.find_spec("open_clip")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise AmgError("the CLIP vocabulary needs the open-clip-torch package "
                       "(pip install --no-deps open-clip-torch); it is read as data only")
    path = Path(list(spec.submodule_search_locations)[0]) / BPE_FILE
    if not path.is_file():
        raise AmgError(f"{path}: CLIP BPE vocabulary file missing from open-clip-torch")
    return path


@lru_cache(maxsize=1)
def _vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    lines = gzip.open(bpe_vocabulary_path(), "rt", encoding="utf-8").read().split("\n")
    merges = [tuple(m.split()) for m in lines[1:NUM_MERGES + 1]]  # line 0 is a version header
    byte_tokens = list(bytes_to_unicode().values())
    tokens = byte_tokens + [t + "</w>" for t in byte_tokens]
    tokens += ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}, merges


def clip_tokenizer(max_length: int = MAX_LENGTH):
    """A transformers `CLIPTokenizer` identical to OpenAI CLIP's, built without network."""
    from transformers import CLIPTokenizer

    vocab, merges = _vocab_and_merges()
    return CLIPTokenizer(vocab=dict(vocab), merges=list(merges), model_max_length=max_length,
                         pad_token="!")


def umt5_tokenizer(max_length: int = 512):
    """A transformers `T5Tokenizer` (the class of Wan's umt5 tokenizer) built in memory, for the
    random test models: characters and word-initial characters as unigram pieces, so any text
    tokenises; no sentencepiece file is needed. Real Wan weights bring their own tokenizer/."""
    import string

    from transformers import T5Tokenizer

    chars = string.ascii_lowercase + string.ascii_uppercase + string.digits + string.punctuation
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [("\u2581" + c, -2.5) for c in chars] + [(c, -3.0) for c in chars]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=max_length)
