"""Field encryption at rest: values under the key ring's current key, rotation without downtime
(old and new keys readable meanwhile, values re-encrypted in the background), values written
before encryption sealed at start, and stored answers pruned after their retention."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backend.clock import ManualClock
from backend.crypto.cipher import active
from backend.crypto.keys import new_ring_text, parse_ring, rotate_file, write_private
from backend.db import alembic_config
from backend.privacy.upkeep import key_census
from tests.backend.channel_support import send
from tests.backend.test_erasure import app_order
from tests.servers import clean_env
from tests.support import Api, customer, eventually, started

PHONE = "13766554433"


def key_file(folder: Path) -> Path:
    path = folder / "keys" / "field-keys.json"
    write_private(path, new_ring_text())
    return path


def current_of(path: Path) -> str:
    return parse_ring(path.read_text(encoding="utf-8"), str(path), reload=None).current


async def keys(env: dict[str, str], *words: str) -> subprocess.CompletedProcess[str]:
    """`python -m backend keys WORDS` in a process of its own."""
    command = [sys.executable, "-m", "backend", "keys", *words]
    return await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True)


async def keys_in_use(api: Api) -> set[str]:
    census = await key_census(api.app.state.runtime.db)
    return {kid for counts in census.values() for kid, n in counts.items() if n}


async def test_rotation_keeps_old_values_readable_and_reencrypts_them(
    database_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    path = key_file(tmp_path)
    first = current_of(path)
    async for api in started(database_url, clock, field_keys=None, field_key_file=str(path)):
        order = await api.create_order(customer=customer(phone=PHONE))
        assert await keys_in_use(api) == {first}

        # Rotated (as `keys rotate` does); another instance already writes with the new key:
        # this one, not yet told, reads that value by reading the key file again.
        _, second = rotate_file(path)
        elsewhere = parse_ring(path.read_text(encoding="utf-8"), str(path), reload=None)
        async with api.app.state.runtime.db.engine.begin() as conn:
            await conn.execute(
                text("UPDATE orders SET address = :a WHERE id = :id"),
                {"a": elsewhere.encrypt("Gulou St 3", "orders.address"), "id": order["id"]},
            )
        read = (await api.get("dispatcher", f"/orders/{order['id']}")).json()
        assert read["address"] == "Gulou St 3"
        assert read["customer"]["phone"] == PHONE  # still under the first key: readable
        assert await keys_in_use(api) == {first, second}

        resealed, _ = await api.app.state.runtime.privacy.run_once()
        assert resealed > 0 and await keys_in_use(api) == {second}
        again = (await api.get("dispatcher", f"/orders/{order['id']}")).json()
        assert again["customer"] == read["customer"] and again["address"] == "Gulou St 3"
        # The blind index does not rotate: search and the customer upsert still find them.
        found = await api.get("dispatcher", "/orders", params={"q": PHONE[-4:]})
        assert [o["id"] for o in found.json()["items"]] == [order["id"]]
        twin = await api.create_order(customer=customer(phone=PHONE))
        assert twin["customer"]["id"] == order["customer"]["id"]


@pytest.mark.slow
async def test_keys_rotate_command_is_picked_up_by_a_running_backend(
    database_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    path = key_file(tmp_path)
    first = current_of(path)
    settings = {"field_keys": None, "field_key_file": str(path), "privacy_upkeep_seconds": 0.05}
    async for api in started(database_url, clock, **settings):
        await api.create_order(customer=customer(phone=PHONE))
        env = clean_env(
            tmp_path,
            FRESHLINE_DATABASE_URL=database_url,
            FRESHLINE_FIELD_KEY_FILE=str(path),
        )
        del env["FRESHLINE_FIELD_KEYS"]  # the keys from the file, as the backend here has them
        rotated = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "backend", "keys", "rotate"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert rotated.returncode == 0, rotated.stderr
        second = current_of(path)
        assert second != first and second in rotated.stdout

        async def only(app: Api, kid: str) -> bool:
            return await keys_in_use(app) == {kid}

        await eventually(partial(only, api, second), "every value re-encrypted under the new key")
        assert active().current == second
        status = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "backend", "keys", "status"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert status.returncode == 0, status.stderr
        assert f"current key: {second}" in status.stdout and first not in status.stdout

        assert (await keys(env, "retire", second)).returncode == 1  # the current key stays
        assert (await keys(env, "retire", first)).returncode == 0  # nothing is under it any more
        assert set(parse_ring(path.read_text(encoding="utf-8"), "k", reload=None).keys) == {second}
        resealed = await keys(env, "reseal")
        assert resealed.returncode == 0 and "re-encrypted 0 value(s)" in resealed.stdout


async def test_stored_answers_are_pruned_after_their_retention(api: Api) -> None:
    body = {
        "external_id": "RETAIN-1",
        "customer": customer(phone=PHONE),
        "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
    }
    key = {"Idempotency-Key": "retain-1"}
    first = await api.post("channel-app", "/orders", json=body, headers=key)
    assert first.status_code == 201
    taken = await send(api, "app", "orders", app_order(7))
    assert taken.status_code == 201
    upkeep = api.app.state.runtime.privacy

    api.clock.advance(hours=71)
    api._tokens.clear()  # tokens live 12 h: sign in again
    assert (await upkeep.run_once())[1] == (0, 0)  # within the 72 h: kept
    replay = await api.post("channel-app", "/orders", json=body, headers=key)
    assert replay.headers.get("Idempotent-Replayed") == "true"

    api.clock.advance(hours=2)
    api._tokens.clear()
    assert (await upkeep.run_once())[1] == (1, 1)
    async with api.app.state.runtime.db.read() as session:
        kept = (await session.execute(text("SELECT COUNT(*) FROM idempotency_keys"))).scalar()
        receipts = (await session.execute(text("SELECT COUNT(*) FROM channel_orders"))).scalar()
    assert kept == 0 and receipts == 1  # the receipt's row stays for reconciliation
    # Forgotten: the same key acts again (the order exists: 409), the channel's retry gets
    # the order as it is now.
    again = await api.post("channel-app", "/orders", json=body, headers=key)
    assert again.status_code == 409 and "Idempotent-Replayed" not in again.headers
    retry = await send(api, "app", "orders", app_order(7))
    assert retry.status_code == 201, retry.text
    assert retry.json()["replayed"] is True
    assert retry.json()["order"]["id"] == taken.json()["order"]["id"]


async def test_values_written_before_encryption_are_sealed_at_start(
    tmp_path: Path, clock: ManualClock
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", url)
    engine = create_async_engine(url)
    async with engine.begin() as conn:

        def upgrade(sync_conn: Any) -> None:
            config.attributes["connection"] = sync_conn
            command.upgrade(config, "0011")

        await conn.run_sync(upgrade)
        await conn.execute(
            text(
                "INSERT INTO customers (name, phone, address, lat, lng) "
                "VALUES ('Old Timer', :phone, 'Old Lane 1', 39.93, 116.45)"
            ),
            {"phone": PHONE},
        )
    await engine.dispose()

    async for api in started(url, clock):
        census = await key_census(api.app.state.runtime.db)
        assert all(counts.get("plain", 0) == 0 for counts in census.values()), census
        order = await api.create_order(customer=customer(name="Old Timer", phone=PHONE))
        assert order["customer"]["id"] == 1  # found by the blind index made at start
    raw = _bytes(tmp_path / "old.db")
    assert PHONE.encode() not in raw and b"Old Lane 1" not in raw


def _bytes(path: Path) -> bytes:
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(f.read_bytes() for f in files if os.path.exists(f))
