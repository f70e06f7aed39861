"""The layering rules of DESIGN.md, checked by importing each layer alone in a fresh interpreter.

- `backend/` never imports `console/`, `screens/`, `widgets/` or `themes/`;
- `backend_client/` imports none of those, nor textual or rich;
- `console/store/` (the store and its lanes, cards, clocks and KPI board) imports no textual;
- screens and widgets (and the app and its feed) talk to the backend only through
  `backend_client`;
- nothing in `console/`, `screens/`, `widgets/` or `themes/` imports `backend`, not even inside
  a function: the console is a pure client, and starts the backend and the simulator as their
  own modules (`python -m backend serve`, `python -m backend.sim`).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONSOLE_SIDE = ("console", "screens", "widgets", "themes")

# Blocked packages raise ImportError, as if not installed: the layer must import without them.
# (A plain look at sys.modules is not enough: httpx imports rich for its optional CLI whenever
# rich is installed, and falls back quietly when it is not.)
PROBE = """
import importlib, importlib.abc, json, pkgutil, sys
targets, blocked = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"{name} is blocked for this layer", name=name)
        return None

sys.meta_path.insert(0, Block())
for name in targets:
    module = importlib.import_module(name)
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, name + "."):
            importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(*targets: str, blocked: tuple[str, ...] = ()) -> set[str]:
    """Every module loaded by importing `targets` (packages with all their submodules), with
    `blocked` packages unavailable; fails if the import needs one of them."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(targets)), json.dumps(list(blocked))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(result.stdout))


def offenders(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in forbidden)


def test_backend_never_imports_the_console() -> None:
    assert offenders(imported_by("backend", blocked=CONSOLE_SIDE), CONSOLE_SIDE) == []


def test_client_imports_neither_console_nor_textual_nor_rich() -> None:
    forbidden = (*CONSOLE_SIDE, "textual", "rich")
    assert offenders(imported_by("backend_client", blocked=forbidden), forbidden) == []


def test_console_store_imports_no_textual() -> None:
    assert offenders(imported_by("console.store", blocked=("textual",)), ("textual",)) == []


def test_the_probe_sees_what_it_imports() -> None:
    # Guard against a probe that reports nothing: importing the CLI must show typer.
    assert "typer" in imported_by("console.cli")


def test_the_probe_fails_a_layer_that_needs_a_blocked_package() -> None:
    with pytest.raises(subprocess.CalledProcessError):
        imported_by("console.cli", blocked=("typer",))


def test_screens_and_widgets_reach_the_backend_only_through_the_client() -> None:
    targets = ("console.app", "console.live", "screens", "widgets", "themes")
    assert offenders(imported_by(*targets, blocked=("backend",)), ("backend",)) == []


def test_the_console_side_imports_no_backend_at_all() -> None:
    # Everything the console side loads, with `backend` unavailable...
    assert offenders(imported_by(*CONSOLE_SIDE, blocked=("backend",)), ("backend",)) == []
    # ...and every import statement, those inside functions too (the probe never runs them).
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for package in CONSOLE_SIDE
        for path in sorted((ROOT / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if any(name.split(".")[0] == "backend" for name in imported_names(node))
    ]
    assert found == []


def imported_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []
