"""AMG Studio's ComfyUI nodes: plain classes in ComfyUI's node protocol (INPUT_TYPES, RETURN_TYPES,
FUNCTION); the `amg` engine does all the work.

Types: AMG_SCENE carries an amg.scene.Scene between nodes; IMAGE is a torch float32 batch
(B, H, W, 3) in [0, 1]; MASK a float32 batch (B, H, W) in [0, 1] (ComfyUI's own conventions).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from amg.scene import MAX_PEOPLE, MAX_SIZE, MIN_SIZE, SIZE_MULTIPLE

CATEGORY = "AMG Studio"
KEEP = "(from the scene)"
NONE = "(none)"


def _images(frames: np.ndarray):
    """(T, H, W, 3) uint8 -> ComfyUI IMAGE: torch float32 (T, H, W, 3) in [0, 1]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(frames)).float().div_(255.0)


def _masks(masks: np.ndarray):
    """(T, H, W) bool -> ComfyUI MASK: torch float32 (T, H, W) in {0, 1}."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(masks, dtype=np.float32))


def _scene_presets() -> list[str]:
    from amg import PRESETS_DIR

    return sorted(p.stem for p in (PRESETS_DIR / "scenes").glob("*.json"))


def _motion_presets() -> list[str]:
    from amg.motion.library import preset_names

    return list(preset_names())


def _camera_presets() -> list[str]:
    from amg.camera.presets import PRESETS

    return list(PRESETS)


def build_scene(scene: str = "", scene_preset: str = NONE, people: str = "", camera_preset: str = KEEP,
                camera_params: str = "", prompt: str = "", width: int = 0, height: int = 0, frames: int = 0,
                fps: float = 0.0):
    """An amg Scene from a scene JSON (file path or JSON text) or a preset, with overrides.

    people: one person per line, "appearance prompt | motion preset or file"; when given it
    replaces the scene's people (spaced 1.2 m apart across the floor, facing the camera).
    camera_params: JSON object of the camera preset's parameters. 0 / empty keeps the scene's value.
    """
    from amg import PRESETS_DIR
    from amg.errors import AmgError
    from amg.files import parse_json
    from amg.scene import Scene

    text = (scene or "").strip()
    if text.startswith("{"):
        base = Scene.from_json(text, "scene JSON")
    elif text:
        base = Scene.load(Path(text).expanduser())
    elif scene_preset and scene_preset != NONE:
        path = PRESETS_DIR / "scenes" / f"{scene_preset}.json"
        if not path.is_file():
            raise AmgError(f"scene preset {scene_preset!r} does not exist; choose one of {', '.join(_scene_presets())}")
        base = Scene.load(path)
    elif people.strip():
        base = None
    else:
        raise AmgError("AMG Scene: give a scene JSON (path or text), a scene preset, or people")
    data = base.model_dump() if base is not None else {"people": []}
    lines = [ln.strip() for ln in people.splitlines() if ln.strip()]
    if lines:
        if len(lines) > MAX_PEOPLE:
            raise AmgError(f"people: {len(lines)} lines, at most {MAX_PEOPLE} people")
        data["people"] = []
        for i, line in enumerate(lines):
            appearance, _, motion = (part.strip() for part in line.partition("|"))
            x = (i - (len(lines) - 1) / 2) * 1.2
            data["people"].append({"id": f"person{i + 1}", "avatar": {"prompt": appearance},
                                   "motion": {"source": motion or "idle"}, "placement": {"x": x, "z": 0.0}})
    if camera_preset and camera_preset != KEEP:
        params = parse_json(camera_params, "camera_params") if camera_params.strip() else {}
        if not isinstance(params, dict):
            raise AmgError("camera_params: must be a JSON object such as {\"angle\": 180}")
        data["camera"] = {"preset": camera_preset, "params": params}
    elif camera_params.strip():
        raise AmgError("camera_params: choose a camera_preset for them to apply to")
    if prompt.strip():
        data["prompt"] = prompt.strip()
    for key, value in (("width", width), ("height", height), ("frames", frames), ("fps", fps)):
        if value:
            data.setdefault("render", {})[key] = value if key != "fps" else float(value)
    out = Scene.from_dict(data, "AMG Scene")
    if base is not None:
        out._base_dir = base._base_dir  # relative motion / camera files resolve as in the original file
    return out


class AMGScene:
    """Load a scene JSON (or build one from a preset, people, motions and a camera preset)."""

    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("AMG_SCENE", "STRING", "STRING", "INT", "FLOAT")
    RETURN_NAMES = ("scene", "prompt", "negative_prompt", "frames", "fps")
    DESCRIPTION = ("An AMG Studio scene: people (appearance prompt + motion), camera and render settings. "
                   "Give a scene JSON (file path or text), or pick a preset, or list people as "
                   "'appearance | motion' lines.")

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "scene_preset": ([NONE, *_scene_presets()], {"default": "two_people"}),
                "camera_preset": ([KEEP, *_camera_presets()], {"default": KEEP}),
            },
            "optional": {
                "scene": ("STRING", {"multiline": True, "default": "",
                                     "tooltip": "scene JSON file path or JSON text (overrides the preset)"}),
                "people": ("STRING", {"multiline": True, "default": "",
                                      "tooltip": "one person per line: appearance prompt | motion preset "
                                                 f"({', '.join(_motion_presets()[:6])}, ...) or motion file"}),
                "camera_params": ("STRING", {"default": "", "tooltip": 'JSON, e.g. {"angle": 180}'}),
                "prompt": ("STRING", {"multiline": True, "default": "", "tooltip": "scene prompt (empty: keep)"}),
                "width": ("INT", {"default": 0, "min": 0, "max": MAX_SIZE, "step": SIZE_MULTIPLE,
                                   "tooltip": "0: the scene's"}),
                "height": ("INT", {"default": 0, "min": 0, "max": MAX_SIZE, "step": SIZE_MULTIPLE,
                                    "tooltip": "0: the scene's"}),
                "frames": ("INT", {"default": 0, "min": 0, "max": 1000, "tooltip": "0: the scene's"}),
                "fps": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 120.0, "step": 1.0, "tooltip": "0: the scene's"}),
            },
        }

    @classmethod
    def IS_CHANGED(cls, scene_preset=NONE, camera_preset=KEEP, scene="", **kwargs):
        """A scene file edited on disk runs the node again (ComfyUI otherwise reuses the last output)."""
        text = (scene or "").strip()
        if text and not text.startswith("{"):
            path = Path(text).expanduser()
            return f"{path}:{path.stat().st_mtime_ns if path.is_file() else 'missing'}"
        return ""

    def run(self, scene_preset=NONE, camera_preset=KEEP, scene="", people="", camera_params="", prompt="",
            width=0, height=0, frames=0, fps=0.0):
        s = build_scene(scene, scene_preset, people, camera_preset, camera_params, prompt, width, height, frames, fps)
        return s, s.prompt, s.negative_prompt, s.render.frames, float(s.render.fps)


class AMGRender:
    """The scene's condition passes as image batches, from one rasterisation."""

    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE", "IMAGE", "IMAGE", "IMAGE", "MASK", "MASK", "FLOAT", "INT")
    RETURN_NAMES = ("avatars", "depth", "pose", "pose_depth", "mask", "person_masks", "fps", "frames")
    DESCRIPTION = ("Condition passes of an AMG scene: avatar RGB, depth (near = bright), OpenPose skeletons, "
                   "skeleton over depth, the mask of everyone (or of one person), every person's masks "
                   "(person-major: frames of person 1, then person 2, ...), and the frame rate.")

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"scene": ("AMG_SCENE",)},
            "optional": {
                "floor": ("BOOLEAN", {"default": False, "tooltip": "draw the floor grid in the avatar pass"}),
                "mask_person": ("INT", {"default": 0, "min": 0, "max": MAX_PEOPLE,
                                        "tooltip": "0: everyone; n: only person n in the mask output"}),
            },
        }

    def run(self, scene, floor=False, mask_person=0):
        from amg.errors import AmgError
        from amg.render import render_scene
        from amg.render.passes import overlay, passes_from_render

        if floor != scene.render.floor:
            scene = scene.model_copy(deep=True)
            scene.render.floor = bool(floor)
        result = render_scene(scene)
        passes = passes_from_render(result, ("rgb", "depth", "pose"))
        passes["pose+depth"] = overlay(passes["pose"], passes["depth"])  # the engine's pose+depth, drawn once
        people = result.masks.shape[1]
        if mask_person > people:
            raise AmgError(f"mask_person {mask_person}: the scene has {people} people (0 = everyone)")
        mask = result.masks.any(axis=1) if mask_person == 0 else result.masks[:, mask_person - 1]
        per_person = result.masks.transpose(1, 0, 2, 3).reshape(-1, *result.masks.shape[2:])  # (P*T, H, W)
        return (_images(passes["rgb"]), _images(passes["depth"]), _images(passes["pose"]),
                _images(passes["pose+depth"]), _masks(mask), _masks(per_person), float(result.fps), len(result.rgb))


class AMGReferenceImages:
    """Each avatar alone, front view, on white: identity/clothing references (e.g. VACE's)."""

    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("references",)
    DESCRIPTION = "One image per person of the scene: the avatar alone in an A-pose, front view, on white."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"scene": ("AMG_SCENE",),
                             "width": ("INT", {"default": 512, "min": 64, "max": 2048, "step": 8}),
                             "height": ("INT", {"default": 512, "min": 64, "max": 2048, "step": 8})}}

    def run(self, scene, width=512, height=512):
        from amg.render.passes import reference_images

        return (_images(reference_images(scene, width, height)),)


class AMGSceneJSON:
    """The scene as JSON text (to save, or to paste into AMG Studio)."""

    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("json",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"scene": ("AMG_SCENE",)}}

    def run(self, scene):
        return (json.dumps(json.loads(scene.to_json()), indent=2),)


def _comfy_progress():
    """(progress(message, fraction), cancel()) wired to ComfyUI's progress bar and Cancel button when
    running inside ComfyUI; no-ops elsewhere."""
    try:
        import comfy.model_management as mm
        import comfy.utils
    except ImportError:
        return None, None
    bar = comfy.utils.ProgressBar(100)
    return (lambda msg, frac: bar.update_absolute(int(frac * 100), 100)), mm.processing_interrupted


def _output_dir() -> Path:
    """ComfyUI's output folder when running in it, else AMG's cache folder."""
    try:
        import folder_paths

        return Path(folder_paths.get_output_directory())
    except ImportError:
        from amg.files import cache_dir

        return cache_dir() / "comfyui"


def _video_path(video: str) -> Path:
    """A video path as typed: absolute, or relative to ComfyUI's input folder (else the working folder)."""
    path = Path(video.strip()).expanduser()
    if not path.is_absolute():
        try:
            import folder_paths

            candidate = Path(folder_paths.get_input_directory()) / path
            if candidate.exists():
                return candidate
        except ImportError:
            pass
    return path


class AMGMotionFromVideo:
    """The people of a video and its camera, captured offline (BlazePose) into an AMG scene."""

    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("AMG_SCENE", "FLOAT", "STRING")
    RETURN_NAMES = ("scene", "fps", "notes")
    DESCRIPTION = ("Motion capture from a video (a file path, or frames from a video loader): every followed "
                   "person's SMPL-X motion and the camera, as a scene ready for AMG Render. The motion .npz and "
                   "camera JSON are written to the output folder (amg_captures/).")

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "people": ("INT", {"default": 1, "min": 1, "max": MAX_PEOPLE,
                                   "tooltip": "how many people to follow (the most visible first)"}),
            },
            "optional": {
                "video": ("STRING", {"default": "", "tooltip": "video file (absolute, or in ComfyUI's input folder)"}),
                "images": ("IMAGE", {"tooltip": "or: the video's frames (e.g. from a video loader)"}),
                "images_fps": ("FLOAT", {"default": 24.0, "min": 1.0, "max": 120.0, "tooltip": "frame rate of images"}),
                "start": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 36000.0, "step": 0.1, "tooltip": "seconds"}),
                "end": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 36000.0, "step": 0.1,
                                  "tooltip": "seconds; 0: to the end"}),
                "fps": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 60.0, "step": 1.0,
                                  "tooltip": "sampling rate; 0: the video's own, at most 30"}),
                "focal_mm": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 400.0, "step": 1.0,
                                       "tooltip": "35 mm-equivalent focal length; 0: from metadata, else 26 mm"}),
                "appearance": ("STRING", {"multiline": True, "default": "",
                                          "tooltip": "one appearance prompt per person, a line each"}),
                "max_side": ("INT", {"default": 512, "min": MIN_SIZE, "max": MAX_SIZE, "step": SIZE_MULTIPLE,
                                     "tooltip": "the scene's render size: the video's aspect, longest side this"}),
            },
        }

    def run(self, people=1, video="", images=None, images_fps=24.0, start=0.0, end=0.0, fps=0.0, focal_mm=0.0,
            appearance="", max_side=512):
        import tempfile
        import uuid

        from amg.capture import CaptureConfig, motion_from_video
        from amg.capture.overlay import capture_scene, render_size
        from amg.errors import AmgError

        config = CaptureConfig(people=int(people), start=float(start), end=float(end) or None,
                               fps=float(fps) or None, focal_mm=float(focal_mm) or None)
        progress, cancel = _comfy_progress()
        out = _output_dir() / "amg_captures" / uuid.uuid4().hex[:12]
        with tempfile.TemporaryDirectory() as tmp:
            if images is not None:
                from amg.video import write_mp4

                frames = (images.detach().cpu().clamp(0, 1) * 255).round().to(dtype=__import__("torch").uint8).numpy()
                source = write_mp4(frames, Path(tmp) / "frames.mp4", float(images_fps))
            elif video.strip():
                source = _video_path(video)
            else:
                raise AmgError("AMG Motion from video: give a video file path or connect images")
            result = motion_from_video(source, config, progress=progress, cancel=cancel)
        motion, camera = out / "motion.npz", out / "camera.json"
        result.save(motion, camera=camera)
        prompts = [ln.strip() for ln in appearance.splitlines() if ln.strip()]
        avatars = [{"prompt": prompts[p]} if p < len(prompts) else {} for p in range(result.num_people)]
        w, h = render_size(result.width, result.height, int(max_side))
        scene = capture_scene(result, str(motion), str(camera), w, h, avatars=avatars)
        return scene, float(result.fps), "\n".join(result.notes)


NODE_CLASS_MAPPINGS = {
    "AMGScene": AMGScene,
    "AMGRender": AMGRender,
    "AMGReferenceImages": AMGReferenceImages,
    "AMGSceneJSON": AMGSceneJSON,
    "AMGMotionFromVideo": AMGMotionFromVideo,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "AMGScene": "AMG Scene",
    "AMGRender": "AMG Render",
    "AMGReferenceImages": "AMG Avatar References",
    "AMGSceneJSON": "AMG Scene JSON",
    "AMGMotionFromVideo": "AMG Motion from video",
}
