"""Which parts of the engine this installation has, and plain words for the ones it lacks.

The UI shows a tab's controls only where the engine behind them can be imported; a part
that fails to import is named with the reason, instead of controls that do nothing.
"""

from __future__ import annotations

from functools import lru_cache


# One loader per feature: a plain import of the engine's public name (a failing import, e.g. a
# missing optional dependency, is what `missing` reports).
def _render():
    from amg.render import render_scene
    return render_scene


def _avatar():
    from amg.avatar import build_avatar
    return build_avatar


def _gaussians():
    from amg.avatar.gaussian_avatar import GaussianAvatar
    return GaussianAvatar


def _motion_library():
    from amg.motion.library import list_presets
    return list_presets


def _motion_search():
    from amg.motion.search import search
    return search


def _motion_import():
    from amg.motion.formats import load_motion_file
    return load_motion_file


def _camera_presets():
    from amg.camera import preset_params
    return preset_params


def _camera_files():
    from amg.camera import load_camera_path
    return load_camera_path


def _model():
    from amg.model import load_pipeline
    return load_pipeline


def _prompts():
    from amg.prompts import decompose_prompt
    return decompose_prompt


def _eval():
    from amg.eval import evaluate_pair
    return evaluate_pair


def _train():
    from amg.train import train
    return train


def _export():
    from amg.export import export_scene
    return export_scene


def _capture():
    from amg.capture import motion_from_video
    return motion_from_video


#: feature -> (loader of the engine function, what the user loses without it)
FEATURES = {
    "render": (_render, "the avatar preview video"),
    "avatar": (_avatar, "building avatars from a prompt"),
    "gaussians": (_gaussians, "gaussian (3DGS) avatars"),
    "motion_library": (_motion_library, "the motion library"),
    "motion_search": (_motion_search, "searching motions by sentence"),
    "motion_import": (_motion_import, "importing motion files"),
    "camera_presets": (_camera_presets, "camera presets with parameters"),
    "camera_files": (_camera_files, "camera path files (nerfstudio and others)"),
    "model": (_model, "video generation"),
    "prompts": (_prompts, "filling prompts from one sentence"),
    "eval": (_eval, "evaluation (CLIP score, Motion Fidelity)"),
    "train": (_train, "preparing training data and fine-tuning"),
    "export": (_export, "exporting the scene as animated glTF (Blender)"),
    "capture": (_capture, "motion from video (BlazePose)"),
}


@lru_cache(maxsize=None)
def missing(feature: str) -> str | None:
    """None when `feature` is available; else a sentence saying what is not there and why."""
    load, what = FEATURES[feature]
    try:
        load()
    except Exception as e:  # noqa: BLE001 - any import failure means the part is unusable
        return f"{what} is not available in this installation ({type(e).__name__}: {e})"
    return None


def has(feature: str) -> bool:
    return missing(feature) is None


def get(feature: str):
    """The engine function behind `feature` (call only when `has(feature)`)."""
    return FEATURES[feature][0]()


def status_table() -> list[tuple[str, str]]:
    """(feature, "ready" or the reason) for the Advanced tab's overview."""
    return [(name, missing(name) or "ready") for name in FEATURES]
