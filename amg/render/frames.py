"""Image sequences: numbered PNGs per pass, the form compositors and ComfyUI's image loaders read.

Layout under a folder DIR (frame numbers from 00000):
  DIR/rgb/00000.png           avatars, 8-bit RGB
  DIR/depth/00000.png         16-bit grey, near = bright (the depth pass at 16 bits)
  DIR/pose/00000.png          OpenPose skeletons, 8-bit RGB (also pose+depth)
  DIR/mask/00000.png          8-bit grey, white where anyone is
  DIR/mask.<person>/00000.png 8-bit grey, one folder per person
Each folder is written beside its final place and swapped in whole, so a failed write never
leaves a half sequence, and frames of an earlier, longer render never linger among new ones.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from amg.errors import AmgError

FRAME_NAME = "{:05d}.png"


def write_png_sequence(frames: np.ndarray,  # (T, H, W, 3) uint8 RGB, or (T, H, W) uint8 / uint16 grey
                       folder: str | os.PathLike) -> Path:
    """Write frames as folder/00000.png, 00001.png, ... (16-bit PNG for uint16); returns the folder."""
    frames = _checked(frames)  # before anything is made
    with png_sequence(folder) as write:
        write(frames)
    return Path(folder)


def _checked(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if not ((frames.ndim == 4 and frames.shape[-1] == 3 and frames.dtype == np.uint8)
            or (frames.ndim == 3 and frames.dtype in (np.uint8, np.uint16))):
        raise AmgError(f"image sequence frames must be (T, H, W, 3) uint8 or (T, H, W) uint8/uint16, "
                       f"got {frames.shape} {frames.dtype}")
    return frames


@contextlib.contextmanager
def png_sequence(folder: str | os.PathLike) -> Iterator[Callable[[np.ndarray], None]]:
    """`with png_sequence(folder) as write: write(chunk); ...`: a numbered sequence fed chunk by
    chunk (frames as write_png_sequence takes them), numbered on from chunk to chunk; written
    beside `folder` and swapped in whole when the block ends without an error."""
    from PIL import Image

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists() and not folder.is_dir():
        raise AmgError(f"{folder}: exists and is not a folder")
    if folder.exists() and any(not re.fullmatch(r"\d{5}\.png", p.name) for p in folder.iterdir()):
        raise AmgError(f"{folder}: holds files other than a frame sequence; not replacing it "
                       "(choose an empty or new --frames-dir)")
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".partial"))
    count = 0

    def write(frames: np.ndarray) -> None:
        nonlocal count
        for frame in _checked(frames):
            Image.fromarray(np.ascontiguousarray(frame)).save(tmp / FRAME_NAME.format(count), compress_level=4)
            count += 1

    try:
        yield write
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sequence_frames(result, passes: dict[str, np.ndarray], person_ids: list[str],
                    inverse_range: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
    """{folder name: frames} (layout above) from an amg.render.RenderResult and its passes
    ({name: (T, H, W, 3) uint8}, from amg.render.passes.passes_from_render). For one chunk of
    a clip, `inverse_range` is the clip's (see amg.render.passes.depth_pass)."""
    from amg.render.passes import depth_pass

    out = {}
    for name, frames in passes.items():
        if name == "depth":
            out[name] = depth_pass(result.depth, dtype=np.uint16, inverse_range=inverse_range)[..., 0]
        elif name == "mask":
            out[name] = frames[..., 0]
            for p, pid in enumerate(person_ids):
                safe = re.sub(r"[^A-Za-z0-9_-]+", "_", pid) or f"person{p}"
                out[f"mask.{safe}"] = result.masks[:, p].astype(np.uint8) * np.uint8(255)
        else:
            out[name] = frames
    return out


def write_pass_sequences(result, passes: dict[str, np.ndarray], folder: str | os.PathLike,
                         person_ids: list[str]) -> dict[str, Path]:
    """Write the passes of `result` as PNG sequences under `folder`; {folder name: path}."""
    with pass_sequences(folder, person_ids) as write:
        write(result, passes)
    return write.folders


@contextlib.contextmanager
def pass_sequences(folder: str | os.PathLike, person_ids: list[str]) -> Iterator[Callable]:
    """`with pass_sequences(folder, ids) as write: write(chunk, its passes, inverse_range)`: the
    PNG sequences of a clip rendered chunk by chunk (amg.render.render_chunks); `write.folders`
    is {folder name: path}. Every folder is swapped in when the block ends without an error."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise AmgError(f"--frames-dir {folder}: exists and is not a folder")
    with contextlib.ExitStack() as stack:
        writers: dict[str, Callable[[np.ndarray], None]] = {}

        def write(result, passes: dict[str, np.ndarray], inverse_range: tuple[float, float] | None = None) -> None:
            for name, frames in sequence_frames(result, passes, person_ids, inverse_range).items():
                if name not in writers:
                    writers[name] = stack.enter_context(png_sequence(folder / name))
                writers[name](frames)

        write.folders = {}
        yield write
        write.folders.update({name: folder / name for name in writers})
