"""AMG Studio for ComfyUI: a custom node package (link or copy this folder into ComfyUI/custom_nodes/).

    ln -s /path/to/amg-studio/amg_comfyui ComfyUI/custom_nodes/amg_studio

The nodes run the `amg` engine of this repository: install it into ComfyUI's Python
(`pip install -r requirements.txt` and `amg setup`, see the README), or leave the folder
inside its checkout and it is found from here.
"""

import sys
from pathlib import Path

try:
    import amg  # noqa: F401
except ImportError:  # a linked folder inside a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS  # noqa: E402

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
