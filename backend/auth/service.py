"""Accounts and tokens: sign in, resolve a bearer token, sign out, create users."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import TokenRow, UserRow
from backend.auth.passwords import Passwords
from backend.auth.principal import Principal
from backend.db import Database
from backend.errors import Conflict, NotAuthenticated, NotFound, Unprocessable
from backend.inventory.models import WarehouseRow
from backend.realtime.outbox import append_event
from backend.riders.models import RiderRow
from backend_client.models import Role, User, UserCreate, UserUpdate


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def authenticate(db: Database, passwords: Passwords, username: str, password: str) -> UserRow:
    """The active account with this name and password, or NotAuthenticated.

    The slow password check runs after the session is closed: it holds no connection and no
    transaction, so sign-ins never stall other requests.
    """
    async with db.read() as session:
        user = await session.scalar(select(UserRow).where(UserRow.username == username))
    ok = await passwords.verify(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        raise NotAuthenticated("wrong username or password")
    return user


async def issue_token(
    session: AsyncSession, user: UserRow, *, now: datetime, ttl: timedelta
) -> tuple[str, datetime]:
    """A new bearer token for `user`; only its digest is stored."""
    token = secrets.token_urlsafe(32)
    expires_at = now + ttl
    session.add(
        TokenRow(digest=token_digest(token), user_id=user.id, issued_at=now, expires_at=expires_at)
    )
    return token, expires_at


async def principal_for_token(
    session: AsyncSession, token: str, *, now: datetime
) -> tuple[Principal, datetime]:
    """The caller behind a bearer token (with no address yet) and when the token expires;
    NotAuthenticated if unknown, expired or revoked. `auth.tokens.TokenCache` remembers it."""
    row = (
        await session.execute(
            select(TokenRow, UserRow)
            .join(UserRow, UserRow.id == TokenRow.user_id)
            .where(TokenRow.digest == token_digest(token))
        )
    ).first()
    if row is None:
        raise NotAuthenticated("unknown token")
    token_row, user = row
    if token_row.revoked_at is not None:
        raise NotAuthenticated("token was revoked; sign in again")
    if token_row.expires_at <= now:
        raise NotAuthenticated("token expired; sign in again")
    if not user.active:
        raise NotAuthenticated("account is disabled")
    return principal_of(user, None), token_row.expires_at


def principal_of(user: UserRow, client_addr: str | None) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        warehouse_id=user.warehouse_id,
        rider_id=user.rider_id,
        channel=user.channel,
        client_addr=client_addr,
    )


async def revoke_token(session: AsyncSession, token: str, *, now: datetime) -> None:
    row = await session.get(TokenRow, token_digest(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now


def user_view(user: UserRow) -> User:
    """The account as the API shows it (`from_attributes`: the row's columns by name, faster than
    copying them by hand, `bench/row_views.py`)."""
    return User.model_validate(user, from_attributes=True)


SCOPE_OF_ROLE = {Role.MERCHANT: "warehouse_id", Role.RIDER: "rider_id", Role.CHANNEL: "channel"}
"""The scope field each scoped role needs, and only that role."""


async def _check_scope(session: AsyncSession, role: Role, scope: UserCreate | UserUpdate) -> None:
    """The scope fits the role and points at something that exists."""
    for scoped_role, field in SCOPE_OF_ROLE.items():
        given = getattr(scope, field) is not None
        if given != (role == scoped_role):
            raise Unprocessable(f"{field} is required for role {scoped_role} and only for it")
    if scope.warehouse_id and await session.get(WarehouseRow, scope.warehouse_id) is None:
        raise Unprocessable(f"no warehouse {scope.warehouse_id}")
    if scope.rider_id and await session.get(RiderRow, scope.rider_id) is None:
        raise Unprocessable(f"no rider {scope.rider_id}")


async def update_user(
    session: AsyncSession, user_id: int, request: UserUpdate, *, actor: Principal, now: datetime
) -> tuple[UserRow, bool]:
    """Enable or disable an account, or give it a new role and scope; returns the account and
    whether its tokens were revoked (disabled, or its role or scope changed)."""
    user = await session.get(UserRow, user_id, with_for_update=True)
    if user is None:
        raise NotFound(f"no user {user_id}")
    scoped = any(getattr(request, f) is not None for f in SCOPE_OF_ROLE.values())
    if scoped and request.role is None:
        raise Unprocessable("give the role along with its scope")
    before = (user.active, user.role, user.warehouse_id, user.rider_id, user.channel)
    if request.role is not None:
        await _check_scope(session, request.role, request)
        user.role = request.role
        user.warehouse_id, user.rider_id = request.warehouse_id, request.rider_id
        user.channel = request.channel
    if request.active is not None:
        if not request.active and user.id == actor.user_id:
            raise Conflict("you cannot disable your own account")
        user.active = request.active
    after = (user.active, user.role, user.warehouse_id, user.rider_id, user.channel)
    if after == before:
        return user, False
    await session.flush()
    revoke = not user.active or after[1:] != before[1:]
    if revoke:
        await session.execute(
            update(TokenRow)
            .where(TokenRow.user_id == user.id, TokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    await append_event(
        session,
        kind="user.updated",
        actor=actor,
        at=now,
        payload={
            "user_id": user.id,
            "username": user.username,
            "role": user.role,
            "active": user.active,
            "tokens_revoked": revoke,
        },
    )
    return user, revoke


async def create_user(
    session: AsyncSession,
    request: UserCreate,
    *,
    password_hash: str,
    actor: Principal,
    now: datetime,
) -> UserRow:
    """A new account; its scope must fit its role and point at things that exist. The password
    is hashed by the caller before the write (argon2 is slow on purpose)."""
    await _check_scope(session, request.role, request)
    if await session.scalar(select(UserRow.id).where(UserRow.username == request.username)):
        raise Conflict(f"user {request.username} already exists")
    user = UserRow(
        username=request.username,
        password_hash=password_hash,
        role=request.role,
        warehouse_id=request.warehouse_id,
        rider_id=request.rider_id,
        channel=request.channel,
        created_at=now,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"user {request.username} already exists") from exc
    await append_event(
        session,
        kind="user.created",
        actor=actor,
        at=now,
        payload={"user_id": user.id, "username": user.username, "role": user.role},
    )
    return user
