"""`client.ssh_keys`: SSH keys (admins); `client.ssh_gateway`: the SSH gateway's calls (made with
the gateway's secret as the client's token, `freshline ssh-serve` only)."""

from __future__ import annotations

from collections.abc import Iterable

from backend_client._transport import Resource
from backend_client.models import (
    SshGatewayKey,
    SshKey,
    SshKeyCreate,
    SshKeyLookup,
    SshLiveCheck,
    SshLiveKeys,
    SshSessionGrant,
    SshSessionRequest,
)


class SshKeys(Resource):
    """Public keys that sign in over `freshline ssh-serve`."""

    async def all(self) -> list[SshKey]:
        return await self._transport.call("GET", "/ssh-keys", list[SshKey])

    async def add(self, key: SshKeyCreate, *, idempotency_key: str | None = None) -> SshKey:
        return await self._transport.call(
            "POST", "/ssh-keys", SshKey, json=key, idempotency_key=idempotency_key
        )

    async def revoke(self, key_id: int) -> None:
        await self._transport.call("DELETE", f"/ssh-keys/{key_id}", None)


class SshGateway(Resource):
    """What the SSH gateway asks; the client's token is the gateway's secret."""

    async def lookup(self, fingerprint: str) -> SshGatewayKey:
        return await self._transport.call(
            "POST", "/ssh/gateway/lookup", SshGatewayKey, json=SshKeyLookup(fingerprint=fingerprint)
        )

    async def open_session(self, fingerprint: str, *, peer: str | None) -> SshSessionGrant:
        return await self._transport.call(
            "POST",
            "/ssh/gateway/sessions",
            SshSessionGrant,
            json=SshSessionRequest(fingerprint=fingerprint, peer=peer),
        )

    async def live(self, key_ids: Iterable[int]) -> list[int]:
        answer = await self._transport.call(
            "POST", "/ssh/gateway/live", SshLiveKeys, json=SshLiveCheck(key_ids=list(key_ids))
        )
        return answer.live
