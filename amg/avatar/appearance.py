"""Appearance from words: a text prompt becomes a body build and coloured garments.

"A woman wearing a bright yellow dress, sleeveless, flowing just above her knees" ->
female adult, yellow dress (top + skirt) ending above the knee, bare arms. Explicit
values in an AvatarSpec (phenotype numbers, colours, garment) override the parse.

Clothes words come from one vocabulary (`amg.avatar.wardrobe`, shared with the prompt
splitter). Words it does not hold, a garment after "in"/"wearing" or a word describing the
person ("a lanky man", "a bridal gown"), are read by meaning: the offline sentence-embedding
model finds the nearest known word, kept when it is near enough (`Appearance.read_as` says
what was read as what). Old people's hair greys unless a colour is named.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field

from amg.avatar.wardrobe import BY_TOKEN, GARMENTS, PHRASE_OF, PHRASES, token

log = logging.getLogger(__name__)

#: Colour names -> sRGB in [0, 1].
COLOURS = {
    "white": (0.93, 0.93, 0.92), "black": (0.06, 0.06, 0.07), "grey": (0.5, 0.5, 0.5), "gray": (0.5, 0.5, 0.5),
    "silver": (0.75, 0.75, 0.78), "red": (0.8, 0.1, 0.1), "crimson": (0.7, 0.05, 0.15), "maroon": (0.45, 0.05, 0.1),
    "pink": (0.95, 0.55, 0.7), "orange": (0.95, 0.5, 0.1), "yellow": (0.95, 0.85, 0.1), "gold": (0.85, 0.68, 0.2),
    "golden": (0.85, 0.68, 0.2), "green": (0.15, 0.6, 0.2), "olive": (0.45, 0.45, 0.15), "lime": (0.6, 0.9, 0.2),
    "teal": (0.0, 0.5, 0.5), "turquoise": (0.25, 0.85, 0.8), "cyan": (0.1, 0.8, 0.9), "blue": (0.15, 0.3, 0.85),
    "navy": (0.08, 0.12, 0.35), "denim": (0.25, 0.35, 0.55), "purple": (0.5, 0.2, 0.65), "violet": (0.55, 0.35, 0.8),
    "lavender": (0.75, 0.65, 0.9), "brown": (0.4, 0.25, 0.12), "tan": (0.78, 0.62, 0.42), "beige": (0.88, 0.82, 0.68),
    "khaki": (0.76, 0.69, 0.5), "cream": (0.96, 0.93, 0.82), "ivory": (0.98, 0.96, 0.88),
    "blonde": (0.9, 0.78, 0.45), "blond": (0.9, 0.78, 0.45), "auburn": (0.55, 0.2, 0.1), "ginger": (0.8, 0.4, 0.15),
    "dark": (0.15, 0.15, 0.18), "light": (0.85, 0.85, 0.85),
}
_MODIFIERS = {"bright": (1.1, 0.0), "light": (1.0, 0.45), "pale": (1.0, 0.55), "dark": (0.55, 0.0),
              "deep": (0.65, 0.0), "navy": (0.6, 0.0)}

SKIN_TONES = {"fair": (0.96, 0.8, 0.7), "pale": (0.97, 0.84, 0.76), "light": (0.93, 0.76, 0.64),
              "medium": (0.8, 0.6, 0.45), "olive": (0.76, 0.6, 0.42), "tan": (0.72, 0.52, 0.36),
              "brown": (0.55, 0.38, 0.26), "dark": (0.36, 0.24, 0.17)}
DEFAULT_SKIN = (0.86, 0.68, 0.55)

_FEMALE = {"woman", "women", "girl", "lady", "female", "she", "her", "mother", "mom", "ballerina", "actress", "grandmother"}
_MALE = {"man", "men", "boy", "guy", "gentleman", "male", "he", "his", "him", "father", "dad", "grandfather"}
_AGE = {"baby": 0.05, "toddler": 0.12, "child": 0.33, "kid": 0.33, "boy": 0.4, "girl": 0.4, "teen": 0.5,
        "teenager": 0.5, "teenage": 0.5, "young": 0.62, "middle-aged": 0.82, "old": 0.97, "elderly": 0.97,
        "senior": 0.95, "grandmother": 0.95, "grandfather": 0.95, "aged": 0.95}
_BUILD = {
    "slim": {"weight": 0.25}, "thin": {"weight": 0.15}, "skinny": {"weight": 0.1}, "slender": {"weight": 0.25},
    "heavy": {"weight": 0.85}, "fat": {"weight": 0.95}, "chubby": {"weight": 0.8}, "plump": {"weight": 0.8},
    "overweight": {"weight": 0.9}, "stocky": {"weight": 0.75, "muscle": 0.65},
    "muscular": {"muscle": 0.9}, "athletic": {"muscle": 0.75, "weight": 0.4}, "strong": {"muscle": 0.8},
    "fit": {"muscle": 0.7, "weight": 0.35}, "bodybuilder": {"muscle": 1.0, "weight": 0.6},
    "petite": {"weight": 0.3}, "obese": {"weight": 1.0}, "stout": {"weight": 0.85}, "portly": {"weight": 0.85},
    "rotund": {"weight": 0.9}, "plus-size": {"weight": 0.9}, "heavyset": {"weight": 0.85},
    "burly": {"weight": 0.7, "muscle": 0.8}, "lean": {"weight": 0.2, "muscle": 0.6}, "wiry": {"weight": 0.2, "muscle": 0.6},
    "lanky": {"weight": 0.15}, "gangly": {"weight": 0.15},
}
#: Height words: a change of Anny's height value from the default for the age.
_HEIGHT_WORDS = {"tall": 0.15, "towering": 0.2, "lanky": 0.12, "gangly": 0.1, "petite": -0.15, "tiny": -0.22}
#: Hair colours of age when the prompt names none: greying in middle age, grey-white when old.
GREYING_HAIR, GREY_HAIR = (0.42, 0.4, 0.38), (0.8, 0.8, 0.78)
#: Jacket colours when the prompt names none (a suit's is also its trousers'); a suit's shirt.
DEFAULT_JACKET, DEFAULT_SUIT, SUIT_SHIRT = (0.25, 0.23, 0.22), (0.16, 0.17, 0.21), (0.93, 0.93, 0.92)
#: Reading by meaning: the least cosine similarity to accept the nearest known word, and for build
#: and age words the least lead over the nearest word of another meaning.
MEANING_THRESHOLD, MEANING_MARGIN = 0.6, 0.05
#: A garment's kind read from a word before it ("a bridal gown" -> a wedding dress) must be nearer still.
MEANING_THRESHOLD_KIND = 0.75
_PERSON_WORDS = {"person", "people", "child", "kid", "teenager", "teen", "dancer", "athlete", "runner", "player"}
#: What else follows "in" ("in a park", "in the rain"): read by meaning beside the garments, so a
#: place is not taken for the garment it sounds like.
_NOT_GARMENTS = ["park", "room", "street", "city", "forest", "garden", "field", "studio", "kitchen", "office", "gym",
                 "crowd", "line", "circle", "group", "row", "hurry", "rain", "snow", "sunlight", "wind", "darkness",
                 "water", "pool", "sea", "car", "bed", "chair", "ring", "arena", "stadium", "hall", "church",
                 "school", "house", "library", "market", "desert", "mountains", "fog", "mud", "sand", "slow motion",
                 "spotlight", "love", "pain", "costume party", "suitcase", "traffic"]
#: Words after "with"/"in" that are no garment (not read by meaning).
_NOT_CLOTHES = {"hair", "skin", "complexion", "eyes", "beard", "moustache", "mustache", "neckline", "collar",
                "sleeves", "pattern", "print", "stripes", "dots", "bag", "umbrella", "smile", "tattoo", "tattoos"}
_PRONOUNS = {"she", "her", "he", "his", "him"}
_DETERMINERS = {"a", "an", "the", "one", "two", "this", "that", "his", "her", "their", "and", "with", "in", "of",
                "is", "was", "who"}
_NOT_ATTRIBUTES = _DETERMINERS | {"short", "long", "young", "little", "big", "small"}
_LENGTH_WORDS = {"long", "short", "mini", "maxi", "midi", "knee-length", "floor-length", "ankle-length",
                 "sleeveless", "short-sleeved", "long-sleeved", "strapless", "flowing", "pair", "of"}

ADULT_AGE = 0.7
#: Anny's height value for adults: 0.35 gives a man of 1.75 m and a woman of 1.61 m, the
#: averages; Anny's own middle value (0.5) makes adults of 1.91 m and 1.77 m. Younger
#: people keep 0.5 (a child of about 1.4 m).
ADULT_HEIGHT = 0.35


@dataclass
class Appearance:
    """What a person looks like, in the terms the avatar builder paints.

    phenotype: Anny values in [0, 1]; colours: sRGB in [0, 1] per region.
    lower: "trousers" | "shorts" | "skirt" | "dress"; sleeves: "long" | "short" | "none";
    hem: for skirts and dresses, 0 = at the hips .. 1 = at the knees .. 2 = at the ankles.
    jacket: the colour of a jacket or coat worn open over the top (None: no jacket);
    jacket_hem: how far down it reaches, on the hem's scale.
    explicit: the regions whose colour the user gave (words or controls), kept when
    making people distinct. read_as: words read by meaning -> the known word they were read as.
    """

    phenotype: dict[str, float] = field(default_factory=dict)
    top: tuple = (0.3, 0.45, 0.7)
    bottom: tuple = (0.2, 0.2, 0.25)
    shoes: tuple = (0.12, 0.1, 0.1)
    hair: tuple = (0.22, 0.14, 0.08)
    skin: tuple = DEFAULT_SKIN
    lower: str = "trousers"
    sleeves: str = "long"
    hem: float = 0.9
    long_hair: bool = False
    jacket: tuple | None = None
    jacket_hem: float = 0.25
    explicit: set = field(default_factory=set)
    read_as: dict = field(default_factory=dict)


_PHRASE_RE = re.compile(r"\b(" + "|".join(re.escape(p).replace("\\ ", r"\s+") for p in PHRASES) + r")\b")


def _tokens(text: str, commas: bool = False) -> list[str]:
    """Lower-case words, the vocabulary's two-word garments joined ("evening-dress")."""
    text = _PHRASE_RE.sub(lambda m: token(" ".join(m.group(1).split())), text.lower())
    return re.findall(r"[a-z]+(?:-[a-z]+)*" + ("|[,;.]" if commas else ""), text)


def _colour_before(tokens: list[str], i: int) -> tuple | None:
    """Colour named in the few words before tokens[i], with its modifier ("bright yellow")."""
    colour, factor = None, None
    for j in range(i - 1, max(i - 5, -1), -1):
        w = tokens[j]
        if w in ("and", "with", "wearing", "in", "a", "an") and colour is not None:
            break
        if w in BY_TOKEN or w == "hair":
            break
        if colour is None and w in COLOURS and not (w in _MODIFIERS and j + 1 < i and tokens[j + 1] in COLOURS):
            colour = COLOURS[w]
        elif colour is not None and w in _MODIFIERS:
            factor = _MODIFIERS[w]
            break
    if colour is None:
        return None
    if factor is not None:
        scale, mix_white = factor
        colour = tuple(min(1.0, c * scale) for c in colour)
        colour = tuple(c + (1 - c) * mix_white for c in colour)
    return colour


def parse_appearance(prompt: str) -> Appearance:
    """Body build and garments named in `prompt` (unnamed things keep neutral defaults)."""
    prompt, read_as = read_by_meaning(prompt)
    tokens = _tokens(prompt)
    words = set(tokens)
    app = Appearance(read_as=read_as)
    pheno = {"age": ADULT_AGE}
    if words & _FEMALE and not words & _MALE - {"his", "him", "he"}:
        pheno["gender"] = 1.0
    elif words & _MALE:
        pheno["gender"] = 0.0
    for w, age in _AGE.items():
        if w in words:
            pheno["age"] = age
    for w, build in _BUILD.items():
        if w in words:
            pheno.update(build)
    height = ADULT_HEIGHT if pheno["age"] >= 0.6 else 0.5
    height += sum(d for w, d in _HEIGHT_WORDS.items() if w in words)
    if re.search(r"\bshort\s+(man|woman|person|boy|girl|guy|lady)\b", prompt.lower()):
        height -= 0.15
    pheno["height"] = min(1.0, max(0.0, height))
    app.phenotype = pheno
    app.long_hair = pheno.get("gender", 0.5) > 0.5 or "long" in words and "hair" in words

    for i, w in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        garment = BY_TOKEN.get(w)
        if garment is not None and garment.kind != "accessory":
            _wear(app, garment, w, prev, _colour_before(tokens, i))
        elif w == "hair":
            c = _colour_before(tokens, i)
            if c:
                app.hair = c
                app.explicit.add("hair")
            if prev == "long" or "long" in tokens[max(0, i - 3):i]:
                app.long_hair = True
            if prev == "short" or "short" in tokens[max(0, i - 3):i]:
                app.long_hair = False
        elif w.endswith("-haired") and w.split("-")[0] in COLOURS:  # "grey-haired"
            app.hair = COLOURS[w.split("-")[0]]
            app.explicit.add("hair")
        elif w in ("skin", "skinned", "complexion") or w.endswith("-skinned"):
            tone = w.split("-")[0] if w.endswith("-skinned") else prev
            if tone in SKIN_TONES:
                app.skin = SKIN_TONES[tone]
                app.explicit.add("skin")
    if "sleeveless" in words or "strapless" in words:
        app.sleeves = "none"
    elif "short-sleeved" in words or ("short" in words and "sleeves" in words):
        app.sleeves = "short"
    if app.jacket is not None:
        app.sleeves = "long"
    if "bald" in words:
        app.hair, app.long_hair = app.skin, False
        app.explicit.add("hair")
    elif "hair" not in app.explicit and pheno["age"] >= 0.8:
        app.hair = GREY_HAIR if pheno["age"] >= 0.9 else GREYING_HAIR
        app.explicit.add("hair")  # the words asked for it: no palette colour replaces it
    if app.lower in ("skirt", "dress"):
        text = prompt.lower()
        if re.search(r"\b(above (the |her |his )?knees?|mini|short (dress|skirt))\b", text):
            app.hem = 0.75
        elif re.search(r"\b(long|maxi|floor-length|ankle-length)\s+(\w+\s+){0,2}(dress|skirt|gown)\b|\bankles\b", text):
            app.hem = 1.8
        elif re.search(r"\b(below (the |her )?knees?|midi)\b", text):
            app.hem = 1.2
    return app


def _wear(app: Appearance, garment, word: str, prev: str, colour: tuple | None) -> None:
    """Put one named garment on `app` (its colour, if the prompt gave one)."""
    kind = garment.kind
    if kind == "dress":
        app.lower, app.hem = "dress", garment.hem
        if colour:
            app.top = app.bottom = colour
            app.explicit |= {"top", "bottom"}
    elif kind == "bottom":
        app.lower = garment.lower
        if garment.hem is not None:
            app.hem = garment.hem
        colour = colour or (COLOURS["denim"] if word == "jeans" else None)
        if colour:
            app.bottom = colour
            app.explicit.add("bottom")
    elif kind == "top":
        if colour:
            app.top = colour
            app.explicit.add("top")
        if prev == "short-sleeved":
            app.sleeves = "short"
        elif garment.sleeves and not (garment.sleeves == "none" and prev == "suit"):  # a suit's vest has a jacket over it
            app.sleeves = garment.sleeves
    elif kind in ("jacket", "suit"):
        app.jacket = colour or (DEFAULT_SUIT if kind == "suit" else DEFAULT_JACKET)
        app.jacket_hem = garment.hem
        if kind == "suit":
            app.lower, app.bottom = "trousers", app.jacket
            app.explicit.add("bottom")
            if "top" not in app.explicit:  # the shirt under it, unless named
                app.top = SUIT_SHIRT
                app.explicit.add("top")
    elif kind == "outfit":
        app.lower = "trousers"
        if colour:
            app.top = app.bottom = colour
            app.explicit |= {"top", "bottom"}
    elif kind == "shoes" and colour:
        app.shoes = colour
        app.explicit.add("shoes")


# ---- reading by meaning ----------------------------------------------------------------------------------

def _attribute_words() -> dict[str, str]:
    """Known build/age/height words -> what they mean, coarsely (words of one meaning do not compete)."""
    out = {}
    for w, age in _AGE.items():
        out[w] = "old" if age >= 0.9 else "middle-aged" if age >= 0.8 else "young" if age >= 0.55 else \
            "teen" if age >= 0.45 else "child"
    for w, build in _BUILD.items():
        out[w] = "heavy" if build.get("weight", 0.5) >= 0.7 else "muscular" if build.get("muscle", 0.5) >= 0.7 \
            else "thin"
    for w, change in _HEIGHT_WORDS.items():
        out[w] = "tall" if change > 0 else "small"
    return out


_ATTRIBUTES = _attribute_words()
_KNOWN_WORDS = (set(_ATTRIBUTES) | set(COLOURS) | set(_MODIFIERS) | set(SKIN_TONES) | _FEMALE | _MALE | _PERSON_WORDS
                | _NOT_ATTRIBUTES | _LENGTH_WORDS | _NOT_CLOTHES | set(BY_TOKEN))


def _nearest(query: str, options: list[str], meanings: list[str] | None = None,
             threshold: float = MEANING_THRESHOLD) -> tuple[str | None, float]:
    """The option nearest in meaning to `query` if near enough (and, with meanings, ahead of every option
    of another meaning by MEANING_MARGIN); (None, best similarity) otherwise."""
    from amg.embeddings import nearest

    sims, order = nearest(query, tuple(options))
    best = int(order[0])
    if sims[best] < threshold:
        return None, float(sims[best])
    if meanings is not None:
        rival = max((float(sims[i]) for i in order if meanings[i] != meanings[best]), default=-1.0)
        if sims[best] - rival < MEANING_MARGIN:
            return None, float(sims[best])
    return options[best], float(sims[best])


@functools.lru_cache(maxsize=512)
def _read_by_meaning(prompt: str) -> tuple[str, tuple]:
    tokens = _tokens(prompt, commas=True)
    replace: dict[str, str] = {}  # phrase in the prompt -> known phrase
    garments = list(GARMENTS)
    # garments: the noun phrase after "in" / "wearing" / "and" / "with" / "under" / "over"
    for i, w in enumerate(tokens):
        if w not in ("in", "wearing", "and", "with", "under", "over"):
            continue
        phrase = []
        for v in tokens[i + 1:i + 6]:
            if v in (",", ";", ".", "and", "with", "in", "wearing") or v in _FEMALE | _MALE | _PERSON_WORDS:
                break
            phrase.append(v)
        content = [v for v in phrase if v not in _KNOWN_WORDS - set(BY_TOKEN)]
        if not content or content[-1] in _NOT_CLOTHES:
            continue
        head = content[-1]
        if head in BY_TOKEN:
            # "a prom dress": a known garment with a word before it that is no colour or length: the
            # nearest phrase of the same garment ("evening dress"), when there is one near enough
            if len(content) < 2 or content[-2] in BY_TOKEN:
                continue
            noun = PHRASE_OF[head].split()[-1]
            kinds = [p for p in garments if p.split()[-1] == noun]
            if len(kinds) < 2:
                continue
            # the plain noun and the other kinds compete: a kind must be clearly nearest ("a floral dress"
            # stays a dress)
            match, _ = _nearest(f"{content[-2]} {noun}", kinds, [p if " " in p else "" for p in kinds],
                                  threshold=MEANING_THRESHOLD_KIND)
            if match and " " in match:
                replace[f"{content[-2]} {head}"] = match
        elif w in ("in", "wearing") and head.isalpha() and len(head) > 2:
            query = " ".join(content[-2:])
            match, _ = _nearest(query, garments + _NOT_GARMENTS)
            if match and match in GARMENTS:
                replace[query] = match
    # build and age: the words between a determiner and the person ("a lanky old man")
    attributes = list(_ATTRIBUTES)
    nouns = (_FEMALE | _MALE | _PERSON_WORDS) - _PRONOUNS
    for i, w in enumerate(tokens):
        if w not in nouns:
            continue
        j = i - 1
        while j >= 0 and tokens[j] not in _DETERMINERS and tokens[j] not in (",", ";", "."):
            v = tokens[j]
            if v not in _KNOWN_WORDS and v.replace("-", "").isalpha() and len(v) > 2:
                match, _ = _nearest(f"a {v} person", [f"a {a} person" for a in attributes],
                                    [_ATTRIBUTES[a] for a in attributes])
                if match:
                    replace[v] = match.split()[1]
            j -= 1
    return prompt, tuple(replace.items())


_warned: list = []  # the model's absence is said once per process


def read_by_meaning(prompt: str) -> tuple[str, dict[str, str]]:
    """`prompt` with clothes and build words the vocabulary does not hold replaced by the known words
    nearest in meaning, and {word: known word} for each. Without the embedding model (not installed),
    the prompt as it is."""
    try:
        _, pairs = _read_by_meaning(prompt)
    except Exception as e:  # noqa: BLE001  the model is optional: words alone still work
        from amg.embeddings import UNAVAILABLE

        if not isinstance(e, UNAVAILABLE):
            raise
        if not _warned:
            log.warning("sentence embeddings unavailable (%s); reading avatar prompts by their words only", e)
            _warned.append(True)
        return prompt, {}
    text = prompt
    for old, new in pairs:
        text = re.sub(r"\b" + re.escape(old).replace("\\ ", r"[\s-]+") + r"\b", new, text, flags=re.I)
    return text, dict(pairs)
