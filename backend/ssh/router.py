"""Routes: SSH keys (admins), and the three calls of the SSH gateway (its secret, no account).

The gateway (`freshline ssh-serve`) authenticates with `Authorization: Bearer <ssh gateway
secret>`: a credential only it holds, never a person's token. It can ask who a key signs in as,
exchange a key it saw proven for a session token, and ask which keys still count. Threat model:
docs/ssh.md.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from backend.auth.deps import CanManageUsers
from backend.auth.router import TokensDep
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.errors import NotAuthenticated
from backend.idempotency import IDEMPOTENT, run_once
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.ssh import service
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

router = APIRouter(tags=["ssh"])

KeyId = Annotated[int, Path(ge=1, le=2**31 - 1, description="SSH key id.")]


@router.get("/ssh-keys", response_model=list[SshKey], responses=PROTECTED)
async def list_ssh_keys(db: DbDep, _principal: CanManageUsers) -> list[SshKey]:
    """Every registered key, revoked ones too, with its account and fingerprint (admins)."""
    async with db.read() as session:
        return await service.list_keys(session)


@router.post(
    "/ssh-keys",
    response_model=SshKey,
    status_code=201,
    responses={**PROTECTED, **TOO_LARGE, **errors({409: "The key is already registered."})},
    openapi_extra=IDEMPOTENT,
)
async def add_ssh_key(
    body: SshKeyCreate, request: Request, db: DbDep, clock: ClockDep, principal: CanManageUsers
):
    """Register an OpenSSH public key to an account (admins). 422: not a public key, a weak
    RSA key, or an account that may not sign in over SSH (admins, riders, channels, disabled
    ones; a read-only key needs a viewer)."""
    now = clock.now()

    async def act(session: AsyncSession) -> tuple[int, SshKey]:
        return 201, await service.add_key(session, body, actor=principal, now=now)

    return await run_once(request, db, principal, now, act)


@router.delete(
    "/ssh-keys/{key_id}",
    status_code=204,
    responses={**PROTECTED, **errors({404: "No such SSH key."})},
)
async def revoke_ssh_key(
    key_id: KeyId, db: DbDep, clock: ClockDep, tokens: TokensDep, principal: CanManageUsers
) -> None:
    """Revoke a key (admins): no new session, and the open ones end: their tokens stop working
    at once on every instance, and the gateway closes them at its next check."""
    now = clock.now()

    async def revoke(session: AsyncSession) -> list[str]:
        return await service.revoke_key(session, key_id, actor=principal, now=now)

    for digest in await db.write(revoke):
        tokens.forget(digest, None)
        if tokens.announce is not None:
            tokens.announce(digest, None)


# --- the gateway ---------------------------------------------------------------------------


class GatewaySecret(SecurityBase):
    """The caller holds the SSH gateway's secret (setting `ssh_gateway_secret`) as its bearer
    credential; 401 if not, and always when none is set. A security scheme of its own, so
    OpenAPI says these calls take a bearer credential that is not an account's token."""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(description="The backend's `ssh_gateway_secret`.")
        self.scheme_name = "SshGatewaySecret"

    async def __call__(self, connection: HTTPConnection) -> None:
        secret = connection.app.state.runtime.settings.ssh_gateway_secret
        scheme, _, given = connection.headers.get("authorization", "").partition(" ")
        expected = secret.get_secret_value() if secret is not None else None
        if (
            expected is None
            or scheme.lower() != "bearer"
            or not hmac.compare_digest(given.strip().encode(), expected.encode())
        ):
            raise NotAuthenticated("the SSH gateway's calls need its secret")


ssh_gateway = GatewaySecret()
Gateway = Depends(ssh_gateway)
GATEWAY_ERRORS = errors(
    {401: "Not the SSH gateway's secret (or none is set).", 422: "Invalid input."}
)


@router.post(
    "/ssh/gateway/lookup",
    response_model=SshGatewayKey,
    dependencies=[Gateway],
    responses={**GATEWAY_ERRORS, **TOO_LARGE, **errors({404: "No live key; not let in."})},
)
async def gateway_lookup(body: SshKeyLookup, db: DbDep) -> SshGatewayKey:
    """Who a key signs in as (the SSH gateway only), before the client proves it holds it."""
    async with db.read() as session:
        return await service.lookup(session, body.fingerprint)


@router.post(
    "/ssh/gateway/sessions",
    response_model=SshSessionGrant,
    status_code=201,
    dependencies=[Gateway],
    responses={**GATEWAY_ERRORS, **TOO_LARGE},
)
async def gateway_session(
    body: SshSessionRequest, db: DbDep, clock: ClockDep, settings: SettingsDep
) -> SshSessionGrant:
    """A session token for the account of a key the client proved it holds (the SSH gateway
    only); it lives `ssh_session_minutes` at most and dies with the key."""
    now, ttl = clock.now(), timedelta(minutes=settings.ssh_session_minutes)

    async def issue(session: AsyncSession) -> SshSessionGrant:
        return await service.open_session(
            session, body.fingerprint, peer=body.peer, now=now, ttl=ttl
        )

    return await db.write(issue)


@router.post(
    "/ssh/gateway/live",
    response_model=SshLiveKeys,
    dependencies=[Gateway],
    responses={**GATEWAY_ERRORS, **TOO_LARGE},
)
async def gateway_live(body: SshLiveCheck, db: DbDep) -> SshLiveKeys:
    """Which of the gateway's open sessions' keys still count (the SSH gateway only)."""
    async with db.read() as session:
        return SshLiveKeys(live=await service.live_keys(session, body.key_ids))
