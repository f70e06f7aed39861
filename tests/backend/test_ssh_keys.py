"""SSH keys through the real app: admins add, list and revoke them; the SSH gateway, with its
secret and nothing else, looks keys up, exchanges a proven one for a session token, and learns
which keys still count. Bad input answers 4xx and changes nothing."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.clock import ManualClock
from backend.ssh.keys import fingerprint_of
from tests.backend.ssh_support import ssh_key_pair, ssh_public_key
from tests.support import Api, started

API = "/api/v1"
SECRET = "s" * 48
GATEWAY = {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture
async def api(database_url: str, clock: ManualClock) -> AsyncIterator[Api]:
    async for api in started(database_url, clock, ssh_gateway_secret=SECRET):
        yield api


async def user_id(api: Api, username: str) -> int:
    users = (await api.get("admin", "/users")).json()
    return int(next(u["id"] for u in users if u["username"] == username))


async def add(api: Api, username: str, public_key: str, **extra: Any) -> Any:
    body = {"user_id": await user_id(api, username), "public_key": public_key, **extra}
    return await api.post("admin", "/ssh-keys", json=body)


async def gateway(api: Api, path: str, body: dict[str, Any], headers: Any = None) -> Any:
    return await api.client.post(
        f"{API}/ssh/gateway/{path}", json=body, headers=GATEWAY if headers is None else headers
    )


def rsa_key(bits: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    return key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


async def test_keys_are_added_listed_and_looked_up_by_their_openssh_fingerprint(api: Api):
    _, public = ssh_key_pair()
    added = await add(api, "dispatcher", public, label="desk 3")
    assert added.status_code == 201, added.text
    key = added.json()
    blob = base64.b64decode(public.split()[1])
    # The fingerprint `ssh-keygen -l` prints: SHA256 of the key blob, base64 without padding.
    assert key["fingerprint"] == fingerprint_of(blob) and key["fingerprint"].startswith("SHA256:")
    assert key | {"id": 0, "created_at": None, "fingerprint": None, "user_id": 0} == {
        "id": 0,
        "user_id": 0,
        "username": "dispatcher",
        "role": "dispatcher",
        "fingerprint": None,
        "key_type": "ssh-ed25519",
        "label": "desk 3",
        "read_only": False,
        "created_at": None,
        "revoked_at": None,
        "last_used_at": None,
    }
    listed = (await api.get("admin", "/ssh-keys")).json()
    assert [k["fingerprint"] for k in listed] == [key["fingerprint"]]
    assert "public_key" not in listed[0]

    found = await gateway(api, "lookup", {"fingerprint": key["fingerprint"]})
    assert found.json() == {
        "key_id": key["id"],
        "username": "dispatcher",
        "role": "dispatcher",
        "read_only": False,
    }
    unknown = await gateway(api, "lookup", {"fingerprint": fingerprint_of(b"nobody")})
    assert unknown.status_code == 404


async def test_bad_keys_and_accounts_are_refused_and_nothing_changes(api: Api):
    private, public = ssh_key_pair()
    events = await api.event_count()
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("garbage", "dispatcher", {"public_key": "ssh-ed25519 not-base64!!"}, 422, "not an"),
        ("private key", "dispatcher", {"public_key": private}, 422, ""),
        ("one word", "dispatcher", {"public_key": "AAAAC3NzaC1lZDI1NTE5AAAA"}, 422, "one line"),
        (
            "type mismatch",
            "dispatcher",
            {"public_key": "ssh-rsa " + public.split()[1]},
            422,
            "",
        ),
        ("weak RSA", "dispatcher", {"public_key": rsa_key(1024)}, 422, "too weak"),
        ("admin account", "admin", {"public_key": public}, 422, "admin account cannot"),
        ("rider account", "rider-1", {"public_key": public}, 422, "rider account cannot"),
        (
            "read-only dispatcher",
            "dispatcher",
            {"public_key": public, "read_only": True},
            422,
            "needs a viewer",
        ),
        ("unknown field", "dispatcher", {"public_key": public, "shell": "/bin/sh"}, 422, ""),
        (
            "control chars in label",
            "dispatcher",
            {"public_key": public, "label": "a\x1b[2J"},
            422,
            "",
        ),
    ]
    for label, username, body, status, says in cases:
        response = await api.post(
            "admin", "/ssh-keys", json={"user_id": await user_id(api, username), **body}
        )
        assert response.status_code == status, (label, response.text)
        assert says in str(response.json()["detail"]), (label, response.text)
    nobody = await api.post("admin", "/ssh-keys", json={"user_id": 99_999, "public_key": public})
    assert nobody.status_code == 422 and "no user" in nobody.json()["detail"]
    assert (await api.get("admin", "/ssh-keys")).json() == []
    assert await api.event_count() == events

    # A strong RSA key is taken; the same key twice, to anyone, is 409.
    assert (await add(api, "support", rsa_key(2048))).status_code == 201
    assert (await add(api, "dispatcher", public)).status_code == 201
    again = await add(api, "supervisor", public)
    assert again.status_code == 409 and "already registered" in again.json()["detail"]
    # Revoking an unknown key is 404; a viewer may have a read-only key.
    gone = await api.client.delete(f"{API}/ssh-keys/4242", headers=await api.auth("admin"))
    assert gone.status_code == 404
    assert (await add(api, "viewer", ssh_public_key(), read_only=True)).status_code == 201


async def test_the_gateway_needs_its_secret_and_only_it(api: Api):
    key = (await add(api, "dispatcher", ssh_public_key())).json()
    body = {"fingerprint": key["fingerprint"]}
    token = await api.token("admin")
    for headers in (
        {},
        {"Authorization": f"Bearer {token}"},  # an admin's token is no gateway secret
        {"Authorization": f"Bearer {SECRET[:-1]}"},
        {"Authorization": f"Basic {SECRET}"},
    ):
        for path in ("lookup", "sessions"):
            answer = await gateway(api, path, body, headers=headers)
            assert answer.status_code == 401, (headers, path, answer.text)
        live = await gateway(api, "live", {"key_ids": [key["id"]]}, headers=headers)
        assert live.status_code == 401
    bad = await gateway(api, "lookup", {"fingerprint": "MD5:aa:bb"})
    assert bad.status_code == 422


async def test_without_a_secret_set_nobody_is_the_gateway(database_url: str, clock: ManualClock):
    async for api in started(database_url, clock):
        answer = await api.client.post(
            f"{API}/ssh/gateway/lookup",
            json={"fingerprint": fingerprint_of(b"x")},
            headers={"Authorization": "Bearer "},
        )
        assert answer.status_code == 401


async def test_a_session_token_signs_in_as_the_key_owner_and_dies_with_the_key(api: Api):
    key = (await add(api, "dispatcher", ssh_public_key())).json()
    other = (await add(api, "support", ssh_public_key())).json()
    grant = await gateway(api, "sessions", {"fingerprint": key["fingerprint"], "peer": "10.0.0.7"})
    assert grant.status_code == 201, grant.text
    token = grant.json()["access_token"]
    assert grant.json()["username"] == "dispatcher"
    bearer = {"Authorization": f"Bearer {token}"}
    me = await api.client.get(f"{API}/auth/me", headers=bearer)
    assert me.json()["username"] == "dispatcher"
    listed = (await api.get("admin", "/ssh-keys")).json()
    assert next(k for k in listed if k["id"] == key["id"])["last_used_at"] is not None
    live = await gateway(api, "live", {"key_ids": [key["id"], other["id"], 777]})
    assert live.json() == {"live": sorted([key["id"], other["id"]])}

    revoked = await api.client.delete(
        f"{API}/ssh-keys/{key['id']}", headers=await api.auth("admin")
    )
    assert revoked.status_code == 204
    # At once: the token no longer counts, the key is not let in, the gateway is told.
    assert (await api.client.get(f"{API}/auth/me", headers=bearer)).status_code == 401
    assert (await gateway(api, "lookup", {"fingerprint": key["fingerprint"]})).status_code == 404
    refused = await gateway(api, "sessions", {"fingerprint": key["fingerprint"]})
    assert refused.status_code == 401
    live = await gateway(api, "live", {"key_ids": [key["id"], other["id"]]})
    assert live.json() == {"live": [other["id"]]}
    listed = (await api.get("admin", "/ssh-keys")).json()
    assert next(k for k in listed if k["id"] == key["id"])["revoked_at"] is not None
    # Revoking again changes nothing; the same key may be registered anew.
    events = await api.event_count()
    again = await api.client.delete(f"{API}/ssh-keys/{key['id']}", headers=await api.auth("admin"))
    assert again.status_code == 204 and await api.event_count() == events


async def test_a_disabled_account_loses_its_keys(api: Api):
    key = (await add(api, "support", ssh_public_key())).json()
    support = await user_id(api, "support")
    changed = await api.client.patch(
        f"{API}/users/{support}", json={"active": False}, headers=await api.auth("admin")
    )
    assert changed.status_code == 200, changed.text
    assert (await gateway(api, "lookup", {"fingerprint": key["fingerprint"]})).status_code == 404
    assert (await gateway(api, "live", {"key_ids": [key["id"]]})).json() == {"live": []}
    # Made an admin, the account may not use its key either (no admin over SSH).
    changed = await api.client.patch(
        f"{API}/users/{support}",
        json={"active": True, "role": "admin"},
        headers=await api.auth("admin"),
    )
    assert changed.status_code == 200, changed.text
    assert (await gateway(api, "live", {"key_ids": [key["id"]]})).json() == {"live": []}
