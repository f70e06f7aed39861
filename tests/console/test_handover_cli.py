"""`freshline handover` for real: the installed script against a real server on a loopback
port, printing the digest as Markdown and as JSON, refusing what it cannot answer; and the
Markdown itself, escaping someone's words and reading times on the business clock."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend_client.models import HandoverDigest
from tests.servers import FRESHLINE, Server, clean_env, serving
from tests.support import customer

pytestmark = pytest.mark.slow  # the module's `freshline serve`


def run_handover(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert FRESHLINE is not None, "the freshline console script is not installed (pip install -e .)"
    return subprocess.run(
        [FRESHLINE, "handover", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def headers(client: httpx.Client, username: str) -> dict[str, str]:
    answer = client.post(
        "/api/v1/auth/token", data={"username": username, "password": f"demo-{username}"}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def call(client: httpx.Client, username: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1{path}", json=body, headers=headers(client, username))
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(scope="module")
def shift(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, Any]]]:
    """A demo server with rider 1 out carrying an order that has a claim waiting."""
    tmp_path = tmp_path_factory.mktemp("handover-server")
    database = f"sqlite+aiosqlite:///{tmp_path / 'f.db'}"
    with serving(tmp_path, "--demo", "--database-url", database) as server, server.client() as c:
        call(c, "rider-1", "/riders/1/status", {"status": "online"})
        order = call(
            c,
            "channel-app",
            "/orders",
            {
                "external_id": "HANDOVER-1",
                "customer": customer(),
                "items": [{"sku": "VEG-BOKCHOY", "quantity": 2}],
            },
        )
        order = transition(c, "channel-app", order, "pay")
        order = transition(c, "dispatcher", order, "start_picking")
        order = call(
            c,
            "dispatcher",
            f"/orders/{order['id']}/assign",
            {"rider_id": 1, "version": order["version"]},
        )
        order = transition(c, "rider-1", order, "dispatch")
        claim = call(
            c,
            "rider-1",
            f"/orders/{order['id']}/claims",
            {
                "version": order["version"],
                "reason": "box crushed | eggs *broken*",
                "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
                "amount_cents": 350,
            },
        )
        yield server, claim


def transition(client: httpx.Client, who: str, order: dict[str, Any], action: str):
    return call(
        client,
        who,
        f"/orders/{order['id']}/transitions",
        {"action": action, "version": order["version"]},
    )


def env_for(server: Server, tmp_path: Path, username: str) -> dict[str, str]:
    return clean_env(
        tmp_path,
        FRESHLINE_SERVER=server.base_url,
        FRESHLINE_PASSWORD=f"demo-{username}",
        FRESHLINE_CONFIG=str(tmp_path / "none.toml"),
        COLUMNS="200",
    )


def test_the_digest_prints_as_markdown_and_json(
    shift: tuple[Server, dict[str, Any]], tmp_path: Path
) -> None:
    server, claim = shift
    env = env_for(server, tmp_path, "dispatcher")
    printed = run_handover("--user", "dispatcher", env=env, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    text = printed.stdout
    assert text.startswith("# Shift handover: ")
    for heading in (
        "## Open critical alerts",
        "## Acknowledged this shift",
        "## Returns and claims waiting for a decision (1)",
        "## Riders still out (1)",
        "## KPIs against the shift before",
    ):
        assert heading in text, text
    # The claim with its words escaped (a | would split a table, * would turn bold).
    assert f"claim #{claim['id']}, order {claim['order_id']} (WH-CY), 3.50 yuan" in text
    assert r"box crushed \| eggs \*broken\*" in text
    assert f"carrying order {claim['order_id']}" in text  # rider 1 still has it
    assert "| orders | 1 |" in text

    as_json = run_handover(
        "--user", "dispatcher", "--format", "json", "--hours", "2", env=env, cwd=tmp_path
    )
    assert as_json.returncode == 0, as_json.stderr
    digest = HandoverDigest.model_validate(json.loads(as_json.stdout))
    assert digest.end - digest.start == timedelta(hours=2)
    assert [r.id for r in digest.waiting_requests] == [claim["id"]]
    assert [(r.id, r.order_ids) for r in digest.riders_out] == [(1, [claim["order_id"]])]
    assert digest.in_flight_by_state == {"EXCEPTION": 1}


def test_what_it_cannot_answer_is_said_on_stderr(
    shift: tuple[Server, dict[str, Any]], tmp_path: Path
) -> None:
    server, _ = shift
    merchant = run_handover(
        "--user", "merchant-wh-cy", env=env_for(server, tmp_path, "merchant-wh-cy"), cwd=tmp_path
    )
    assert merchant.returncode == 1 and merchant.stdout == ""
    assert "no handover digest" in merchant.stderr and "handover:read" in merchant.stderr
    env = env_for(server, tmp_path, "dispatcher")
    for args in (
        ["--since", "yesterday"],
        ["--since", "2026-11-22T14:00"],  # no offset: not guessed
        ["--since", "2026-11-22T14:00+08:00", "--hours", "2"],
        ["--hours", "0"],
        ["--format", "pdf"],
    ):
        refused = run_handover("--user", "dispatcher", *args, env=env, cwd=tmp_path)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert refused.stdout == ""
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    late = run_handover("--user", "dispatcher", "--since", future, env=env, cwd=tmp_path)
    assert late.returncode == 1 and "since must be in the past" in late.stderr
    no_server = {k: v for k, v in env.items() if k != "FRESHLINE_SERVER"}
    alone = run_handover("--user", "dispatcher", env=no_server, cwd=tmp_path)
    assert alone.returncode == 2 and "no server" in alone.stderr
