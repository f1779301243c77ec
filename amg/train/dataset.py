"""Training data: a folder of clips, each a video, its avatar condition video and a caption.

    DATASET/
      amg_dataset.json          format, clip size (frames, width, height, fps) and the clips
      clips/<id>/video.mp4      the real footage, resampled to the dataset's size
      clips/<id>/condition.mp4  the avatars performing the same motion, from the same camera
      clips/<id>/scene.json     the scene the condition was rendered from

Every clip of a dataset has the same size, so clips batch together. The index is
rewritten atomically after each added clip: an interrupted preparation loses at most
the clip being written.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from amg.errors import AmgError
from amg.files import atomic_write_text, parse_json, read_text

FORMAT = "amg-dataset"
VERSION = 1
INDEX = "amg_dataset.json"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class Clip:
    id: str
    caption: str
    source: str = ""  # where the footage came from
    motion: str = ""  # where the motion came from

    def folder(self, root: Path) -> Path:
        return root / "clips" / self.id

    def video_path(self, root: Path) -> Path:
        return self.folder(root) / "video.mp4"

    def condition_path(self, root: Path) -> Path:
        return self.folder(root) / "condition.mp4"


@dataclass
class TrainingData:
    """A dataset folder: its clip size and its clips."""

    root: Path
    frames: int
    width: int
    height: int
    fps: float
    clips: list[Clip] = field(default_factory=list)

    @classmethod
    def create(cls, root: str | os.PathLike, frames: int = 16, width: int = 256, height: int = 256,
               fps: float = 8.0) -> "TrainingData":
        """A new empty dataset, or the existing one at `root` if its clip size is the same."""
        root = Path(root)
        if (root / INDEX).exists():
            data = cls.open(root)
            if (data.frames, data.width, data.height) != (frames, width, height) or abs(data.fps - fps) > 1e-6:
                raise AmgError(f"{root}: holds {data.frames}-frame {data.width}x{data.height} clips at "
                               f"{data.fps:g} fps; new clips must have that size (or use another folder)")
            return data
        if root.exists() and any(root.iterdir()):
            raise AmgError(f"{root}: folder is not empty and is not an AMG dataset; choose a new folder")
        from amg.model.condition import check_target

        check_target(str(root), frames, height, width)
        data = cls(root, frames, width, height, float(fps))
        data.save()
        return data

    @classmethod
    def open(cls, root: str | os.PathLike) -> "TrainingData":
        root = Path(root)
        path = root / INDEX
        if not path.is_file():
            raise AmgError(f"{root}: not an AMG dataset (no {INDEX}); make one with `amg data prepare`")
        raw = parse_json(read_text(path, "dataset index"), str(path))
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise AmgError(f"{path}: not an AMG dataset index (\"format\" must be \"{FORMAT}\")")
        if raw.get("version") != VERSION:
            raise AmgError(f"{path}: dataset version {raw.get('version')!r} is not supported (this AMG reads {VERSION})")
        try:
            clips = [Clip(**c) for c in raw["clips"]]
            data = cls(root, int(raw["frames"]), int(raw["width"]), int(raw["height"]), float(raw["fps"]), clips)
        except (KeyError, TypeError, ValueError) as e:
            raise AmgError(f"{path}: malformed dataset index ({type(e).__name__}: {e})") from None
        for c in clips:
            if not _ID.match(c.id):
                raise AmgError(f"{path}: clip id {c.id!r} must be 1-64 letters, digits, - or _")
        return data

    def save(self) -> None:
        index = {"format": FORMAT, "version": VERSION, "frames": self.frames, "width": self.width,
                 "height": self.height, "fps": self.fps, "clips": [asdict(c) for c in self.clips]}
        atomic_write_text(self.root / INDEX, json.dumps(index, indent=1) + "\n")

    def new_id(self, stem: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:48] or "clip"
        taken = {c.id for c in self.clips}
        if base not in taken:
            return base
        k = 2
        while f"{base}_{k}" in taken:
            k += 1
        return f"{base}_{k}"

    def add(self, clip: Clip) -> None:
        """Record a clip whose files are already written."""
        if any(c.id == clip.id for c in self.clips):
            raise AmgError(f"{self.root}: already holds a clip {clip.id!r}")
        for p in (clip.video_path(self.root), clip.condition_path(self.root)):
            if not p.is_file():
                raise AmgError(f"{p}: missing; a clip needs its video and condition files")
        self.clips.append(clip)
        self.save()

    def load(self, clip: Clip) -> tuple[np.ndarray, np.ndarray]:
        """(video, condition): (T, H, W, 3) uint8 each, checked against the dataset's size."""
        from amg.video import read_video

        out = []
        for path in (clip.video_path(self.root), clip.condition_path(self.root)):
            frames, _ = read_video(path)
            if frames.shape[:3] != (self.frames, self.height, self.width):
                raise AmgError(f"{path}: is {frames.shape[2]}x{frames.shape[1]} with {frames.shape[0]} frames; "
                               f"this dataset's clips are {self.width}x{self.height} with {self.frames}")
            out.append(frames)
        return out[0], out[1]
