"""BlazePose model files (Apache-2.0), built once into AMG's cache by `amg setup`.

mediapipe's current wheels (which run with NumPy 2) ship no pose models; the 0.10.21 wheel
holds BlazePose's detector and full landmark model as plain .tflite files. `amg setup`
downloads that wheel's file with pip (never installs it), takes the two models and their
licence, adds the input NormalizationOptions metadata the Tasks API requires to the landmark
model (written by
the 0.10.21 wheel's own metadata writer, run in a child process from the unzipped files),
and zips them into the `.task` bundle `PoseLandmarker` loads. Everything then works offline.
"""

from __future__ import annotations

import logging
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from amg.files import cache_dir
from amg.errors import AmgError

log = logging.getLogger(__name__)

#: The one mediapipe release whose wheel still carries the BlazePose model files.
SOURCE_WHEEL = "mediapipe==0.10.21"
TASK_NAME = "pose_landmarker_full.task"
#: inside the wheel -> inside the .task bundle (the names the Tasks API looks for)
_MODELS = {"mediapipe/modules/pose_detection/pose_detection.tflite": "pose_detector.tflite",
           "mediapipe/modules/pose_landmark/pose_landmark_full.tflite": "pose_landmarks_detector.tflite"}

# Run in a child process with only the unzipped 0.10.21 files first on sys.path, so the
# installed (newer) mediapipe is never mixed with the old one.
_WRITER = r"""
import sys
from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer as mw
src, dst, name = sys.argv[1:4]
buf = bytearray(open(src, "rb").read())
writer = mw.MetadataWriter.create(buf).add_general_info(name, "BlazePose (MediaPipe, Apache-2.0)")
writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
model, _ = writer.populate()
open(dst, "wb").write(model)
"""


def pose_model_dir() -> Path:
    """Where the pose model bundle and its licence live: <AMG cache>/pose."""
    return cache_dir() / "pose"


def pose_task_path() -> Path:
    return pose_model_dir() / TASK_NAME


def require_pose_task() -> Path:
    """The bundle's path, or an AmgError saying how to build it."""
    path = pose_task_path()
    if not path.is_file():
        raise AmgError(f"pose model not found at {path}: run `amg setup` once (it builds the BlazePose "
                       "model files from the mediapipe 0.10.21 wheel, Apache-2.0)")
    return path


def download_wheel(dest: Path) -> Path:
    """The mediapipe 0.10.21 wheel for this platform, fetched by pip (not installed)."""
    done = subprocess.run([sys.executable, "-m", "pip", "download", SOURCE_WHEEL, "--no-deps", "--only-binary=:all:",
                           "-d", str(dest), "-q"], capture_output=True, text=True)
    wheels = sorted(dest.glob("mediapipe-0.10.21-*.whl"))
    if done.returncode != 0 or not wheels:
        raise AmgError(f"could not download the {SOURCE_WHEEL} wheel (it holds the BlazePose model files): "
                       f"{(done.stderr or done.stdout).strip()[-300:]}; or pass a wheel file you downloaded "
                       "with `amg setup --pose-wheel FILE`")
    return wheels[0]


def build_pose_task(wheel: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Build `pose_landmarker_full.task` and LICENSE in `out_dir` from a mediapipe 0.10.21 wheel."""
    wheel, out_dir = Path(wheel), Path(out_dir)
    try:
        zf = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as e:
        raise AmgError(f"{wheel}: not a readable wheel ({e})") from None
    with zf, tempfile.TemporaryDirectory(prefix="amg-pose-build-") as tmp:
        tmp = Path(tmp)
        names = zf.namelist()
        missing = [m for m in _MODELS if m not in names]
        if missing:
            raise AmgError(f"{wheel}: holds no {', '.join(missing)} (only the mediapipe 0.10.21 wheel ships them)")
        # the metadata writer's pure-Python files and its two compiled helpers; the package
        # __init__ files are left empty so importing them pulls in nothing else
        for n in names:
            if n.startswith(("mediapipe/tasks/python/metadata/", "mediapipe/tasks/metadata/",
                             "mediapipe/tasks/cc/metadata/python/")) or n in _MODELS:
                zf.extract(n, tmp)
        for pkg in ("mediapipe", "mediapipe/tasks", "mediapipe/tasks/python", "mediapipe/tasks/cc",
                    "mediapipe/tasks/cc/metadata"):
            (tmp / pkg / "__init__.py").write_text("")
        licence = next((n for n in names if n.endswith(".dist-info/LICENSE")), None)
        staged = tmp / "out"
        staged.mkdir()
        env = {**os.environ, "PYTHONPATH": str(tmp)}
        for src, name in _MODELS.items():
            if b"TFLITE_METADATA" in (tmp / src).read_bytes():  # the detector carries its own already
                shutil.copyfile(tmp / src, staged / name)
                continue
            done = subprocess.run([sys.executable, "-c", _WRITER, str(tmp / src), str(staged / name), name],
                                  capture_output=True, text=True, env=env, cwd=tmp)
            if done.returncode != 0:
                raise AmgError(f"writing the model metadata for {name} failed: {done.stderr.strip()[-400:]}")
        task = staged / TASK_NAME
        with zipfile.ZipFile(task, "w", zipfile.ZIP_STORED) as out:
            for name in _MODELS.values():
                # 64-byte aligned entries let the Tasks API map the models without a copy
                info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
                offset = out.fp.tell() + 30 + len(name)
                pad = (-offset) % 64
                pad += 64 if 0 < pad < 4 else 0
                # zipalign's padding extra field (id 0xD935)
                info.extra = struct.pack("<HH", 0xD935, pad - 4) + bytes(pad - 4) if pad else b""
                out.writestr(info, (staged / name).read_bytes())
        notice = ("BlazePose pose detector and landmark model (pose_detection.tflite, pose_landmark_full.tflite)\n"
                  f"from the {SOURCE_WHEEL} wheel on PyPI, by the MediaPipe Authors (Google LLC),\n"
                  "licensed under the Apache License 2.0 (below). AMG added input normalisation metadata\n"
                  "and bundled them as pose_landmarker_full.task.\n\n")
        (staged / "LICENSE").write_text(notice + (zf.read(licence).decode("utf-8", "replace") if licence else ""))
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in ("LICENSE", TASK_NAME):
            shutil.copyfile(staged / name, out_dir / f".{name}.partial")
            os.replace(out_dir / f".{name}.partial", out_dir / name)
    return out_dir / TASK_NAME


def ensure_pose_task(wheel: str | os.PathLike | None = None, progress=print) -> Path:
    """The pose model bundle, built once (downloads the 35 MB wheel with pip unless given)."""
    path = pose_task_path()
    if path.is_file() and wheel is None:
        return path
    progress("Building the BlazePose model files once (from the mediapipe 0.10.21 wheel, Apache-2.0)...")
    with tempfile.TemporaryDirectory(prefix="amg-wheel-") as tmp:
        wheel = Path(wheel) if wheel else download_wheel(Path(tmp))
        build_pose_task(wheel, pose_model_dir())
    progress(f"Pose model ready: {path} (licence: {path.parent / 'LICENSE'})")
    return path
