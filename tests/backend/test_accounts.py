"""Accounts and their tokens: disabling or re-roling an account ends its tokens at once; a known
token is answered from memory; a change behind the API's back is seen within the cache's time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, update

from backend.auth.models import TokenRow
from backend.auth.tokens import TokenCache
from backend.errors import NotAuthenticated
from tests.support import Api

API = "/api/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_in(api: Api, username: str, password: str | None = None) -> Any:
    return await api.client.post(
        f"{API}/auth/token",
        data={"username": username, "password": password or f"demo-{username}"},
    )


async def user_id(api: Api, username: str) -> int:
    users = (await api.get("admin", "/users")).json()
    return next(u["id"] for u in users if u["username"] == username)


async def change(api: Api, uid: int, body: dict[str, Any]) -> Any:
    return await api.client.patch(f"{API}/users/{uid}", json=body, headers=await api.auth("admin"))


async def me(api: Api, token: str) -> int:
    return (await api.client.get(f"{API}/auth/me", headers=bearer(token))).status_code


async def test_disabling_an_account_ends_its_tokens_at_once(api: Api) -> None:
    token = (await sign_in(api, "viewer")).json()["access_token"]
    assert await me(api, token) == 200  # known now, and kept in memory
    uid = await user_id(api, "viewer")
    answer = await change(api, uid, {"active": False})
    assert answer.status_code == 200, answer.text
    assert answer.json()["active"] is False
    assert await me(api, token) == 401
    assert (await sign_in(api, "viewer")).status_code == 401
    # Enabled again, the old token stays dead: one signs in anew.
    assert (await change(api, uid, {"active": True})).json()["active"] is True
    assert await me(api, token) == 401
    fresh = (await sign_in(api, "viewer")).json()["access_token"]
    assert await me(api, fresh) == 200
    timeline = await api.get("admin", "/events", params={"since": 0, "topics": "audit"})
    kinds = [e["kind"] for e in timeline.json()["events"] if e["kind"] == "user.updated"]
    assert kinds == ["user.updated", "user.updated"]


async def test_a_new_role_needs_its_scope_and_ends_the_old_tokens(api: Api) -> None:
    token = (await sign_in(api, "support")).json()["access_token"]
    assert await me(api, token) == 200
    uid = await user_id(api, "support")
    missing = await change(api, uid, {"role": "merchant"})
    assert missing.status_code == 422, missing.text
    assert "warehouse_id" in missing.text
    unknown = await change(api, uid, {"role": "merchant", "warehouse_id": "WH-NOWHERE"})
    assert unknown.status_code == 422, unknown.text
    assert await me(api, token) == 200, "a refused change must not end the tokens"
    moved = await change(api, uid, {"role": "merchant", "warehouse_id": "WH-HD"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["role"], moved.json()["warehouse_id"]) == ("merchant", "WH-HD")
    assert await me(api, token) == 401
    again = (await sign_in(api, "support")).json()
    assert again["role"] == "merchant"


async def test_what_an_admin_cannot_do_to_accounts(api: Api) -> None:
    admin = await user_id(api, "admin")
    own = await change(api, admin, {"active": False})
    assert own.status_code == 409, own.text
    assert await me(api, await api.token("admin")) == 200
    assert (await change(api, 999_999, {"active": False})).status_code == 404
    viewer = await user_id(api, "viewer")
    scope_alone = await change(api, viewer, {"warehouse_id": "WH-CY"})
    assert scope_alone.status_code == 422, scope_alone.text
    nothing = await change(api, viewer, {})
    assert nothing.status_code == 200 and nothing.json()["active"] is True
    refused = await api.client.patch(
        f"{API}/users/{viewer}", json={"active": False}, headers=await api.auth("supervisor")
    )
    assert refused.status_code == 403


async def test_a_known_token_is_answered_without_asking_the_database(api: Api) -> None:
    token = (await sign_in(api, "dispatcher")).json()["access_token"]
    assert await me(api, token) == 200
    statements: list[str] = []
    engine = api.app.state.runtime.db.engine.sync_engine

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(20):
            assert await me(api, token) == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []
    # Expiry is still checked on every use.
    api.clock.advance(hours=13)
    assert await me(api, token) == 401


async def test_a_token_revoked_behind_the_apis_back_is_refused_within_the_cache_time(
    api: Api,
) -> None:
    db = api.app.state.runtime.db
    token = (await sign_in(api, "viewer")).json()["access_token"]
    now = [0.0]
    cache = TokenCache(30, monotonic=lambda: now[0])
    known = await cache.principal(db, token, now=api.clock.now(), client_addr="10.0.0.9")
    assert (known.username, known.client_addr) == ("viewer", "10.0.0.9")

    async def revoke(session: Any) -> None:
        await session.execute(update(TokenRow).values(revoked_at=api.clock.now()))

    await db.write(revoke)
    now[0] = 29.0
    assert (await cache.principal(db, token, now=api.clock.now(), client_addr=None)).username
    now[0] = 30.5
    try:
        await cache.principal(db, token, now=api.clock.now(), client_addr=None)
    except NotAuthenticated as refused:
        assert "revoked" in str(refused)
    else:
        raise AssertionError("a revoked token was still believed after the cache time")
