"""A scene's condition passes written to files as they are rendered (what `amg render` does).

The clip is rendered chunk by chunk (amg.render.render_chunks) and every chunk goes at once to
all outputs: an MP4 per pass (amg.render.passes.pass_paths), PNG sequences (amg.render.frames),
the masks file (.npz). Memory follows the chunk, not the clip's length. The depth pass is
normalised over the whole clip, so when it is asked for, a first pass over the chunks finds
the clip's depth range (rendering is deterministic: the second pass renders the same pixels).
Every output is written beside its place and swapped in when all are complete.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from amg.render.scene_render import CHUNK_FRAMES, render_chunks
from amg.scene import Scene


@dataclass
class WrittenPasses:
    """What write_passes wrote: {pass: MP4 path}, {sequence folder name: path}, the masks file."""

    videos: dict[str, Path]
    frames: int
    width: int
    height: int
    fps: float
    folders: dict[str, Path] = field(default_factory=dict)
    masks: Path | None = None


def write_passes(scene: Scene, output: str | os.PathLike, passes=("rgb",), frames_dir: str | os.PathLike | None = None,
                 masks: str | os.PathLike | None = None, frames: int | None = None, width: int | None = None,
                 height: int | None = None, fps: float | None = None,
                 progress: Callable[[str], None] | None = None, chunk_frames: int = CHUNK_FRAMES) -> WrittenPasses:
    """Render `scene` and write each of `passes` as an MP4 (rgb at `output`, the others beside
    it), with `frames_dir` every pass as PNG sequences too, with `masks` an .npz of the per-person
    masks (T, P, H, W) bool, depth (T, H, W) float32 metres and person_ids. Size/frames/fps
    override the scene's settings."""
    from amg.files import npz_stream
    from amg.render.frames import pass_sequences
    from amg.render.passes import PASSES, check_passes, inverse_depth_range, pass_paths, passes_from_render
    from amg.video import mp4_writer

    names = check_passes(passes, PASSES + ("pose+depth",))
    settings = scene.render.with_overrides(frames=frames, width=width, height=height, fps=fps)
    t, w, h, fps = settings.frames, settings.width, settings.height, float(settings.fps)
    say = progress or (lambda msg: None)

    def chunks(what: str):
        return render_chunks(scene, t, w, h, fps, lambda msg: say(what + msg), chunk_frames=chunk_frames)

    inverse_range = None
    if {"depth", "pose+depth"} & set(names):  # one normalisation for the clip: its range first
        for chunk in chunks("depth range: "):
            inverse_range = inverse_depth_range(chunk.depth, inverse_range)
    paths = pass_paths(output, names)
    ids = [p.id for p in scene.people]
    with contextlib.ExitStack() as stack:
        videos = {name: stack.enter_context(mp4_writer(paths[name], fps)) for name in names}
        sequences = stack.enter_context(pass_sequences(frames_dir, ids)) if frames_dir else None
        person_ids = np.array(ids)
        masks_file = stack.enter_context(npz_stream(masks, {
            "masks": ((t, len(ids), h, w), bool), "depth": ((t, h, w), np.float32),
            "person_ids": (person_ids.shape, person_ids.dtype)})) if masks else None
        if masks_file:
            masks_file(person_ids=person_ids)
        for chunk in chunks(""):
            made = passes_from_render(chunk, names, inverse_range)
            for name, video in made.items():
                videos[name](video)
            if sequences:
                sequences(chunk, made, inverse_range)
            if masks_file:
                masks_file(masks=chunk.masks, depth=chunk.depth)
    return WrittenPasses(paths, t, w, h, fps, sequences.folders if sequences else {},
                         Path(masks) if masks else None)
