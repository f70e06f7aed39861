"""SSH keys: register, list, revoke; and the gateway's lookups and token exchange."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import TokenRow, UserRow
from backend.auth.principal import Principal
from backend.auth.service import issue_token, token_digest
from backend.errors import Conflict, NotAuthenticated, NotFound, Unprocessable
from backend.realtime.outbox import append_event
from backend.ssh.keys import read_public_key
from backend.ssh.models import SshKeyRow, SshSessionRow
from backend_client.models import Role, SshGatewayKey, SshKey, SshKeyCreate, SshSessionGrant

SSH_ROLES = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.SUPPORT, Role.VIEWER, Role.MERCHANT})
"""The desk roles a key may sign in as. Not admin: the gateway's secret can then never mint an
admin token. Not riders or channels: they are apps on the API, not people at a console."""


def key_view(key: SshKeyRow, user: UserRow) -> SshKey:
    return SshKey(
        id=key.id,
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        fingerprint=key.fingerprint,
        key_type=key.key_type,
        label=key.label,
        read_only=key.read_only,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


def _refusal(user: UserRow, read_only: bool) -> str | None:
    """Why this account may not sign in over SSH (with a read-only key or not); None: it may."""
    if not user.active:
        return f"account {user.username} is disabled"
    if user.role not in SSH_ROLES:
        return f"a {user.role} account cannot sign in over SSH"
    if read_only and user.role != Role.VIEWER:
        return f"a read-only key needs a viewer account; {user.username} is a {user.role}"
    return None


async def add_key(
    session: AsyncSession, body: SshKeyCreate, *, actor: Principal, now: datetime
) -> SshKey:
    """Register a key; 422 for a bad key or an account that may not use one, 409 if the key is
    already registered (to anyone)."""
    key = read_public_key(body.public_key)
    user = await session.get(UserRow, body.user_id)
    if user is None:
        raise Unprocessable(f"no user {body.user_id}")
    refusal = _refusal(user, body.read_only)
    if refusal:
        raise Unprocessable(refusal)
    taken = await session.scalar(
        select(SshKeyRow.id).where(
            SshKeyRow.fingerprint == key.fingerprint, SshKeyRow.revoked_at.is_(None)
        )
    )
    if taken is not None:
        raise Conflict(f"key {key.fingerprint} is already registered (key {taken})")
    row = SshKeyRow(
        user_id=user.id,
        fingerprint=key.fingerprint,
        key_type=key.key_type,
        public_key=key.openssh,
        label=body.label,
        read_only=body.read_only,
        created_at=now,
        created_by=actor.user_id,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same key added at the same moment
        raise Conflict(f"key {key.fingerprint} is already registered") from exc
    await append_event(
        session,
        kind="ssh_key.added",
        actor=actor,
        at=now,
        payload={
            "key_id": row.id,
            "user_id": user.id,
            "fingerprint": row.fingerprint,
            "read_only": row.read_only,
        },
    )
    return key_view(row, user)


async def list_keys(session: AsyncSession) -> list[SshKey]:
    rows = await session.execute(
        select(SshKeyRow, UserRow)
        .join(UserRow, UserRow.id == SshKeyRow.user_id)
        .order_by(SshKeyRow.id)
    )
    return [key_view(key, user) for key, user in rows]


async def revoke_key(
    session: AsyncSession, key_id: int, *, actor: Principal, now: datetime
) -> list[str]:
    """Revoke a key and every session token issued for it; the digests of those tokens (for the
    token caches and the streams to forget). Revoking a revoked key changes nothing."""
    key = await session.get(SshKeyRow, key_id, with_for_update=True)
    if key is None:
        raise NotFound(f"no SSH key {key_id}")
    digests = list(
        (
            await session.scalars(
                select(TokenRow.digest)
                .join(SshSessionRow, SshSessionRow.token_digest == TokenRow.digest)
                .where(SshSessionRow.key_id == key_id, TokenRow.revoked_at.is_(None))
            )
        ).all()
    )
    if key.revoked_at is not None and not digests:
        return []
    if digests:
        await session.execute(
            update(TokenRow).where(TokenRow.digest.in_(digests)).values(revoked_at=now)
        )
    if key.revoked_at is None:
        key.revoked_at = now
        await append_event(
            session,
            kind="ssh_key.revoked",
            actor=actor,
            at=now,
            payload={"key_id": key.id, "user_id": key.user_id, "fingerprint": key.fingerprint},
        )
    return digests


# --- the gateway ---------------------------------------------------------------------------


async def _live_key(session: AsyncSession, fingerprint: str) -> tuple[SshKeyRow, UserRow]:
    row = (
        await session.execute(
            select(SshKeyRow, UserRow)
            .join(UserRow, UserRow.id == SshKeyRow.user_id)
            .where(SshKeyRow.fingerprint == fingerprint, SshKeyRow.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        raise NotFound("no such key")
    key, user = row
    if _refusal(user, key.read_only) is not None:
        # Told apart only in the backend's log: the gateway needs no more than "not let in".
        raise NotFound("no such key")
    return key, user


async def lookup(session: AsyncSession, fingerprint: str) -> SshGatewayKey:
    """The account a live key signs in as; 404 for an unknown or revoked key or an account that
    may not (any more)."""
    key, user = await _live_key(session, fingerprint)
    return SshGatewayKey(
        key_id=key.id, username=user.username, role=Role(user.role), read_only=key.read_only
    )


async def open_session(
    session: AsyncSession, fingerprint: str, *, peer: str | None, now: datetime, ttl: timedelta
) -> SshSessionGrant:
    """A session token for the key's account, tied to the key (revoked with it)."""
    try:
        key, user = await _live_key(session, fingerprint)
    except NotFound:
        raise NotAuthenticated("that key signs in as nobody") from None
    token, expires_at = await issue_token(session, user, now=now, ttl=ttl)
    session.add(
        SshSessionRow(token_digest=token_digest(token), key_id=key.id, issued_at=now, peer=peer)
    )
    key.last_used_at = now
    return SshSessionGrant(
        key_id=key.id,
        username=user.username,
        role=Role(user.role),
        read_only=key.read_only,
        access_token=token,
        expires_at=expires_at,
        lifetime_seconds=int(ttl.total_seconds()),
    )


async def live_keys(session: AsyncSession, key_ids: Sequence[int]) -> list[int]:
    """Those of `key_ids` that still let their account in."""
    if not key_ids:
        return []
    rows = await session.execute(
        select(SshKeyRow, UserRow)
        .join(UserRow, UserRow.id == SshKeyRow.user_id)
        .where(SshKeyRow.id.in_(set(key_ids)), SshKeyRow.revoked_at.is_(None))
    )
    return sorted(key.id for key, user in rows if _refusal(user, key.read_only) is None)
