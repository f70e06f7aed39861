"""`freshline tail`: the stream as JSON lines, resumed from a file, with no gap and no double
across a backend killed and started again (real `freshline` processes on both sides)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from console.cli import app
from tests.servers import FRESHLINE
from tests.stream_support import Actors, LiveServer
from tests.support import eventually

pytestmark = pytest.mark.slow  # backend and tail processes


def orders_topic(server: LiveServer) -> list[int]:
    """The seqs the orders topic carries for a desk account, read from the log itself."""
    return [e["seq"] for e in server.log() if e["kind"].startswith(("order.", "request."))]


def lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def start_tail(server: LiveServer, token: str, out: Path, *args: str) -> subprocess.Popen[bytes]:
    assert FRESHLINE is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRESHLINE_")}
    env |= {"FRESHLINE_TOKEN": token, "FRESHLINE_CONFIG": str(out.parent / "none.toml")}
    command = [FRESHLINE, "tail", "--server", server.base_url, "--topic", "orders", "--json"]
    with out.open("ab") as stdout, (out.parent / "tail-stderr.txt").open("ab") as stderr:
        return subprocess.Popen([*command, *args], stdout=stdout, stderr=stderr, env=env)


async def test_tail_resumes_from_its_file_with_no_gap_and_no_double_across_a_restart(
    tmp_path: Path, backend: LiveServer, actors: Actors
) -> None:
    token = await actors.token("dispatcher")
    out, resume = tmp_path / "tail.jsonl", tmp_path / "tail.seq"
    for _ in range(3):
        await actors.paid()
    before = orders_topic(backend)

    # From the start of the log, a fixed number of events: it stops by itself.
    first = start_tail(
        backend,
        token,
        out,
        "--from",
        "0",
        "--count",
        str(len(before)),
        "--resume-file",
        str(resume),
    )
    assert first.wait(timeout=60) == 0, (tmp_path / "tail-stderr.txt").read_text()
    assert [line["seq"] for line in lines(out)] == before
    assert resume.read_text().strip() == str(before[-1])

    # While no tail runs, more happens; the next one starts where the file says.
    for _ in range(2):
        await actors.paid()
    second = start_tail(backend, token, out, "--resume-file", str(resume))
    try:
        await eventually(lambda: len(lines(out)) == len(orders_topic(backend)), "caught up")

        # The backend dies and comes back on the same database; the tail goes on by itself.
        backend.kill()
        await backend.start()
        for _ in range(2):
            await actors.paid()
        wanted = orders_topic(backend)
        await eventually(
            lambda: resume.exists() and resume.read_text().strip() == str(wanted[-1]),
            "the events after the restart written",
        )
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=30)

    written = lines(out)
    assert [line["seq"] for line in written] == wanted  # every one, once, in order
    assert all(line["type"] == "event" for line in written)
    assert {line["kind"] for line in written} >= {"order.created", "order.transition"}


def test_tail_refuses_a_resume_file_that_holds_no_seq(tmp_path: Path) -> None:
    resume = tmp_path / "tail.seq"
    resume.write_text("yesterday\n")
    result = CliRunner().invoke(
        app,
        [
            "tail",
            "--server",
            "http://127.0.0.1:9",
            "--topic",
            "orders",
            "--resume-file",
            str(resume),
        ],
        env={"FRESHLINE_TOKEN": "t", "FRESHLINE_CONFIG": str(tmp_path / "none.toml")},
    )
    assert result.exit_code == 1
    assert "not a seq" in result.output


def test_tail_refuses_an_unknown_topic(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["tail", "--server", "http://127.0.0.1:9", "--topic", "parcels"],
        env={"FRESHLINE_CONFIG": str(tmp_path / "none.toml")},
    )
    assert result.exit_code == 2
    assert "not a topic" in result.output


def test_without_json_a_line_reads_as_seq_time_kind_subject_and_change() -> None:
    from datetime import UTC, datetime

    from backend_client.models import EventMessage
    from console.tail_cli import line_of

    message = EventMessage(
        prev_seq=40,
        seq=44,
        kind="order.transition",
        order_id=88,
        rider_id=3,
        warehouse_id="WH-CY",
        from_state="PICKING",
        to_state="DELIVERING",
        actor="rider-3",
        role="rider",
        client_addr=None,
        at=datetime(2026, 12, 5, 10, 41, 7, tzinfo=UTC),
        reason=None,
        payload={"version": 5},
    )
    assert line_of(message, as_json=False) == (
        "44  2026-12-05T10:41:07+00:00  order.transition  order 88  PICKING -> DELIVERING"
    )
    assert json.loads(line_of(message, as_json=True) or "")["seq"] == 44


def test_tail_without_a_token_says_to_sign_in(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["tail", "--server", "http://127.0.0.1:9", "--topic", "orders"],
        env={"FRESHLINE_CONFIG": str(tmp_path / "none.toml"), "FRESHLINE_TOKEN": ""},
    )
    assert result.exit_code == 1
    assert "freshline login" in result.output or "stored token" in result.output
