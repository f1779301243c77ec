"""Rendering the synthetic world into data: (condition, "real" video, caption) per scene.

`render_clip(scene, info)` gives one clip's condition (exactly the condition renderer's
picture), its "real" video and the people's masks. `generate_split(...)` writes a split:

    ROOT/<split>/amg_dataset.json, clips/<id>/{video,condition}.mp4, scene.json   (an amg.train dataset)
    ROOT/<split>/clips/<id>/truth.npz    condition, real (T,H,W,3) uint8; masks (T,P,H,W) bool (lossless)
    ROOT/<split>/clips/<id>/info.json    background, camera, floor grid, motions, split

Clip k of a split is sampled from its own seed, so an interrupted generation resumes where
it stopped and a rerun makes the same clips.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from amg.files import atomic_write_bytes, atomic_write_text
from amg.render.scene_render import render_scene, scene_avatars
from amg.video import write_mp4
from amg.scene import Scene
from amg.synthetic.real_render import render_real
from amg.synthetic.world import SceneInfo, sample_scene
from amg.train.dataset import Clip, TrainingData

_SPLIT_SEED = {"train": 1, "test": 2}


def pose_scene(scene: Scene, frames: int, fps: float):
    """Every person's meshes posed over the shot, [(verts (T, V, 3), faces (F, 3), colours (V, 3))],
    and their joints (P, T, 22, 3): what the condition renderer draws, for the "real" render."""
    from amg.motion.library import scene_motion

    meshes, joints = [], []
    for person, avatar in zip(scene.people, scene_avatars(scene)):  # avatars cached by the condition render
        posed = avatar.pose(scene_motion(person, scene, frames, fps))
        meshes += list(posed.meshes)
        joints.append(posed.joints)
    return meshes, np.stack(joints)


@dataclass
class SyntheticClip:
    scene: Scene
    info: SceneInfo
    condition: np.ndarray  # (T, H, W, 3) uint8, the condition renderer's frames
    real: np.ndarray       # (T, H, W, 3) uint8, the picture to learn
    masks: np.ndarray      # (T, P, H, W) bool, each person's visible pixels in the condition


def render_clip(scene: Scene, info: SceneInfo) -> SyntheticClip:
    r = scene.render
    condition = render_scene(scene)
    meshes, joints = pose_scene(scene, r.frames, r.fps)
    c2w = np.stack([c.c2w for c in condition.cameras])
    fov = np.array([c.fov_y_deg for c in condition.cameras])
    real = render_real(meshes, joints, c2w, fov, r.width, r.height, info.background)
    return SyntheticClip(scene, info, condition.rgb, real, condition.masks)


def render_plate(scene: Scene, background: str) -> np.ndarray:
    """(T, H, W, 3) uint8: the clip's "real" background and shadows without the people (the clean plate)."""
    r = scene.render
    condition = render_scene(scene)
    _, joints = pose_scene(scene, r.frames, r.fps)
    c2w = np.stack([c.c2w for c in condition.cameras])
    return render_real([], joints, c2w, np.array([c.fov_y_deg for c in condition.cameras]), r.width, r.height,
                       background)


def clip_seed(seed: int, split: str, index: int) -> int:
    return (seed * 1000 + _SPLIT_SEED[split]) * 100_000 + index


def sample_clip(seed: int, split: str, index: int, width: int, height: int, frames: int, fps: float) -> SyntheticClip:
    scene, info = sample_scene(np.random.default_rng(clip_seed(seed, split, index)), split, width, height,
                               frames, fps)
    return render_clip(scene, info)


def save_truth(folder: Path, clip: SyntheticClip) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, condition=clip.condition, real=clip.real, masks=clip.masks)
    atomic_write_bytes(folder / "truth.npz", buf.getvalue())
    atomic_write_text(folder / "info.json", json.dumps(clip.info.to_dict(), indent=1) + "\n")


def load_truth(folder: Path) -> dict:
    """condition, real, masks of a clip (never unpickles) and its info."""
    with np.load(folder / "truth.npz", allow_pickle=False) as z:
        out = {k: z[k] for k in ("condition", "real", "masks")}
    out["info"] = json.loads((folder / "info.json").read_text(encoding="utf-8"))
    return out


def generate_split(root: str | Path, split: str, count: int, seed: int = 0, width: int = 64, height: int = 64,
                   frames: int = 8, fps: float = 4.0,
                   progress: Callable[[int, int], None] | None = None) -> TrainingData:
    """Write (or complete) `count` clips of `split` under ROOT/<split>; returns its dataset."""
    data = TrainingData.create(Path(root) / split, frames=frames, width=width, height=height, fps=fps)
    have = {c.id for c in data.clips}
    for i in range(count):
        cid = f"{split}_{i:05d}"
        if cid not in have:
            clip = sample_clip(seed, split, i, width, height, frames, fps)
            entry = Clip(id=cid, caption=clip.scene.prompt, source="amg.synthetic (real render)",
                         motion="+".join(clip.info.motions))
            folder = entry.folder(data.root)
            folder.mkdir(parents=True, exist_ok=True)
            write_mp4(clip.real, entry.video_path(data.root), fps, quality=10)
            write_mp4(clip.condition, entry.condition_path(data.root), fps, quality=10)
            clip.scene.save(folder / "scene.json")
            save_truth(folder, clip)
            data.add(entry)
        if progress is not None:
            progress(i + 1, count)
    return data
