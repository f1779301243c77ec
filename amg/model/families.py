"""The backbone families AMG ships, by name: the one module that knows them all.

Each family module (modelscope.py, wan.py) subclasses Backbone and registers itself with
`@register_backbone` when imported; importing them here, not in backbone.py, keeps the base
class below its families (no import circle). A plug-in family registers itself the same way.
"""

from __future__ import annotations

from amg.model import modelscope, wan  # noqa: F401 - they register themselves on import
from amg.model.backbone import BACKBONES, Backbone


def backbone_class(family: str) -> type[Backbone]:
    return BACKBONES[family]
