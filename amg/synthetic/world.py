"""The synthetic world's scenes: random people, motions, cameras, placements and backgrounds.

`sample_scene(rng, split, ...)` composes a Scene from the project's own parts (the avatar
builder's prompt words, the motion presets with random edits, the camera presets) and a
background class named in its caption. The held-out split uses motions, camera paths and
(background, number of people) combinations that the training split never contains, so
the results table measures generalisation rather than recall.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from amg.scene import AvatarSpec, CameraRef, MotionRef, Person, Placement, RenderSettings, Scene

#: Background classes, the caption phrases that name them, and the words that select them.
BACKGROUNDS: dict[str, dict] = {
    "beach": {"phrases": ("on a sunny beach", "on the beach by the sea", "on a sandy beach"),
              "words": ("beach", "sand", "sandy", "sea", "seaside", "shore", "ocean", "coast")},
    "park": {"phrases": ("in a green park", "on the grass in a park", "in a park with trees"),
             "words": ("park", "grass", "lawn", "garden", "meadow", "field", "trees", "forest")},
    "street": {"phrases": ("on a city street", "in a street between buildings", "on the road in town"),
               "words": ("street", "city", "road", "town", "urban", "buildings", "avenue", "sidewalk")},
    "studio": {"phrases": ("in a photo studio", "in a bright studio", "on a studio backdrop"),
               "words": ("studio", "backdrop", "stage", "indoors", "room", "gallery")},
    "night": {"phrases": ("at night under the stars", "outside at night", "on a dark night"),
              "words": ("night", "dark", "stars", "moon", "evening", "midnight")},
}
BACKGROUND_CLASSES = tuple(BACKGROUNDS)
DEFAULT_BACKGROUND = "studio"

#: Single-person motion presets of the library, split so held-out motions are never trained on.
TRAIN_MOTIONS = ("idle", "walk", "walk_stride", "jump", "jump_forward", "wave", "breakdance", "boxing",
                 "latin_dance", "bow", "kick", "walk_styled", "jump_balance")
HELD_OUT_MOTIONS = ("walk_veer_left", "jump_arms_up", "hop", "clap", "fencing", "jump_reach")
#: Camera paths: the held-out ones (orbits turning clockwise, zoom-outs, sideways trucking)
#: never occur in training, where orbits turn counter-clockwise.
TRAIN_CAMERAS = ("static", "orbit", "zoom_in", "pan", "crane")
HELD_OUT_CAMERAS = ("orbit", "zoom_out", "truck")
#: (background, number of people) pairs the training split never shows (each background is
#: still seen in training, with the other number of people).
HELD_OUT_COMBOS = frozenset({("night", 2), ("park", 1), ("beach", 2), ("street", 1), ("studio", 2)})

_COLOURS = ("red", "blue", "yellow", "green", "white", "black", "orange", "purple", "pink", "grey", "brown",
            "navy", "teal")
_BOTTOM_COLOURS = ("blue", "black", "grey", "brown", "white", "khaki", "navy", "green", "red")
_TOPS = ("shirt", "t-shirt", "sweater", "jacket", "hoodie")
_BOTTOMS = ("jeans", "trousers", "shorts", "skirt")
_BUILDS = ("", "", "", "tall ", "slim ", "heavy ", "muscular ")


@dataclass
class SceneInfo:
    """What a sampled scene is, for the dataset index and the results table."""

    background: str
    camera: str
    camera_params: dict
    floor: bool
    people: int
    motions: list[str]
    split: str  # "train" or "test"

    def to_dict(self) -> dict:
        return asdict(self)


def background_of(caption: str) -> str:
    """The background class a caption names (the first class word in it; studio if none)."""
    words = [w.strip(".,;:!?\"'()") for w in caption.lower().split()]
    for w in words:
        for name, spec in BACKGROUNDS.items():
            if w in spec["words"]:
                return name
    return DEFAULT_BACKGROUND


def _article(words: str) -> str:
    text = ("an " if words[0] in "aeiou" else "a ") + words
    return text.replace(" a orange", " an orange")


def _person_prompt(rng: np.random.Generator, used: set[str]) -> str:
    """Words the avatar builder turns into a body and garments, e.g. 'a tall man in a red shirt and blue jeans'."""
    for _ in range(20):
        who = rng.choice(["man", "woman", "man", "woman", "boy", "girl", "old man", "old woman"])
        build = rng.choice(_BUILDS) if "boy" not in who and "girl" not in who else ""
        top_colour = rng.choice(_COLOURS)
        female = "woman" in who or "girl" in who
        if female and rng.random() < 0.35:
            text = _article(f"{build}{who} in a {top_colour} dress")
            if text not in used:
                return text
        top = rng.choice(_TOPS)
        bottom = rng.choice(_BOTTOMS if female else _BOTTOMS[:3])
        bottom_colour = rng.choice([c for c in _BOTTOM_COLOURS if c != top_colour])
        text = _article(f"{build}{who} in a {top_colour} {top} and {bottom_colour} {bottom}")
        if text not in used:
            return text
    return text


def _camera(rng: np.random.Generator, split: str, people: int) -> tuple[str, dict]:
    name = str(rng.choice(HELD_OUT_CAMERAS if split == "test" else TRAIN_CAMERAS))
    # A set distance keeps people large in a small frame (framing a walk's whole path would not).
    distance = float(rng.uniform(3.4, 4.6) if people == 1 else rng.uniform(4.2, 5.6))
    params: dict = {"azimuth": float(rng.uniform(-35, 35)), "elevation": float(rng.uniform(2, 18)),
                    "fov": float(rng.uniform(36, 48)), "distance": distance}
    if name == "orbit":
        params.update(angle=float(rng.uniform(60, 110)), direction="cw" if split == "test" else "ccw",
                      radius=distance)
    elif name in ("zoom_in", "zoom_out"):
        params.update(factor=float(rng.uniform(1.3, 1.7)))
    elif name == "pan":
        params.update(direction=str(rng.choice(["left", "right"])), angle=float(rng.uniform(15, 30)))
    elif name == "crane":
        params.update(direction=str(rng.choice(["up", "down"])), amount=float(rng.uniform(0.5, 1.2)))
    elif name == "truck":
        params.update(direction=str(rng.choice(["left", "right"])), amount=float(rng.uniform(0.8, 1.6)))
    return name, params


def sample_scene(rng: np.random.Generator, split: str = "train", width: int = 64, height: int = 64,
                 frames: int = 8, fps: float = 4.0, background: str | None = None,
                 floor: bool | None = None) -> tuple[Scene, SceneInfo]:
    """A random Scene of 1-2 people and its SceneInfo; `split` is "train" or "test" (held out)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    while True:
        n = int(rng.integers(1, 3))
        bg = background or str(rng.choice(BACKGROUND_CLASSES))
        held_out = (bg, n) in HELD_OUT_COMBOS
        if background is not None or held_out == (split == "test"):
            break
    motions = HELD_OUT_MOTIONS if split == "test" else TRAIN_MOTIONS
    used: set[str] = set()
    people, names = [], []
    xs = [float(rng.uniform(-0.6, 0.6))] if n == 1 else sorted(rng.uniform(-1.3, 1.3, 2))
    if n == 2 and xs[1] - xs[0] < 1.0:
        mid = (xs[0] + xs[1]) / 2
        xs = [mid - 0.55, mid + 0.55]
    for i in range(n):
        prompt = _person_prompt(rng, used)
        used.add(prompt)
        motion = str(rng.choice(motions))
        names.append(motion)
        people.append(Person(
            id=f"p{i}", avatar=AvatarSpec(prompt=prompt),
            motion=MotionRef(source=motion, start=float(rng.uniform(0, 0.6)), speed=float(rng.uniform(0.8, 1.25)),
                             mirror=bool(rng.random() < 0.5)),
            placement=Placement(x=float(xs[i]), z=float(rng.uniform(-0.5, 0.5)), heading=float(rng.uniform(-70, 70))),
        ))
    camera, params = _camera(rng, split, n)
    grid = bool(rng.random() < 0.5) if floor is None else floor
    who = " and ".join(p.avatar.prompt for p in people)
    caption = f"{who} {rng.choice(BACKGROUNDS[bg]['phrases'])}"
    scene = Scene(name=f"synthetic {split}", people=people, camera=CameraRef(preset=camera, params=params),
                  prompt=caption, render=RenderSettings(width=width, height=height, frames=frames, fps=fps,
                                                        floor=grid))
    return scene, SceneInfo(bg, camera, params, grid, n, names, split)
