"""The engine's layers point one way (../shared/DESIGN.md): every import in amg/, lazy ones too."""

from __future__ import annotations

import ast
from pathlib import Path

AMG = Path(__file__).resolve().parents[1] / "amg"
#: Each part of amg and its layer: a part imports only parts of lower layers (or itself); the
#: top two layers may also import their neighbours (train uses capture and model, ...).
LAYERS = {
    0: {"errors", "progress", "colors"},
    1: {"files", "external", "embeddings"},
    2: {"video", "scene"},
    3: {"motion", "camera", "bundle"},
    4: {"body"},
    5: {"avatar"},
    6: {"render"},
    7: {"capture", "model", "train", "synthetic", "eval", "export", "prompts"},
    8: {"generate", "cli", "__main__"},
}
RANK = {part: rank for rank, parts in LAYERS.items() for part in parts}


def _modules() -> dict[str, Path]:
    out = {}
    for path in AMG.rglob("*.py"):
        parts = path.relative_to(AMG.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(path: Path, modules: dict[str, Path] | None = None) -> set[str]:
    """The amg names a file imports, lazy (function-level) imports included. `from a.b import c`
    names the module a.b.c when that is a module (given `modules`), else a.b and a.b.c."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                names |= {sub} if modules is not None and sub in modules else {node.module, sub}
    return names


def _part(module: str) -> str:
    """'amg.motion.formats.bvh' -> 'motion'."""
    return module.split(".")[1] if module.count(".") else module


def test_amg_never_imports_the_app():
    bad = [(m, i) for m, p in _modules().items() for i in _imports(p) if i == "app" or i.startswith("app.")]
    assert not bad, bad


def test_lower_layers_do_not_reach_up():
    modules = _modules()
    assert {_part(m) for m in modules} - {"amg"} <= set(RANK), "a new part of amg needs its layer here"
    bad = []
    for name, path in modules.items():
        if name == "amg":
            continue
        part = _part(name)
        for imp in _imports(path):
            if not (imp.startswith("amg.") and imp in modules):
                continue
            other = _part(imp)
            if not (other == part or RANK[other] < RANK[part] or RANK[other] == RANK[part] >= 7):
                bad.append(f"{name} imports {imp}")
    assert not bad, "\n".join(bad)


def test_models_and_evaluation_read_videos_without_the_renderer():
    modules = _modules()
    bad = [f"{name} imports {imp}" for name, path in modules.items() if _part(name) in ("model", "eval")
           for imp in _imports(path) if imp.startswith("amg.render")]
    assert not bad, "\n".join(bad)


def test_no_import_circle_anywhere_in_amg():
    """No module of amg imports, even inside a function, a module that imports it back (directly or
    round a longer circle): the old amg.motion.bvh <-> formats circle, the model package's
    backbone <-> modelscope/wan (families registering themselves) and pipeline -> weights -> vace ->
    pipeline among them. A package's __init__ importing its own modules is an edge like any other;
    a module that takes a name from its package's __init__ depends on that __init__."""
    modules = _modules()
    graph = {name: {i for i in _imports(path, modules) if i in modules and i != name}
             for name, path in modules.items()}
    index, low, stack, on, circles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, circles
