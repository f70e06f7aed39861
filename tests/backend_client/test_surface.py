"""The client's public surface: one curated `__init__`, one exception tree, private modules."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import backend_client
from backend_client import _errors

ROOT = Path(__file__).resolve().parents[2]
CALLERS = ("backend", "console", "screens", "widgets", "bench")
# The contract, and what both sides share beside it: how a channel signs, geometry on a city,
# what a demo's backend and its simulator agree on (simulated time, channel secrets), how a
# phone is masked (the API's answers and the console's screens alike).
PUBLIC_MODULES = {"models", "signing", "geo", "demo", "phones"}


def client_modules() -> list[str]:
    return [
        f"backend_client.{info.name}"
        for info in pkgutil.iter_modules(backend_client.__path__)
        if info.name != "models"
    ]


def test_every_exception_is_in_the_documented_tree_and_exported() -> None:
    exceptions = {
        value
        for name in client_modules()
        for value in vars(importlib.import_module(name)).values()
        if inspect.isclass(value)
        and issubclass(value, Exception)
        and value.__module__.startswith("backend_client")
    }
    assert {e.__module__ for e in exceptions} == {"backend_client._errors"}
    tree = _errors.__doc__ or ""
    assert [e.__name__ for e in exceptions if not re.search(rf"\b{e.__name__}\b", tree)] == []
    assert {e.__name__ for e in exceptions} <= set(backend_client.__all__)


def test_the_curated_names_all_resolve() -> None:
    assert all(hasattr(backend_client, name) for name in backend_client.__all__)


def test_modules_other_than_the_contract_signing_and_geometry_are_private() -> None:
    public = {
        info.name
        for info in pkgutil.iter_modules(backend_client.__path__)
        if not info.name.startswith("_")
    }
    assert public == PUBLIC_MODULES


def test_no_caller_imports_a_private_module() -> None:
    private = re.compile(r"^\s*(from|import)\s+backend_client\._", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for package in CALLERS
        for path in (ROOT / package).rglob("*.py")
        if private.search(path.read_text("utf-8"))
    ]
    assert offenders == []
