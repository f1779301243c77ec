"""Appearance from words: a text prompt becomes a body build and coloured garments.

"A woman wearing a bright yellow dress, sleeveless, flowing just above her knees" ->
female adult, yellow dress (top + skirt) ending above the knee, bare arms. Explicit
values in an AvatarSpec (phenotype numbers, colours, garment) override the parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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

_TOPS = {"shirt", "t-shirt", "tshirt", "tee", "blouse", "top", "sweater", "jumper", "hoodie", "jacket", "coat",
         "blazer", "suit", "dress-shirt", "vest", "cardigan", "tank", "jersey", "polo", "tunic", "uniform"}
_BOTTOMS = {"pants": "trousers", "trousers": "trousers", "jeans": "trousers", "slacks": "trousers",
            "leggings": "trousers", "joggers": "trousers", "sweatpants": "trousers", "chinos": "trousers",
            "shorts": "shorts", "skirt": "skirt", "miniskirt": "skirt"}
_DRESSES = {"dress", "gown", "sundress", "frock"}
_SHOES = {"shoes", "sneakers", "boots", "heels", "sandals", "trainers", "loafers", "slippers"}
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
    "petite": {"weight": 0.3},
}
#: Height words: a change of Anny's height value from the default for the age.
_HEIGHT_WORDS = {"tall": 0.15, "petite": -0.15, "tiny": -0.22}

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
    explicit: the regions whose colour the user gave (words or controls), kept when
    making people distinct.
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
    explicit: set = field(default_factory=set)


def _tokens(text: str) -> list[str]:
    text = re.sub(r"\bdress\s+shirt", "dress-shirt", text.lower())
    return re.findall(r"[a-z]+(?:-[a-z]+)*", text)


def _colour_before(tokens: list[str], i: int) -> tuple | None:
    """Colour named in the few words before tokens[i], with its modifier ("bright yellow")."""
    colour, factor = None, None
    for j in range(i - 1, max(i - 5, -1), -1):
        w = tokens[j]
        if w in ("and", "with", "wearing", "in", "a", "an") and colour is not None:
            break
        if w in _TOPS or w in _BOTTOMS or w in _DRESSES or w in _SHOES or w == "hair":
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
    tokens = _tokens(prompt)
    words = set(tokens)
    app = Appearance()
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
        if w in _DRESSES and not (i + 1 < len(tokens) and tokens[i + 1] in {"shoes", "pants"}):
            app.lower = "dress"
            c = _colour_before(tokens, i)
            if c:
                app.top = app.bottom = c
                app.explicit |= {"top", "bottom"}
        elif w in _BOTTOMS:
            app.lower = _BOTTOMS[w]
            c = _colour_before(tokens, i) or (COLOURS["denim"] if w == "jeans" else None)
            if c:
                app.bottom = c
                app.explicit.add("bottom")
        elif w in _TOPS:
            c = _colour_before(tokens, i)
            if c:
                app.top = c
                app.explicit.add("top")
            if w in ("t-shirt", "tshirt", "tee", "polo", "jersey") or prev == "short-sleeved":
                app.sleeves = "short"
            if w in ("tank", "vest") and prev != "suit":
                app.sleeves = "none"
            if w == "suit":
                app.bottom = app.top
                app.explicit.add("bottom")
        elif w in _SHOES:
            c = _colour_before(tokens, i)
            if c:
                app.shoes = c
                app.explicit.add("shoes")
        elif w == "hair":
            c = _colour_before(tokens, i)
            if c:
                app.hair = c
                app.explicit.add("hair")
            if prev == "long" or "long" in tokens[max(0, i - 3):i]:
                app.long_hair = True
            if prev == "short" or "short" in tokens[max(0, i - 3):i]:
                app.long_hair = False
        elif w in ("skin", "skinned", "complexion") or w.endswith("-skinned"):
            tone = w.split("-")[0] if w.endswith("-skinned") else prev
            if tone in SKIN_TONES:
                app.skin = SKIN_TONES[tone]
                app.explicit.add("skin")
    if "sleeveless" in words or "strapless" in words:
        app.sleeves = "none"
    elif "short-sleeved" in words or ("short" in words and "sleeves" in words):
        app.sleeves = "short"
    if "bald" in words:
        app.hair, app.long_hair = app.skin, False
    if app.lower in ("skirt", "dress"):
        text = prompt.lower()
        if re.search(r"\b(above (the |her |his )?knees?|mini|short (dress|skirt))\b", text):
            app.hem = 0.75
        elif re.search(r"\b(long|maxi|floor-length|ankle-length)\s+(\w+\s+){0,2}(dress|skirt|gown)\b|\bgown\b|\bankles\b", text):
            app.hem = 1.8
        elif re.search(r"\b(below (the |her )?knees?|midi)\b", text):
            app.hem = 1.2
    return app
