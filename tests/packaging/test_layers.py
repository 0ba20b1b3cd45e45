"""The package's dependencies run one way (README, "Layout"): a module imports only from its own
subpackage or from a lower layer. Checked on the source (ast), so an upward import fails here even
if it happens to work at run time."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PKG, TRAINING = REPO / "tools" / "tinyheat", REPO / "training"

#: subpackage (or bottom module) -> layer; the click ``commands`` modules and ``cli`` sit on top.
LAYERS = {
    "errors": 0, "paths": 0, "tfenv": 0, "atomic": 0,
    "dataset": 1,
    "ingest": 2, "sim": 2, "link": 2,
    "session": 3, "training": 3,
    "deploy": 4,
    "people": 5, "occupancy": 5, "workflow": 5,
    "cli": 6,
}
TOP = 6


def modules():
    for p in sorted(PKG.rglob("*.py")):
        if "_firmware" not in p.parts:
            yield p, ("tinyheat",) + p.relative_to(PKG).with_suffix("").parts
    for p in sorted(TRAINING.rglob("*.py")):
        yield p, ("tinyheat", "training") + p.relative_to(TRAINING).with_suffix("").parts


def imported(path: Path, name: tuple[str, ...]):
    package = name[:-1] if name[-1] != "__init__" else name[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            yield base + (tuple(node.module.split(".")) if node.module else ())
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tinyheat"):
            yield tuple(node.module.split("."))
        elif isinstance(node, ast.Import):
            yield from (tuple(a.name.split(".")) for a in node.names if a.name.startswith("tinyheat"))


def layer(name: tuple[str, ...]) -> int:
    if name[-1] == "commands":
        return TOP
    return LAYERS[name[1]] if len(name) > 1 else 0


def test_every_subpackage_has_a_layer():
    names = {name[1] for _, name in modules() if len(name) > 2 or name[1] != "__init__"}
    assert names - {"__init__"} <= set(LAYERS), sorted(names - set(LAYERS) - {"__init__"})


def test_imports_go_down_the_layers():
    upward = []
    for path, name in modules():
        for target in imported(path, name):
            if len(target) < 2 or target[1] == name[1]:
                continue  # the package root (version) or the module's own subpackage
            if LAYERS.get(target[1], 0) > layer(name):
                upward.append(f"{'.'.join(name)} imports {'.'.join(target)}")
    assert not upward, upward
