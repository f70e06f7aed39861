"""Accounts and tokens: sign in, resolve a bearer token, sign out, create users."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import TokenRow, UserRow
from backend.auth.passwords import Passwords
from backend.auth.principal import Principal
from backend.db import Database
from backend.errors import Conflict, NotAuthenticated, Unprocessable
from backend.inventory.models import WarehouseRow
from backend.realtime.outbox import append_event
from backend.riders.models import RiderRow
from backend_client.models import Role, User, UserCreate


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
    session: AsyncSession, token: str, *, now: datetime, client_addr: str | None
) -> Principal:
    """The caller behind a bearer token; NotAuthenticated if unknown, expired or revoked."""
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
    return principal_of(user, client_addr)


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
    return User(
        id=user.id,
        username=user.username,
        role=Role(user.role),
        warehouse_id=user.warehouse_id,
        rider_id=user.rider_id,
        channel=user.channel,
        active=user.active,
    )


async def create_user(
    session: AsyncSession,
    passwords: Passwords,
    request: UserCreate,
    *,
    actor: Principal,
    now: datetime,
) -> UserRow:
    """A new account; its scope must fit its role and point at things that exist."""
    needs = {Role.MERCHANT: "warehouse_id", Role.RIDER: "rider_id", Role.CHANNEL: "channel"}
    for role, field in needs.items():
        given = getattr(request, field) is not None
        if given != (request.role == role):
            raise Unprocessable(f"{field} is required for role {role} and only for it")
    if request.warehouse_id and await session.get(WarehouseRow, request.warehouse_id) is None:
        raise Unprocessable(f"no warehouse {request.warehouse_id}")
    if request.rider_id and await session.get(RiderRow, request.rider_id) is None:
        raise Unprocessable(f"no rider {request.rider_id}")
    if await session.scalar(select(UserRow.id).where(UserRow.username == request.username)):
        raise Conflict(f"user {request.username} already exists")
    user = UserRow(
        username=request.username,
        password_hash=await passwords.hash_async(request.password),
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
