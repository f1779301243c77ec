"""Colours: the "#rrggbb" text of scenes and the UI, and RGB values, converted in one place."""

from __future__ import annotations

import re

import numpy as np

#: A colour as scenes store it.
HEX_PATTERN = r"^#[0-9a-fA-F]{6}$"


def is_hex(value: str) -> bool:
    return isinstance(value, str) and re.fullmatch(HEX_PATTERN, value) is not None


def hex_to_rgb(value: str) -> tuple[float, float, float]:
    """"#rrggbb" (the "#" optional) -> RGB in 0..1."""
    return tuple(c / 255.0 for c in hex_to_rgb8(value))


def hex_to_rgb8(value: str) -> tuple[int, int, int]:
    """"#rrggbb" (the "#" optional) -> RGB in 0..255."""
    s = value.lstrip("#")
    return tuple(int(s[i:i + 2], 16) for i in (0, 2, 4))


def rgb_to_hex(rgb, max_value: float = 1.0) -> str:
    """RGB in 0..max_value (1 or 255) -> "#rrggbb", clipped and rounded."""
    return "#" + "".join(f"{int(round(np.clip(c, 0, max_value) * (255 / max_value))):02x}" for c in rgb)
