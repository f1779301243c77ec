"""Text to motion: the library by sentence, or an external text-to-motion model.

AMG Studio ships no text-to-motion network (none has weights that may ship); users who
run one (MoMask, MDM, InterGen, ...) plug it in here. A generator turns (prompt, people,
seconds) into joint positions (P, T, 22, 3) or (T, 22, 3), Y up, metres, in HumanML3D
joint order, which are solved into Motions by inverse kinematics (amg.motion.ik).

Plug-ins, any of:
- in Python: `register_generator("momask", MyGenerator())`;
- installed packages: an entry point in group "amg.text_to_motion" naming a callable;
- any program: `CommandGenerator("python gen.py --text {prompt} --people {people}
  --seconds {seconds} --out {out}")`, which must write a `.npy`/`.npz` motion file
  to {out} (read as data by amg.motion.formats, never unpickled).
"""

from __future__ import annotations

import tempfile
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

import numpy as np

from amg.errors import AmgError
from amg.motion.motion import Motion

ENTRY_POINT_GROUP = "amg.text_to_motion"


class TextToMotion(Protocol):
    def __call__(self, prompt: str, people: int, seconds: float) -> np.ndarray | list[Motion]:
        """Joint positions (P, T, 22, 3) / (T, 22, 3), or ready Motions."""


_registry: dict[str, TextToMotion] = {}


def register_generator(name: str, generator: TextToMotion) -> None:
    _registry[name] = generator


def available_generators() -> list[str]:
    names = set(_registry)
    names |= {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names)


def get_generator(name: str) -> TextToMotion:
    if name in _registry:
        return _registry[name]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            gen = ep.load()
            _registry[name] = gen
            return gen
    raise AmgError(f"no text-to-motion generator named {name!r}; available: "
                   f"{', '.join(available_generators()) or 'none (use a command, see amg motion generate --help)'}")


class CommandGenerator:
    """Runs an external program (no shell) that writes a motion file to {out}."""

    def __init__(self, command: str, timeout: float = 1800.0):
        from amg.external import check_command

        check_command(command, "text-to-motion")  # refused now, not after the user waited
        self.command, self.timeout = command, timeout

    def __call__(self, prompt: str, people: int, seconds: float) -> list[Motion]:
        from amg.external import run_command
        from amg.motion.formats import load_motion_file

        with tempfile.TemporaryDirectory(prefix="amg-t2m-") as tmp:
            out = Path(tmp) / "motion.npy"
            run_command(self.command, "text-to-motion", self.timeout, prompt=prompt, people=people,
                        seconds=seconds, out=out)
            written = [p for p in (out, out.with_suffix(".npz")) if p.exists()]
            if not written:
                raise AmgError(f"text-to-motion command wrote no motion file at {out}")
            return load_motion_file(written[0])


def generated_motions(output, fps: float = 20.0, name: str = "generated") -> list[Motion]:
    """A generator's output (joint positions or Motions) as Motions, one per person."""
    if isinstance(output, Motion):
        return [output]
    if isinstance(output, (list, tuple)) and output and all(isinstance(m, Motion) for m in output):
        return list(output)
    from amg.motion.ik import people_to_motions

    arr = np.asarray(output, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[2:] != (22, 3):
        raise AmgError(f"text-to-motion output must be joint positions (P, T, 22, 3) or (T, 22, 3), got {arr.shape}")
    return people_to_motions(arr, fps, name=name)


#: Longest motion asked of a text-to-motion model (they make seconds, not minutes).
MAX_SECONDS = 600.0


def text_to_motion(prompt: str, people: int = 1, seconds: float = 4.0, generator: str | TextToMotion | None = None,
                   fps: float = 20.0) -> list[Motion]:
    """Motions for `prompt`: from `generator` if given, else the best-matching library preset
    with that many people (retrieval)."""
    if not (isinstance(seconds, (int, float)) and 0 < seconds <= MAX_SECONDS):
        raise AmgError(f"seconds must be a number above 0 and at most {MAX_SECONDS:g}, got {seconds}")
    if not (isinstance(people, int) and 1 <= people <= 8):
        raise AmgError(f"people must be 1 to 8, got {people}")
    if generator is not None:
        gen = get_generator(generator) if isinstance(generator, str) else generator
        return generated_motions(gen(prompt, people, seconds), fps=fps)
    from amg.motion.library import load_preset
    from amg.motion.search import search

    for info, _ in search(prompt):
        if info.people == people:
            return load_preset(info.name)
    raise AmgError(f"no library motion for {people} people matches {prompt!r}")
