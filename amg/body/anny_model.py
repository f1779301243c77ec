"""The Anny body model (Apache-2.0 code, CC0 MakeHuman assets), loaded fast.

The first plain `anny.Anny()` parses MakeHuman's targets for minutes and caches ~800 MB.
Only its compact phenotype basis (~50 MB) is needed afterwards, so `amg setup` builds it
once into AMG's cache; every later load takes a fraction of a second. The build runs in a
private temporary cache, under a file lock, and the result is renamed into place: two
processes starting at once never see (or leave) a half-written file.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from amg.errors import AmgError
from amg.files import cache_dir

log = logging.getLogger(__name__)

#: Anny's own cache key for its compact body data changes with the package version.
COMPACT_NAME = "anny-{version}-compact.safetensors"


def compact_data_path() -> Path:
    import anny

    return cache_dir() / COMPACT_NAME.format(version=getattr(anny, "__version__", "unknown"))


def ensure_compact_data(progress=print) -> Path:
    """Path of Anny's compact model data, building it once if missing (~1.5-5 min)."""
    from filelock import FileLock

    path = compact_data_path()
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():  # another process built it while we waited
            return path
        progress("Building the Anny body model data once (takes a few minutes; later starts are instant)...")
        start = time.time()
        import anny
        from anny.paths import get_anny_cache_path, set_anny_cache_path

        previous = get_anny_cache_path()
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".anny-build-") as tmp:
            set_anny_cache_path(tmp)
            try:
                anny.Anny(skinning_method="lbs")
            finally:
                set_anny_cache_path(previous)
            built = sorted(Path(tmp).rglob("build_compact_model_data_*.safetensors"))
            if len(built) != 1:
                raise AmgError(f"Anny build produced {len(built)} compact data files in {tmp}, expected 1")
            staged = path.with_name(f".{path.name}.tmp")
            shutil.move(str(built[0]), staged)
            os.replace(staged, path)
        progress(f"Anny body data ready in {time.time() - start:.0f} s: {path}")
    return path


@functools.lru_cache(maxsize=1)
def load_anny():
    """The Anny model (posed by world orientations, linear blend skinning, float32)."""
    from anny.models.model_data import ModelData
    from anny.models.phenotype import Anny

    data = ModelData.load_safetensors(ensure_compact_data())
    model = Anny.from_model_data(
        data, skinning_method="lbs", pose_parameterization="world-orient",
        bone_orientation="cached", root_identity_orientation=True,
    )
    return model.to(dtype=__import__("torch").float32).eval()
