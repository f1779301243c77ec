"""Prompt decomposition, the paper's inference step: one sentence -> people + scene.

"a woman in a yellow dress and a man in a white shirt dance on a beach at sunset" becomes
  people:  "a woman in a yellow dress", "a man in a white shirt"  (each feeds the avatar builder)
  action:  "dance";  setting: "on a beach at sunset"
  scene:   the whole sentence (the video model's text prompt, like the paper's y_s, which
           describes the full frame, people included)

Deterministic rules over a small English lexicon (person nouns, action verbs, garments,
colours), tuned for the paper's sentence pattern: subject noun phrases joined by "and"
or commas, one verb phrase, then a setting. Users edit the parts afterwards, so a parse
that is not perfect costs one edit, never a failure.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from amg.avatar.wardrobe import GARMENT_WORDS, GARMENTS, UNCOUNTED
from amg.errors import AmgError

# Person nouns, plural -> singular (the singular maps to itself).
_PERSON_NOUNS = {
    "man": "man", "men": "man", "woman": "woman", "women": "woman", "person": "person", "people": "person",
    "persons": "person", "boy": "boy", "girl": "girl", "child": "child", "children": "child", "kid": "kid",
    "lady": "lady", "ladies": "lady", "gentleman": "gentleman", "gentlemen": "gentleman", "guy": "guy",
    "teenager": "teenager", "teen": "teen", "toddler": "toddler", "baby": "baby", "babies": "baby",
    "dancer": "dancer", "boxer": "boxer", "athlete": "athlete", "player": "player", "runner": "runner",
    "skater": "skater", "soldier": "soldier", "student": "student", "wrestler": "wrestler", "fighter": "fighter",
    "ballerina": "ballerina", "gymnast": "gymnast", "chef": "chef", "doctor": "doctor", "nurse": "nurse",
    "businessman": "businessman", "businessmen": "businessman", "businesswoman": "businesswoman",
    "businesswomen": "businesswoman", "policeman": "policeman", "policemen": "policeman", "firefighter": "firefighter",
    "grandmother": "grandmother", "grandfather": "grandfather", "grandma": "grandma", "grandpa": "grandpa",
    "mother": "mother", "father": "father", "mom": "mom", "dad": "dad", "friend": "friend", "couple": "couple",
    "astronaut": "astronaut", "hiker": "hiker", "surfer": "surfer", "singer": "singer", "actor": "actor",
    "actress": "actress", "actresses": "actress", "worker": "worker", "climber": "climber", "swimmer": "swimmer",
    "cowboy": "cowboy", "knight": "knight", "ninja": "ninja", "pirate": "pirate", "robot": "robot",
}
for _noun in list(_PERSON_NOUNS.values()):
    _PERSON_NOUNS.setdefault(_noun, _noun)
    if not _noun.endswith(("man", "child", "person", "lady", "baby", "actress")):
        _PERSON_NOUNS.setdefault(_noun + "s", _noun)

_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "2": 2, "3": 3, "4": 4,
            "5": 5, "6": 6, "7": 7, "8": 8, "both": 2, "pair": 2, "couple": 2}
_DETERMINERS = {"a", "an", "the", "one", "his", "her", "their", "another", "some", "this", "that"}

# Action verbs (base forms); -s, -es, -ing, -ed forms are derived.
_ACTIONS = """
dance waltz tango salsa twirl spin walk stroll march run jog sprint jump hop leap skip climb crawl swim dive surf skate
ski snowboard ride cycle fight box spar wrestle punch kick hit throw catch pass shoot dribble play hug kiss embrace
hold greet wave clap bow shake sit stand kneel lie squat lunge stretch exercise train practice practise perform
rehearse sing talk chat argue laugh cry celebrate cheer chase race turn rotate step stomp slide fall roll cartwheel
flip lift push pull carry pose look stare watch point walk wander explore hike pace tiptoe shuffle sway bounce
do does doing did play fence duel salute high-five meditate
""".split()
_AUXILIARIES = {"is", "are", "was", "were", "be", "being", "keep", "keeps", "start", "starts", "begin", "begins"}
_NOT_VERBS_AFTER = _DETERMINERS | {"in", "with", "of", "wearing", "and", ","}

#: Garment words (singular and plural): the avatar builder's vocabulary, one list for both.
_GARMENTS = GARMENT_WORDS
_SETTING_PREPOSITIONS = {"on", "at", "in", "near", "under", "by", "along", "across", "through", "around", "inside",
                         "outside", "beside", "behind", "over", "into", "onto", "among", "amid", "between",
                         "within", "during", "against", "atop", "beneath", "underneath", "before"}


def _verb_forms(base: str) -> set[str]:
    stem = base[:-1] if base.endswith("e") and not base.endswith(("ee", "ye")) else base
    forms = {base, base + "s", base + "es", stem + "ing", stem + "ed", base + "d"}
    if len(base) >= 3 and base[-1] in "bdgmnpt" and base[-2] in "aeiou" and base[-3] not in "aeiou":
        forms |= {base + base[-1] + "ing", base + base[-1] + "ed"}  # run -> running, hop -> hopped
    if base.endswith("y") and base[-2] not in "aeiou":
        forms.add(base[:-1] + "ies")
    return forms


_ACTION_FORMS = {f for v in _ACTIONS for f in _verb_forms(v)} | {"ran", "swam", "fought", "threw", "caught", "sat",
                                                                 "stood", "lay", "rode", "held", "dove", "fell"}
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*|[,;]")


@dataclass
class PersonPrompt:
    """One person's appearance prompt, e.g. "a woman in a yellow dress"."""

    text: str
    noun: str  # singular head noun: "woman"


@dataclass
class PromptParts:
    """A prompt split into what each avatar looks like and what the video shows."""

    people: list[PersonPrompt] = field(default_factory=list)
    action: str = ""
    setting: str = ""
    #: The video model's text prompt (the whole, cleaned sentence).
    scene: str = ""

    @property
    def appearance(self) -> list[str]:
        return [p.text for p in self.people]

    def to_dict(self) -> dict:
        return asdict(self)


def decompose_prompt(text: str, source: str = "prompt") -> PromptParts:
    """Split one sentence into per-person appearance prompts, the action, the setting and the scene prompt."""
    if not isinstance(text, str) or not text.strip():
        raise AmgError(f"{source}: empty; describe the people and the scene, e.g. "
                       "'a woman in a yellow dress and a man in a white shirt dance on a beach at sunset'")
    scene = re.sub(r"\s+", " ", text).strip().rstrip(".!?;, ")
    words = _WORD.findall(scene)
    lower = [w.lower() for w in words]
    verb = _find_verb(lower)
    subject_end = verb if verb is not None else _find_setting(lower, _first_person(lower) or 0)
    if subject_end is None:
        subject_end = len(words)
    people = _split_people(words[:subject_end], lower[:subject_end])
    predicate, predicate_lower = words[subject_end:], lower[subject_end:]
    setting_at = _find_setting(predicate_lower, 0)
    if setting_at is None:
        setting_at = len(predicate)
    return PromptParts(people=people, action=_join(predicate[:setting_at]), setting=_join(predicate[setting_at:]),
                       scene=scene)


# ---- parsing helpers -------------------------------------------------------------------------
def _first_person(lower: list[str]) -> int | None:
    return next((i for i, w in enumerate(lower) if w in _PERSON_NOUNS), None)


def _find_verb(lower: list[str]) -> int | None:
    """Index of the main verb: the first action word (or auxiliary) after a person noun."""
    first = _first_person(lower)
    if first is None:
        return None
    for i in range(first + 1, len(lower)):
        w, prev = lower[i], lower[i - 1]
        if w in _AUXILIARIES and prev not in _NOT_VERBS_AFTER:
            return i
        if w in _ACTION_FORMS and prev not in _NOT_VERBS_AFTER and w not in _PERSON_NOUNS:
            # "a man in a boxing robe": a verb form used as a modifier is followed by a garment/noun
            nxt = lower[i + 1] if i + 1 < len(lower) else ""
            if w.endswith("ing") and nxt in _GARMENTS:
                continue
            return i
    return None


def _is_clothing_phrase(lower: list[str], start: int) -> bool:
    """True when "in ..." at `start` describes clothes ("in a red dress"), not a place ("in a park")."""
    for w in lower[start + 1:start + 6]:
        if w in _GARMENTS:
            return True
        if w in _SETTING_PREPOSITIONS or w in {",", "and"}:
            return False
    return False


def _find_setting(lower: list[str], start: int) -> int | None:
    i = start
    while i < len(lower):
        w = lower[i]
        if w in _SETTING_PREPOSITIONS and not (w == "in" and _is_clothing_phrase(lower, i)):
            return i
        i += 1
    return None


def _split_people(words: list[str], lower: list[str]) -> list[PersonPrompt]:
    """Noun phrases joined by "and"/commas; a part without its own person noun stays with the previous one."""
    parts: list[tuple[list[str], list[str]]] = []
    current: tuple[list[str], list[str]] = ([], [])
    for w, lw in zip(words, lower):
        if lw in {"and", ",", ";"}:
            parts.append(current)
            current = ([], [])
            continue
        current[0].append(w)
        current[1].append(lw)
    parts.append(current)

    people_parts: list[tuple[list[str], list[str]]] = []
    for pw, pl in parts:
        head = _head_noun(pl)
        if head is not None or not people_parts:
            people_parts.append((list(pw), list(pl)))
        elif pw:  # "... in a white shirt and black trousers": same person
            people_parts[-1][0].extend(["and"] + pw)
            people_parts[-1][1].extend(["and"] + pl)
    people: list[PersonPrompt] = []
    for pw, pl in people_parts:
        head = _head_noun(pl)
        if head is None:
            continue
        idx, noun = head
        count = 1
        number_at = next((j for j in range(idx) if pl[j] in _NUMBERS), None)
        if noun == "couple":  # "a couple in wedding clothes": two people
            count, noun = 2, "person"
        elif number_at is not None:
            count = _NUMBERS[pl[number_at]]
        if pl[idx] != noun or number_at is not None or count > 1:
            pw = list(pw)
            pw[idx] = noun
            if number_at is not None:
                del pw[number_at]
                idx -= 1
            pw = _singular_garments(pw)
            while pw and pw[0].lower() in _DETERMINERS:
                pw.pop(0)
            pw = [_article(pw[0])] + pw if pw else pw
        elif pl and pl[0] not in _DETERMINERS and pl[0] not in _NUMBERS:
            pw = [_article(pw[0])] + list(pw)  # "woman in red" -> "a woman in red"
        text = _join(pw)
        text = text[0].lower() + text[1:] if text[:2] in {"A ", "An"} else text
        people.extend(PersonPrompt(text=text, noun=noun) for _ in range(count))
    return people


def _head_noun(lower: list[str]) -> tuple[int, str] | None:
    """The person noun of a phrase, if it comes before any preposition ("a man" yes, "with a man" no)."""
    for j, w in enumerate(lower):
        if w in _PERSON_NOUNS:
            if w == "couple" and j + 1 < len(lower) and lower[j + 1] == "of":
                continue  # "a couple of dancers": the dancers are the noun
            return j, _PERSON_NOUNS[w]
        if w in _SETTING_PREPOSITIONS or w in {"with", "wearing", "of"}:
            return None
    return None


#: Garment words that are no plural to undo ("jeans", "dress").
_PLURAL_ONLY = UNCOUNTED | set(GARMENTS)


def _singular_garments(words: list[str]) -> list[str]:
    """One of "two women in blue dresses" wears "a blue dress"."""
    out: list[str] = []
    marker = None  # where the current garment phrase starts in `out` ("in", "wearing", "with", "and")
    for word in words:
        lw = word.lower()
        if lw in {"in", "wearing", "with", "and"}:
            out.append(word)
            marker = len(out)
            continue
        if lw in _GARMENTS and lw.endswith("s") and lw not in _PLURAL_ONLY:
            word = word[:-2] if lw.endswith(("sses", "shes", "ches")) else word[:-1]
            if marker is not None and (marker == len(out) or out[marker].lower() not in _DETERMINERS):
                out.insert(marker, _article(out[marker] if marker < len(out) else word))
            marker = None
        out.append(word)
    return out


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _join(words: list[str]) -> str:
    return re.sub(r" ([,;])", r"\1", " ".join(words)).strip()
