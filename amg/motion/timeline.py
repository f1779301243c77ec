"""Which part of a person's motion clip a shot plays: after trim, speed, time offset and loop.

The same arithmetic as `scene_motion` (edit.trim, edit.speed, edit.retime with its offset),
written on seconds alone so a UI can draw it without loading poses.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ClipUse:
    """What a shot plays of one person's source clip (all times in seconds).

    duration:    length of the source clip.
    start, end:  the trim, in source seconds.
    played:      source intervals played in order (a loop plays the trimmed part again).
    hold_before: shot seconds before the clip starts (its first pose held; a positive offset).
    hold_after:  shot seconds after it ended (its last pose held; no loop, clip too short).
    shot:        the shot's sampled span, (frames - 1) / fps.
    """

    duration: float
    start: float
    end: float
    speed: float
    loop: bool
    shot: float
    hold_before: float = 0.0
    hold_after: float = 0.0
    played: list[tuple[float, float]] = field(default_factory=list)

    @property
    def cycles(self) -> float:
        """How many times the trimmed part plays (0.5: half of it)."""
        length = self.end - self.start
        return sum(b - a for a, b in self.played) / length if length > 0 else 0.0

    def summary(self) -> str:
        if not self.played:
            return f"holds its first pose for the whole shot ({self.shot:.1f} s)"
        a, b = self.played[0][0], self.played[-1][1]
        text = f"plays {a:.1f}-{b:.1f} s of {self.duration:.1f} s"
        if len(self.played) > 1:
            text = f"plays {self.start:.1f}-{self.end:.1f} s of {self.duration:.1f} s {self.cycles:.1f} times (loop)"
        if self.speed != 1.0:
            text += f" at {self.speed:g}x"
        if self.hold_before > 0:
            text += f"; waits {self.hold_before:.1f} s first"
        if self.hold_after > 0:
            text += f"; holds its last pose for the last {self.hold_after:.1f} s"
        return text


def clip_use(duration: float, start: float, end: float | None, speed: float, loop: bool, offset: float,
             frames: int, fps: float) -> ClipUse:
    """The part of a `duration`-second clip a shot of `frames` frames at `fps` plays (MotionRef fields)."""
    end = min(end if end is not None else duration, duration)
    start = min(max(start, 0.0), end)
    length = end - start  # source seconds of the trimmed clip
    shot = max(frames - 1, 0) / fps
    use = ClipUse(duration, start, end, speed, loop, shot)
    use.hold_before = min(max(offset, 0.0), shot)
    # clip time (shot seconds since the clip started) at the first and last frame
    first, last = max(-offset, 0.0), shot - offset
    if last < 0 or length <= 0:
        use.hold_before = shot if length > 0 else 0.0
        return use
    src_first, src_last = first * speed, last * speed  # seconds into the trimmed clip
    if not loop:
        if src_first >= length:
            use.hold_after = shot - use.hold_before
            return use
        use.played = [(start + src_first, start + min(src_last, length))]
        use.hold_after = max(0.0, (src_last - length) / speed)
        return use
    k = int(src_first // length)
    while k * length < src_last and len(use.played) < 1000:  # one interval per cycle the shot reaches
        lo, hi = max(src_first, k * length), min(src_last, (k + 1) * length)
        if hi > lo or not use.played:
            use.played.append((start + lo - k * length, start + hi - k * length))
        k += 1
    return use
