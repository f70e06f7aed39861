"""`python -m backend users add`: a new deployment's first admin, made on the machine the
backend runs on, signs in through the API; bad input is refused and creates nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.clock import ManualClock
from backend.realtime.models import EventRow
from backend.sql import json_value
from tests.servers import clean_env
from tests.support import started

pytestmark = [pytest.mark.slow, pytest.mark.long(20)]  # a backend process of its own per command


def add_user(
    tmp_path: Path, database_url: str, *args: str, password: str
) -> subprocess.CompletedProcess[str]:
    env = clean_env(tmp_path, FRESHLINE_DATABASE_URL=database_url, FRESHLINE_DEMO="false")
    return subprocess.run(
        [sys.executable, "-m", "backend", "users", "add", *args, "--password-stdin"],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_first_admin_is_made_once_and_signs_in(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    made = add_user(tmp_path, database_url, "ops", "--role", "admin", password="first-admin-pw")
    assert made.returncode == 0, made.stderr
    assert "user ops (admin) created" in made.stdout

    again = add_user(tmp_path, database_url, "ops", "--role", "admin", password="other-pw-123")
    assert again.returncode == 1 and "already exists" in again.stderr
    scoped = add_user(tmp_path, database_url, "shop", "--role", "merchant", password="merchant-pw")
    assert scoped.returncode == 1 and "warehouse_id" in scoped.stderr
    short = add_user(tmp_path, database_url, "x2", "--role", "admin", password="short")
    assert short.returncode == 2 and "at least 8" in short.stderr
    unknown = add_user(tmp_path, database_url, "boss", "--role", "owner", password="long-enough")
    assert unknown.returncode == 2 and "role" in unknown.stderr

    async for api in started(database_url, ManualClock(), demo=False):
        form = {"username": "ops", "password": "first-admin-pw"}
        signed_in = await api.client.post("/api/v1/auth/token", data=form)
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        users = await api.client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
        assert users.status_code == 200
        assert [u["username"] for u in users.json()] == ["ops"]  # nothing else was created
        async with api.app.state.runtime.db.read() as session:
            rows = await session.execute(
                select(EventRow.actor, EventRow.payload).where(EventRow.kind == "user.created")
            )
            created = [(actor, json_value(payload)["username"]) for actor, payload in rows]
        assert created == [("system", "ops")]
