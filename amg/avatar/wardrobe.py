"""The clothes words: one vocabulary for the prompt splitter (`amg.prompts`) and the avatar
builder (`amg.avatar.appearance`), so a word one of them knows the other knows too.

Each entry is a garment phrase (one or two words; two-word phrases are read as one token
joined by "-", "evening dress" -> "evening-dress") and what it means for the avatar: which
part of the body it dresses, its sleeves, and how far down it reaches. Words not listed are
matched to these entries by meaning (`amg.avatar.meaning`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Garment:
    """kind: "top" (shirt-like), "jacket" (worn open over the top), "suit" (jacket, matching
    trousers, a shirt under), "outfit" (top and trousers of one colour), "bottom", "dress",
    "shoes", "accessory" (known, not painted).
    lower: what the legs wear (trousers | shorts | skirt | dress); sleeves: long | short | none.
    hem: skirts and dresses 0 = hips .. 1 = knees .. 2 = ankles; jackets and coats the same
    scale from the hips down (0.2 covers the seat, 0.9 reaches the knees).
    """

    kind: str
    lower: str | None = None
    sleeves: str | None = None
    hem: float | None = None


_TOP, _JACKET, _SUIT, _OUTFIT = Garment("top"), Garment("jacket", sleeves="long", hem=0.15), \
    Garment("suit", lower="trousers", sleeves="long", hem=0.25), Garment("outfit", lower="trousers")
_SHORT_TOP, _BARE_TOP = Garment("top", sleeves="short"), Garment("top", sleeves="none")
_TROUSERS, _SHORTS = Garment("bottom", lower="trousers"), Garment("bottom", lower="shorts")
_SHOES, _ACCESSORY = Garment("shoes"), Garment("accessory")


def _skirt(hem: float) -> Garment:
    return Garment("bottom", lower="skirt", hem=hem)


def _dress(hem: float) -> Garment:
    return Garment("dress", lower="dress", hem=hem)


def _coat(hem: float) -> Garment:
    return Garment("jacket", sleeves="long", hem=hem)


#: Singular garment phrase -> what it is. Lengths are the usual cut ("long", "above the knee"
#: and similar words in a prompt override them).
GARMENTS: dict[str, Garment] = {
    # tops
    "shirt": _TOP, "dress shirt": _TOP, "blouse": _TOP, "top": _TOP, "sweater": _TOP, "jumper": _TOP,
    "pullover": _TOP, "sweatshirt": _TOP, "hoodie": _TOP, "cardigan": _TOP, "tunic": _TOP, "turtleneck": _TOP,
    "uniform": _TOP, "kimono": _TOP, "robe": _TOP, "fleece": _TOP, "poncho": _TOP, "t-shirt": _SHORT_TOP, "tshirt": _SHORT_TOP, "tee": _SHORT_TOP,
    "polo": _SHORT_TOP, "polo shirt": _SHORT_TOP, "jersey": _SHORT_TOP, "crop top": _SHORT_TOP,
    "tank": _BARE_TOP, "tank top": _BARE_TOP, "vest": _BARE_TOP, "camisole": _BARE_TOP, "waistcoat": _BARE_TOP,
    # jackets and coats, worn open over the top
    "jacket": _JACKET, "blazer": _coat(0.25), "sport coat": _coat(0.25), "dinner jacket": _coat(0.25),
    "leather jacket": _JACKET, "denim jacket": _JACKET, "bomber jacket": _JACKET, "puffer jacket": _JACKET,
    "windbreaker": _JACKET, "anorak": _coat(0.3), "parka": _coat(0.35), "coat": _coat(0.8),
    "overcoat": _coat(0.95), "trench coat": _coat(1.0), "raincoat": _coat(0.8), "lab coat": _coat(0.8), "mackintosh": _coat(0.8),
    # suits: a jacket, trousers of its colour, a shirt under
    "suit": _SUIT, "business suit": _SUIT, "tuxedo": _SUIT, "tux": _SUIT, "pantsuit": _SUIT,
    "trouser suit": _SUIT,
    # one colour from the shoulders to the ankles
    "tracksuit": _OUTFIT, "jumpsuit": _OUTFIT, "overalls": _OUTFIT, "dungarees": _OUTFIT,
    # legs
    "trousers": _TROUSERS, "pants": _TROUSERS, "jeans": _TROUSERS, "slacks": _TROUSERS, "leggings": _TROUSERS,
    "joggers": _TROUSERS, "sweatpants": _TROUSERS, "chinos": _TROUSERS, "capris": _TROUSERS,
    "cargo pants": _TROUSERS, "dress pants": _TROUSERS, "shorts": _SHORTS, "bermudas": _SHORTS,
    "culottes": _SHORTS, "skirt": _skirt(0.9), "miniskirt": _skirt(0.6), "mini skirt": _skirt(0.6),
    "pencil skirt": _skirt(1.05), "maxi skirt": _skirt(1.8), "tutu": _skirt(0.35),
    # dresses
    "dress": _dress(0.9), "frock": _dress(0.9), "sundress": _dress(0.85), "summer dress": _dress(0.9),
    "cocktail dress": _dress(0.85), "mini dress": _dress(0.6), "midi dress": _dress(1.2),
    "maxi dress": _dress(1.8), "gown": _dress(1.8), "evening dress": _dress(1.85), "evening gown": _dress(1.9),
    "ball gown": _dress(1.9), "wedding dress": _dress(1.9), "nightgown": _dress(1.6), "sari": _dress(1.9),
    "saree": _dress(1.9), "kaftan": _dress(1.8), "caftan": _dress(1.8), "pinafore": _dress(0.9),
    # feet
    "shoes": _SHOES, "sneakers": _SHOES, "boots": _SHOES, "heels": _SHOES, "high heels": _SHOES,
    "sandals": _SHOES, "trainers": _SHOES, "loafers": _SHOES, "slippers": _SHOES, "dress shoes": _SHOES,
    "flip-flops": _SHOES,
    # known, not painted
    "hat": _ACCESSORY, "cap": _ACCESSORY, "helmet": _ACCESSORY, "glasses": _ACCESSORY,
    "sunglasses": _ACCESSORY, "scarf": _ACCESSORY, "tie": _ACCESSORY, "gloves": _ACCESSORY,
    "armor": _ACCESSORY, "armour": _ACCESSORY, "apron": _ACCESSORY, "cloak": _ACCESSORY, "cape": _ACCESSORY,
    "costume": _ACCESSORY, "outfit": _ACCESSORY, "clothes": _ACCESSORY, "clothing": _ACCESSORY,
    "attire": _ACCESSORY, "sportswear": _ACCESSORY, "swimsuit": _ACCESSORY, "bikini": _ACCESSORY,
    "trunks": _ACCESSORY, "leotard": _ACCESSORY,
}

#: Words that end in "s" and are no plural to undo (one pair of jeans is "jeans").
UNCOUNTED = {"pants", "jeans", "shorts", "trousers", "leggings", "glasses", "sunglasses", "clothes", "trunks",
             "overalls", "dungarees", "boots", "shoes", "sneakers", "heels", "sandals", "gloves", "sportswear",
             "slacks", "joggers", "sweatpants", "chinos", "capris", "bermudas", "culottes", "trainers", "loafers",
             "slippers", "flip-flops"}


def token(phrase: str) -> str:
    """The one-token form of a phrase ("evening dress" -> "evening-dress")."""
    return phrase.replace(" ", "-")


def plural(phrase: str) -> str:
    """"blue dress" -> "blue dresses"; "jeans" stays."""
    head = phrase.split()[-1]
    if head in UNCOUNTED:
        return phrase
    return phrase + ("es" if head.endswith(("s", "sh", "ch", "x")) else "s")


#: Token (singular or plural, phrases joined by "-") -> garment, and -> its singular phrase.
BY_TOKEN: dict[str, Garment] = {}
PHRASE_OF: dict[str, str] = {}
for _phrase, _garment in GARMENTS.items():
    for _token in (token(_phrase), token(plural(_phrase))):
        BY_TOKEN[_token], PHRASE_OF[_token] = _garment, _phrase

#: Every single word that names a garment, its plural too (the prompt splitter's vocabulary: the
#: last word of a phrase is its noun, "evening dress" -> "dress").
GARMENT_WORDS = set()
for _phrase in GARMENTS:
    _noun = _phrase.split()[-1]
    GARMENT_WORDS |= {_noun, plural(_noun)}
#: Two-word phrases (and their plurals), joined into one token before reading a prompt.
PHRASES = sorted({f for p in GARMENTS if " " in p for f in (p, plural(p))}, key=len, reverse=True)
