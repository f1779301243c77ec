"""AMG Studio engine: avatar motion guided video generation (arXiv 2409.01502).

The engine turns a Scene (people with avatars and motions, a camera path, prompts,
render settings) into an avatar condition video, and a condition video plus a prompt
into a generated video; it also turns videos of people into training clips and fine-tunes
the video model's adapters on them (amg.train). It never imports the UI (`app`).
"""

from pathlib import Path

__version__ = "0.1.0"

#: Root of the repository checkout (presets/ lives there).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRESETS_DIR = PROJECT_ROOT / "presets"
