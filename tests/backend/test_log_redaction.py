"""The backend's logs keep no search terms, phone suffixes or statement values
(backend/log_redaction.py, backend/db.py): the filter on its own, the API's every query
parameter classified, a failed statement's error, and a real `freshline serve`'s log file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from backend.app import create_app
from backend.db import Database
from backend.log_redaction import (
    LOGGED_PARAMETERS,
    LOGGERS,
    REDACTED_PARAMETERS,
    QueryRedaction,
    redact_path,
)
from backend.settings import Settings
from tests.servers import LOG, serving
from tests.support import eventually

SEARCHED = "13800137474"


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/api/v1/orders?q=7474&late=true", "/api/v1/orders?q=***&late=true"),
        (
            f"/api/v1/orders?status=PAID&q={SEARCHED}&limit=5",
            "/api/v1/orders?status=PAID&q=***&limit=5",
        ),
        ("/api/v1/orders?q=Wang+Fang", "/api/v1/orders?q=***"),
        ("/api/v1/orders?q=", "/api/v1/orders?q=***"),
        (f"/api/v1/orders?{SEARCHED}", "/api/v1/orders?***"),  # a bare value: no name to keep
        (f"/api/v1/orders?phone={SEARCHED}", "/api/v1/orders?***"),  # a name we do not know
        ("/api/v1/alerts?state=open&zone=Sanlitun", "/api/v1/alerts?state=open&zone=Sanlitun"),
        ("/api/v1/orders/12", "/api/v1/orders/12"),
    ],
)
def test_a_logged_path_keeps_only_the_values_known_to_be_harmless(path: str, logged: str) -> None:
    assert redact_path(path) == logged


def test_every_query_parameter_of_the_api_is_either_logged_or_redacted() -> None:
    """A parameter added to the API must be put on one list, deliberately (else it is redacted
    whole, which is safe but says nothing)."""
    spec = create_app(Settings(database_url="sqlite+aiosqlite:///unused.db")).openapi()
    parameters = {
        p["name"]
        for operations in spec["paths"].values()
        for operation in operations.values()
        for p in operation.get("parameters", [])
        if p["in"] == "query"
    }
    assert parameters == LOGGED_PARAMETERS | REDACTED_PARAMETERS
    assert not LOGGED_PARAMETERS & REDACTED_PARAMETERS


def test_uvicorns_records_are_rewritten_before_any_handler_sees_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    create_app(Settings(database_url="sqlite+aiosqlite:///unused.db"))  # installs the filter
    create_app(Settings(database_url="sqlite+aiosqlite:///unused.db"))  # once, however often
    for name in LOGGERS:
        assert sum(isinstance(f, QueryRedaction) for f in logging.getLogger(name).filters) == 1
    path = f"/api/v1/orders?q={SEARCHED}"
    with caplog.at_level(logging.INFO):
        # As uvicorn writes them: the access line, and a stream handshake.
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200
        )
        logging.getLogger("uvicorn.error").info(
            '%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", path
        )
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert all("/api/v1/orders?q=***" in line and "7474" not in line for line in lines), lines


async def test_a_failed_statement_is_logged_without_its_values(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with db.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE people (phone TEXT UNIQUE)"))
            insert = text("INSERT INTO people (phone) VALUES (:phone)")
            await connection.execute(insert, {"phone": SEARCHED})
            with pytest.raises(IntegrityError) as failed:
                await connection.execute(insert, {"phone": SEARCHED})
        assert "INSERT INTO people" in str(failed.value)
        assert SEARCHED not in str(failed.value)
    finally:
        await db.engine.dispose()


@pytest.mark.slow  # a real `freshline serve`
async def test_a_real_servers_access_log_keeps_no_search_term(tmp_path: Path) -> None:
    with serving(tmp_path, "--demo") as server, server.client() as http:
        login = {"username": "dispatcher", "password": "demo-dispatcher"}
        token = http.post("/api/v1/auth/token", data=login).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        for q in ("7474", SEARCHED, "Wang Fang"):
            asked = http.get("/api/v1/orders", params={"q": q, "late": "true"}, headers=auth)
            assert asked.status_code == 200, asked.text
        log = server.run_dir / LOG
        await eventually(
            lambda: log.read_text().count("/api/v1/orders?q=***&late=true") >= 3,
            "three access lines, redacted",
        )
        written = log.read_text()
    assert "7474" not in written and "Wang" not in written, written
