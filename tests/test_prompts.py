"""Prompt decomposition: one sentence -> per-person appearance prompts + action + setting + scene prompt."""

import pytest

from amg.errors import AmgError
from amg.prompts import decompose_prompt


@pytest.mark.parametrize("sentence, people, action, setting", [
    ("a woman in a yellow dress and a man in a white shirt dance on a beach at sunset",
     ["a woman in a yellow dress", "a man in a white shirt"], "dance", "on a beach at sunset"),
    ("A man in a black suit and a woman in a red dress are dancing in a ballroom.",
     ["a man in a black suit", "a woman in a red dress"], "are dancing", "in a ballroom"),
    ("A woman in a white shirt and black jeans is running along the river",
     ["a woman in a white shirt and black jeans"], "is running", "along the river"),
    ("an old man with a grey beard walks through a park", ["an old man with a grey beard"], "walks",
     "through a park"),
    ("a girl wearing a blue jacket jumps on the street", ["a girl wearing a blue jacket"], "jumps", "on the street"),
    ("a man and a woman hug in the snow", ["a man", "a woman"], "hug", "in the snow"),
    ("a man, a woman and a child wave at the camera", ["a man", "a woman", "a child"], "wave", "at the camera"),
    ("two women in blue dresses and a man in a grey suit walk along a street in the rain",
     ["a woman in a blue dress", "a woman in a blue dress", "a man in a grey suit"], "walk",
     "along a street in the rain"),
    ("two boxers in red shorts fight in a boxing ring", ["a boxer in red shorts"] * 2, "fight", "in a boxing ring"),
    ("three children play football in a garden", ["a child"] * 3, "play football", "in a garden"),
    ("a boy in a boxing robe punches a bag in a gym", ["a boy in a boxing robe"], "punches a bag", "in a gym"),
    ("a ballerina in a pink tutu spins on a stage under a spotlight", ["a ballerina in a pink tutu"], "spins",
     "on a stage under a spotlight"),
])
def test_paper_style_sentences(sentence, people, action, setting):
    parts = decompose_prompt(sentence)
    assert parts.appearance == people
    assert parts.action == action
    assert parts.setting == setting
    assert parts.scene == sentence.rstrip(".")  # the video model sees the whole sentence


def test_nouns_and_dict_form():
    parts = decompose_prompt("  a woman in a yellow dress   and a man in a white shirt dance on a beach.  ")
    assert [p.noun for p in parts.people] == ["woman", "man"]
    assert parts.scene == "a woman in a yellow dress and a man in a white shirt dance on a beach"
    d = parts.to_dict()
    assert d["people"][0] == {"text": "a woman in a yellow dress", "noun": "woman"} and d["action"] == "dance"


def test_sentence_without_people_keeps_the_scene():
    parts = decompose_prompt("waves crash on a rocky shore")
    assert parts.people == [] and parts.scene == "waves crash on a rocky shore"


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_empty_prompt_is_refused(bad):
    with pytest.raises(AmgError, match="prompt: empty"):
        decompose_prompt(bad)
