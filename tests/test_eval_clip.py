"""CLIP score: the offline CLIP tokenizer, a tiny random CLIP through the real path, and
"unavailable" (never a number) when there are no weights."""

from __future__ import annotations

import numpy as np
import pytest

from amg.errors import AmgError
from amg.eval import ClipScorer, EvalConfig, clip_score, evaluate_pair
from amg.eval.synthetic import moving_blobs_video


@pytest.fixture(scope="module")
def tiny():
    return ClipScorer.tiny_random()


@pytest.fixture(scope="module")
def frames():
    return moving_blobs_video(num_frames=5, size=64, num_blobs=3, seed=0)[0]


def test_offline_tokenizer_is_clips():
    from amg.model.tokenizer import clip_tokenizer

    tok = clip_tokenizer()
    assert len(tok) == 49408
    # Token ids of OpenAI CLIP's tokenizer for this sentence.
    assert tok("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert len(tok("word " * 200, truncation=True).input_ids) == 77


def test_tiny_random_clip_runs_and_is_flagged(tiny, frames):
    import torch

    result = tiny(frames, "colourful balls on a black floor")
    assert result.status == "ok" and result.untrained and result.model == "tiny-random"
    assert len(result.per_frame) == len(frames)
    assert result.value == pytest.approx(np.mean(result.per_frame), abs=1e-4)
    assert all(-100.0 <= s <= 100.0 for s in result.per_frame)
    # Independent check through the feature functions: 100 * cosine(text, image) per frame.
    proc = tiny.processor
    text = proc(text=["colourful balls on a black floor"], return_tensors="pt", padding=True)
    images = proc(images=list(frames), return_tensors="pt")
    with torch.inference_mode():
        t = tiny.model.get_text_features(input_ids=text["input_ids"], attention_mask=text["attention_mask"])
        i = tiny.model.get_image_features(pixel_values=images["pixel_values"])
    t = getattr(t, "pooler_output", t)
    i = getattr(i, "pooler_output", i)
    expected = 100 * torch.nn.functional.cosine_similarity(i, t.expand_as(i), dim=-1)
    np.testing.assert_allclose(result.per_frame, expected.numpy(), atol=1e-3)
    # Different prompts give different scores (the text really goes through the model).
    assert tiny(frames, "a cat").value != pytest.approx(result.value, abs=1e-6)


def test_save_and_reload_keeps_the_untrained_flag(tiny, frames, tmp_path):
    tiny.save_pretrained(tmp_path / "clip")
    again = ClipScorer.from_pretrained(str(tmp_path / "clip"))
    assert again.untrained
    assert again(frames, "balls").value == pytest.approx(tiny(frames, "balls").value, abs=1e-4)


def test_without_weights_it_is_unavailable_not_a_number(frames, tmp_path):
    missing_hub = clip_score(frames, "balls", model="amg-test/no-such-clip-model")
    assert missing_hub.status == "unavailable" and missing_hub.value is None
    assert "amg-test/no-such-clip-model" in missing_hub.reason and "downloading is off" in missing_hub.reason
    missing_dir = clip_score(frames, "balls", model=str(tmp_path / "nowhere"))
    assert missing_dir.status == "unavailable" and missing_dir.value is None and "not found" in missing_dir.reason
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    in_empty = clip_score(frames, "balls", model=str(empty_dir))
    assert in_empty.status == "unavailable" and in_empty.value is None and str(empty_dir) in in_empty.reason


def test_evaluate_pair_reports_clip(tiny, frames):
    with_clip = evaluate_pair(frames, frames, "colourful balls", EvalConfig(tracker="lk"), clip_scorer=tiny)
    d = with_clip.to_dict()
    assert d["clip_status"] == "ok" and d["clip_untrained"] is True and isinstance(d["clip_score"], float)
    unavailable = evaluate_pair(frames, frames, "colourful balls",
                                EvalConfig(tracker="lk", clip_model="amg-test/no-such-clip-model"))
    assert unavailable.clip_score is None and unavailable.clip_status == "unavailable" and unavailable.clip_reason
    no_prompt = evaluate_pair(frames, frames, None, EvalConfig(tracker="lk"))
    assert no_prompt.clip_score is None and no_prompt.clip_status == "not requested"


def test_bad_clip_input(tiny, frames):
    with pytest.raises(AmgError, match="prompt is empty"):
        tiny(frames, "   ")
    with pytest.raises(AmgError, match="frames"):
        tiny(frames[0], "balls")
