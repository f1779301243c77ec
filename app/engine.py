"""Which parts of the engine this installation has, and plain words for the ones it lacks.

The UI shows a tab's controls only where the engine behind them can be imported; a part
that fails to import is named with the reason, instead of controls that do nothing.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

#: feature -> (module, attribute that must exist, what the user loses without it)
FEATURES = {
    "render": ("amg.render.scene_render", "render_scene", "the avatar preview video"),
    "avatar": ("amg.avatar.avatar", "build_avatar", "building avatars from a prompt"),
    "gaussians": ("amg.avatar.gaussian_avatar", "GaussianAvatar", "gaussian (3DGS) avatars"),
    "motion_library": ("amg.motion.library", "list_presets", "the motion library"),
    "motion_search": ("amg.motion.search", "search", "searching motions by sentence"),
    "motion_import": ("amg.motion.formats", "load_motion_file", "importing motion files"),
    "camera_presets": ("amg.camera.presets", "preset_params", "camera presets with parameters"),
    "camera_files": ("amg.camera.formats", "load_camera_path", "camera path files (nerfstudio and others)"),
    "model": ("amg.model", "load_pipeline", "video generation"),
    "prompts": ("amg.prompts", "decompose_prompt", "filling prompts from one sentence"),
    "eval": ("amg.eval", "evaluate_pair", "evaluation (CLIP score, Motion Fidelity)"),
    "train": ("amg.train", "train", "preparing training data and fine-tuning"),
    "export": ("amg.export", "export_scene", "exporting the scene as animated glTF (Blender)"),
    "capture": ("amg.capture", "motion_from_video", "motion from video (BlazePose)"),
}


@lru_cache(maxsize=None)
def missing(feature: str) -> str | None:
    """None when `feature` is available; else a sentence saying what is not there and why."""
    module, attr, what = FEATURES[feature]
    try:
        mod = importlib.import_module(module)
    except Exception as e:  # noqa: BLE001 - any import failure means the part is unusable
        return f"{what} is not available in this installation ({module}: {type(e).__name__}: {e})"
    if not hasattr(mod, attr):
        return f"{what} is not available in this installation ({module} has no {attr})"
    return None


def has(feature: str) -> bool:
    return missing(feature) is None


def get(feature: str):
    """The engine function behind `feature` (call only when `has(feature)`)."""
    module, attr, _ = FEATURES[feature]
    return getattr(importlib.import_module(module), attr)


def status_table() -> list[tuple[str, str]]:
    """(feature, "ready" or the reason) for the Advanced tab's overview."""
    return [(name, missing(name) or "ready") for name in FEATURES]
