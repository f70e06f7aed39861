"""The layering rules of DESIGN.md, checked by importing each layer alone in a fresh interpreter.

- `backend/` never imports `console/`, `screens/`, `widgets/` or `themes/`;
- nothing in `backend/` but the simulator (`backend/sim/`) and the demo seeding
  (`backend/demo.py`) imports `backend.sim`: a production backend serves the zones in its
  database, never the demo city's data;
- `backend_client/` imports none of those, nor textual or rich;
- `console/store.py` imports no textual;
- screens and widgets (and the app and its feed) talk to the backend only through
  `backend_client`.
"""

from __future__ import annotations

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
targets, blocked, skipped = (json.loads(arg) for arg in sys.argv[1:4])

def within(name, packages):
    return any(name == p or name.startswith(p + ".") for p in packages)

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if within(name, blocked):
            raise ModuleNotFoundError(f"{name} is blocked for this layer", name=name)
        return None

sys.meta_path.insert(0, Block())
for name in targets:
    module = importlib.import_module(name)
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, name + "."):
            if not within(info.name, skipped):
                importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(
    *targets: str, blocked: tuple[str, ...] = (), skipped: tuple[str, ...] = ()
) -> set[str]:
    """Every module loaded by importing `targets` (packages with all their submodules but the
    `skipped` ones), with `blocked` packages (or modules) unavailable; fails if the import
    needs one of them."""
    arguments = (list(targets), list(blocked), list(skipped))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *(json.dumps(a) for a in arguments)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(result.stdout))


def offenders(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


def test_backend_never_imports_the_console() -> None:
    assert offenders(imported_by("backend", blocked=CONSOLE_SIDE), CONSOLE_SIDE) == []


def test_only_the_simulator_and_the_demo_seeding_import_the_simulator() -> None:
    simulator = ("backend.sim",)
    skipped = (*simulator, "backend.demo")
    loaded = imported_by("backend", blocked=simulator, skipped=skipped)
    assert "backend.app" in loaded  # the walk went through the backend
    assert offenders(loaded, simulator) == []


def test_the_probe_blocks_a_subpackage_alone() -> None:
    with pytest.raises(subprocess.CalledProcessError):
        imported_by("backend.demo", blocked=("backend.sim",))
    assert "backend.riders.zones" in imported_by("backend.riders", blocked=("backend.sim",))


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
