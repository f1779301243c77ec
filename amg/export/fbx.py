"""FBX through Blender: the animated glTF imported and exported by Blender's own FBX exporter.

No maintained Python library writes skinned, animated FBX (Autodesk's SDK is closed), and FBX
is never hand-written here. Blender's exporter is what artists use for Maya, Unreal and Unity,
so when `blender` is installed the glTF is converted by it, headless, in a child process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from amg.errors import AmgError

#: Runs inside Blender: argv after "--" is GLB FBX FPS FRAMES.
_SCRIPT = """
import sys
import numpy
if not hasattr(numpy, "bool"):
    numpy.bool = bool  # Debian bookworm's Blender 3.4 glTF importer still uses this removed alias
import bpy
glb, fbx, fps, frames = sys.argv[sys.argv.index("--") + 1:]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
# the glTF importer puts keys at time * render.fps (it ignores fps_base): an integer rate keeps them on frames
rate = max(1, round(float(fps)))
scene.render.fps, scene.render.fps_base = rate, rate / float(fps)
scene.frame_start, scene.frame_end = 0, int(frames) - 1
bpy.ops.import_scene.gltf(filepath=glb)
scene.camera = next((o for o in scene.objects if o.type == "CAMERA"), None)
# one baked take of the scene's timeline: every object keeps its own motion (exporting "all actions"
# would put every person's action on every armature, their bone names being the same)
bpy.ops.export_scene.fbx(filepath=fbx, bake_anim=True, bake_anim_use_all_actions=False,
                         bake_anim_use_nla_strips=False, bake_anim_simplify_factor=0.0, add_leaf_bones=False)
print("AMG-FBX-OK")
"""


def blender_path() -> str | None:
    return os.environ.get("AMG_BLENDER") or shutil.which("blender")


def _blender_env() -> dict:
    """The environment minus Python settings and virtualenv/pyenv interpreters on PATH: Blender
    builds that embed the system Python would otherwise pick up the wrong standard library."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYENV", "VIRTUAL_ENV", "CONDA"))}
    env["PATH"] = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                                  if not any(s in p for s in ("pyenv", "virtualenv", "/.venv", "conda")))
    return env


def require_blender() -> str:
    """Blender's executable, or an AmgError saying how to get it."""
    blender = blender_path()
    if blender is None:
        raise AmgError("FBX is written by Blender's FBX exporter (no Python library writes skinned, animated FBX): "
                       "install Blender (apt-get install blender python3-numpy, or set AMG_BLENDER to its "
                       "executable), or export .glb and convert it yourself")
    return blender


def glb_to_fbx(glb: str | os.PathLike, fbx: str | os.PathLike, fps: float, frames: int, timeout: float = 600) -> Path:
    """Convert an animated .glb to .fbx with Blender (baked animation at `fps`, frames 0..frames-1)."""
    blender = require_blender()
    fbx = Path(fbx)
    fbx.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=fbx.parent, prefix=f".{fbx.stem}.") as tmp:
        out = Path(tmp) / "scene.fbx"
        try:
            r = subprocess.run([blender, "-b", "--factory-startup", "--python-expr", _SCRIPT, "--", str(glb), str(out),
                                str(fps), str(frames)], capture_output=True, text=True, timeout=timeout,
                               env=_blender_env())
        except subprocess.TimeoutExpired:
            raise AmgError(f"Blender did not finish the FBX export within {timeout:.0f} s") from None
        if "AMG-FBX-OK" not in r.stdout or not out.is_file():
            tail = (r.stderr.strip() or r.stdout.strip()).splitlines()[-3:]
            raise AmgError(f"Blender ({blender}) could not write the FBX: {' | '.join(tail) or f'exit {r.returncode}'}")
        os.replace(out, fbx)
    return fbx
