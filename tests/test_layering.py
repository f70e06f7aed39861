"""The layering rules of DESIGN.md, checked by importing each layer alone in a fresh interpreter.

- `backend/` never imports `console/`, `screens/`, `widgets/` or `themes/`;
- nothing in `backend/` but the simulator (`backend/sim/`) and the demo seeding
  (`backend/demo.py`) imports `backend.sim`: a production backend serves the zones in its
  database, never the demo city's data;
- the simulator (`backend/sim/`) is a pure API client: of the backend it imports only itself and
  `backend.process` (the standard-library process set-up every command-line process shares), so
  it stands on its own beside `backend_client`;
- `backend_client/` imports none of those, nor textual or rich;
- `console/store/` (the store and its lanes, cards, clocks and KPI board) imports no textual,
  nor does the command registry (`console/command_line/`) that `freshline act` reads;
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


def test_the_command_registry_and_act_import_no_textual() -> None:
    """`freshline act` starts without the console's drawing: the registry is plain Python."""
    loaded = imported_by("console.command_line", "console.act_cli", blocked=("textual",))
    assert offenders(loaded, ("textual",)) == []


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


def test_the_simulator_stands_on_its_own() -> None:
    allowed = ("backend.sim", "backend.process")
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
        for path in sorted((ROOT / "backend" / "sim").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        for name in imported_names(node)
        if name.split(".")[0] == "backend"
        and not any(name == module or name.startswith(f"{module}.") for module in allowed)
    ]
    assert found == []
    # Loaded with everything else of the backend unavailable, it still imports.
    blocked = tuple(
        f"backend.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "backend").iterdir()
        if (path.suffix == ".py" and path.stem not in ("__init__", "process"))
        or (path.is_dir() and path.name not in ("sim", "__pycache__"))
    )
    assert offenders(imported_by("backend.sim", blocked=blocked), blocked) == []


def imported_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []


# --- Import arrows inside the backend ---------------------------------------------------------

# The backend's packages (and top-level modules) from the bottom up: a package may import what
# is below it. `backend.sim` and the migrations stand outside (the simulator is an API client).
BACKEND_LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "errors",
        "clock",
        "settings",
        "paths",
        "limits",
        "responses",
        "methods",
        "background",
        "sql",
        "sqlite",
        "process",
        "log_redaction",
        "crypto",
        "observability",  # request context, log lines, metrics: read by all, importing none
        "outbound",  # the retry rule of webhooks and notifiers: imports nothing of ours
    ),
    ("edge",),  # security headers, offline docs, TLS, the connection guard
    ("writer",),
    ("db",),
    ("tiers",),  # the archive's files, ledger and tiered reads: read by every domain's routes
    ("deps",),
    ("auth",),
    ("idempotency",),
    ("realtime",),
    ("inventory",),
    ("orders",),
    ("proof",),  # proof of delivery: photos, signatures, PINs; returns and claims cite it
    ("returns",),
    # The learned ETA beside the riders' progress: it reads their tracks, they use its ETA.
    ("riders", "eta"),
    ("sensors",),
    ("staffing",),  # rosters and the orders forecast; the understaffed_zone rule reads it
    ("alerts",),
    ("notifications",),  # customer messages: decided from orders, under the alert rules' file
    ("dispatch",),
    ("routes",),  # a rider's route planned and ordered: over dispatch, riders, orders
    ("takeover",),  # automatic handover: proposes over alerts, moves orders as dispatch does
    ("tracking",),  # the customer's tracking link: reads orders, riders, proofs
    ("channels",),
    ("kpi",),
    ("restock",),  # restock suggestions: read orders' history and stock, write stock on receipt
    ("handover",),  # the shift handover digest: over alerts, returns, riders, orders and kpi
    ("reports",),  # the day report: KPIs, alerts, claims, riders, the reconciliation
    ("webhooks",),  # follows the event log out: over auth, realtime, inventory
    ("views",),  # saved views of the board: over auth (the account owns them) and idempotency
    ("ssh",),  # SSH keys and the gateway's token exchange: over auth and realtime
    ("privacy",),  # erasure and the upkeep of keys and stored answers: over every domain
    ("archive",),  # moving closed orders and old fixes to the archive, erasing there
    ("demo",),  # seeding the demo city: the app imports it only with the `demo` setting on
    ("runtime",),
    ("app", "models"),
    ("cli", "__main__"),  # `python -m backend serve`
)

# The arrows that still run back up, each with why. Mend one and drop it here; a new one fails.
KNOWN_BACK_ARROWS = {
    # Accounts live in `auth` beside the caller's identity: a user names a warehouse or a rider,
    # its changes are events, and its routes are idempotent.
    ("auth", "idempotency"),
    ("auth", "inventory"),
    ("auth", "realtime"),
    ("auth", "riders"),
    # The lifecycle's effects: stock, the parcel, the rider's slot, pending requests, incidents.
    ("orders", "alerts"),
    ("orders", "dispatch"),
    ("orders", "proof"),  # a new order's PIN; `sign` checks and cites the proofs
    ("orders", "returns"),
    ("orders", "riders"),
    ("orders", "tracking"),  # a new order's tracking link, minted in the same transaction
    # The PostgreSQL sequencer hands numbered rows on as the outbox's events (imported late).
    ("writer", "realtime"),
}


def backend_imports() -> set[tuple[str, str, str]]:
    """Every import between two backend units: (importing module, from unit, to unit). Units are
    the subpackages and top-level modules of `backend`; imports inside functions count too."""
    root = ROOT / "backend"

    def unit(module: str) -> str | None:
        parts = module.split(".")
        if parts[0] != "backend" or len(parts) < 2 or parts[1] in ("sim", "migrations"):
            return None
        return parts[1]

    found = set()
    for path in root.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        source = unit(module)
        if source is None:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                target = unit(name)
                if target is not None and target != source:
                    found.add((module, source, target))
    return found


def back_arrows(imports: set[tuple[str, str, str]]) -> set[tuple[str, str]]:
    level = {name: i for i, layer in enumerate(BACKEND_LAYERS) for name in layer}
    return {(a, b) for _, a, b in imports if level[b] > level[a]}


def test_every_backend_unit_has_a_layer() -> None:
    units = {a for _, a, _ in backend_imports()} | {b for _, _, b in backend_imports()}
    assert units <= {name for layer in BACKEND_LAYERS for name in layer}


def test_no_new_import_arrow_runs_back_up_the_backend() -> None:
    assert back_arrows(backend_imports()) <= KNOWN_BACK_ARROWS


def test_nothing_below_the_app_imports_the_runtime() -> None:
    # Routes declare the parts they use (backend/deps.py); the runtime is the app's alone.
    importers = {m for m, _, b in backend_imports() if b == "runtime"}
    assert importers == {"backend.app"}


def test_the_permission_table_and_auth_import_no_orders() -> None:
    imports = backend_imports()
    assert not {m for m, _, b in imports if m == "backend.auth.permissions" and b != "auth"}
    assert ("auth", "orders") not in {(a, b) for _, a, b in imports}
