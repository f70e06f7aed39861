"""The console reads its app through `console.host` and its permissions from the server."""

from __future__ import annotations

import ast
from pathlib import Path

from backend_client.models import Role, Topic
from console.live import topics_for
from console.roles import DECIDED_AT_THE_DESK, WATCHES, denial
from tests.console.samples import me_as

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SIDE = ("console", "screens", "widgets", "themes")


def test_keys_follow_the_permissions_the_server_gave_not_a_table_of_the_consoles() -> None:
    viewer = me_as(Role.VIEWER)
    assert denial(viewer, "act") == WATCHES
    assert denial(viewer, "acknowledge") == WATCHES
    # A server that lets this account handle alerts: the console offers it at once.
    trusted = viewer.model_copy(update={"permissions": [*viewer.permissions, "alerts:handle"]})
    assert denial(trusted, "acknowledge") is None
    assert denial(me_as(Role.DISPATCHER), "approve") == DECIDED_AT_THE_DESK
    assert denial(me_as(Role.SUPPORT), "approve") is None
    assert denial(None, "act") is None  # nobody signed in yet: nothing to dim


def test_the_stream_topics_follow_the_permissions() -> None:
    desk = [Topic.ORDERS, Topic.RIDERS, Topic.KPI, Topic.ALERTS]
    assert topics_for(me_as(Role.DISPATCHER)) == desk
    assert topics_for(me_as(Role.VIEWER)) == desk
    assert topics_for(me_as(Role.MERCHANT)) == [Topic.ORDERS, Topic.ALERTS]
    assert topics_for(me_as(Role.RIDER)) == [Topic.ORDERS]


def test_no_screen_or_widget_reaches_into_the_app_by_name_or_into_textuals_privates() -> None:
    found = []
    for package in CONSOLE_SIDE:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ("getattr", "hasattr")
                    and node.args
                    and ast.unparse(node.args[0]).split(".")[-1] == "app"
                ):
                    found.append(f"{where} {ast.unparse(node)}")
                if isinstance(node, ast.Attribute) and node.attr in ("_closing", "_pruning"):
                    found.append(f"{where} .{node.attr}")
    assert found == []
