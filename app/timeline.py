"""Timeline strips: per person, which part of their motion clip the shot plays (PIL image).

One row per person: the whole source clip as a grey bar, the trimmed part lighter, the parts the
shot plays in the person's colour (a loop shows each pass), and what the shot does besides in
words (waits, holds the last pose). The numbers come from amg.motion.timeline.clip_use.
"""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (250, 250, 247)
CLIP = (205, 205, 198)
TRIM = (232, 232, 226)
TEXT = (40, 40, 40)
ROW_H = 50


def _hex(c: str) -> tuple[int, int, int]:
    s = c.lstrip("#")
    return tuple(int(s[i:i + 2], 16) for i in (0, 2, 4))


def draw_timelines(rows: list[tuple[str, str, object]], width: int = 720) -> Image.Image:
    """rows: (person id, colour "#rrggbb", ClipUse or None when the clip could not be read)."""
    img = Image.new("RGB", (width, 8 + ROW_H * max(len(rows), 1)), BACKGROUND)
    d = ImageDraw.Draw(img)
    d.font = ImageFont.load_default(size=14)
    left, right = 100, width - 12
    for i, (pid, colour, use) in enumerate(rows):
        y = 6 + i * ROW_H
        d.text((6, y + 4), pid[:13], fill=TEXT)
        if use is None:
            d.text((left, y + 4), "motion not readable", fill=(170, 40, 30))
            continue
        scale = (right - left) / max(use.duration, 1e-6)
        bar = (y + 4, y + 20)
        d.rectangle([left, bar[0], right, bar[1]], fill=CLIP)
        d.rectangle([left + use.start * scale, bar[0], left + use.end * scale, bar[1]], fill=TRIM)
        passes = len(use.played)
        lane = (bar[1] - bar[0]) / max(passes, 1)  # each pass of a loop in its own lane
        for k, (a, b) in enumerate(use.played):
            d.rectangle([left + a * scale, bar[0] + k * lane, max(left + b * scale, left + a * scale + 2),
                         bar[0] + (k + 1) * lane - (1 if passes > 1 else 0)], fill=_hex(colour))
        d.text((left, y + 25), use.summary()[:80], fill=TEXT)
    return img
