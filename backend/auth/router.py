"""Routes: sign in, who am I, sign out, and account administration."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from backend.auth.deps import Authenticated, CanManageUsers, bearer_token
from backend.auth.login_limiter import LoginLimiter
from backend.auth.models import UserRow
from backend.auth.passwords import Passwords
from backend.auth.permissions import claim_limit_cents, permissions_of
from backend.auth.service import (
    authenticate,
    create_user,
    issue_token,
    revoke_token,
    update_user,
    user_view,
)
from backend.auth.tokens import TokenCache
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.errors import NotAuthenticated
from backend.idempotency import IDEMPOTENT, run_once
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend_client.models import (
    NO_CONTROL_CHARS,
    Me,
    Role,
    TokenResponse,
    User,
    UserCreate,
    UserUpdate,
)

router = APIRouter(tags=["auth"])


async def password_hasher(connection: HTTPConnection) -> Passwords:
    """The password hasher (argon2, off the event loop)."""
    return connection.app.state.runtime.passwords


async def sign_in_limiter(connection: HTTPConnection) -> LoginLimiter:
    """Failed sign-ins counted by account, address and in all, shared by every instance."""
    return connection.app.state.runtime.login_limiter


async def token_cache(connection: HTTPConnection) -> TokenCache:
    """The tokens the database vouched for lately, forgotten on sign-out or account changes."""
    return connection.app.state.runtime.tokens


PasswordsDep = Annotated[Passwords, Depends(password_hasher)]
LoginLimiterDep = Annotated[LoginLimiter, Depends(sign_in_limiter)]
TokensDep = Annotated[TokenCache, Depends(token_cache)]


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    responses={
        **TOO_LARGE,
        **errors(
            {
                401: "Wrong username or password.",
                422: "Missing form fields.",
                429: "Too many failed sign-ins (even with the right password); see Retry-After.",
            }
        ),
    },
)
async def sign_in(
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
    limiter: LoginLimiterDep,
    username: Annotated[str, Form(min_length=1, max_length=40, pattern=NO_CONTROL_CHARS)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
) -> TokenResponse:
    """Exchange a username and password (form fields) for an expiring bearer token."""
    now = clock.now()
    address = request.client.host if request.client else "-"
    # Counted before the slow check, so parallel guesses cannot all slip under the limit; a
    # lockout refuses the right password too.
    known = await limiter.admit(username, address)
    # The password is checked (argon2, deliberately slow) holding no transaction: on SQLite a
    # write transaction would hold the only write lock for everyone meanwhile.
    try:
        user = await authenticate(db, passwords, username, password)
    except NotAuthenticated:
        await limiter.failed(username, address)
        raise
    await limiter.succeeded(username, address, known=known)
    ttl = timedelta(minutes=settings.token_ttl_minutes)

    async def issue(session: AsyncSession) -> tuple[str, datetime]:
        return await issue_token(session, user, now=now, ttl=ttl)

    token, expires_at = await db.write(issue)
    return TokenResponse(access_token=token, role=Role(user.role), expires_at=expires_at)


@router.post("/auth/logout", status_code=204, responses=PROTECTED)
async def sign_out(
    request: Request,
    db: DbDep,
    clock: ClockDep,
    tokens: TokensDep,
    _principal: Authenticated,
) -> None:
    """Revoke the token this request carries; its open streams and long polls end at once, on
    every instance (through the bus)."""
    token, now = bearer_token(request), clock.now()

    async def revoke(session: AsyncSession) -> None:
        await revoke_token(session, token, now=now)

    tokens.signing_out(token)
    await db.write(revoke)
    tokens.revoked(token)


@router.get("/auth/me", response_model=Me, responses=PROTECTED)
async def who_am_i(principal: Authenticated) -> Me:
    """The account behind the token, with its role and scope."""
    return Me(
        id=principal.user_id or 0,
        username=principal.username,
        role=Role(principal.role),
        warehouse_id=principal.warehouse_id,
        rider_id=principal.rider_id,
        channel=principal.channel,
        permissions=list(permissions_of(principal.role)),
        claim_limit_cents=claim_limit_cents(principal.role),
        stages=None if principal.stages is None else sorted(principal.stages),
    )


@router.get("/users", response_model=list[User], responses=PROTECTED)
async def list_users(
    db: DbDep,
    _principal: CanManageUsers,
) -> list[User]:
    """Every account (admins only)."""
    async with db.read() as session:
        users = (await session.scalars(select(UserRow).order_by(UserRow.id))).all()
    return [user_view(u) for u in users]


@router.post(
    "/users",
    response_model=User,
    status_code=201,
    responses={**PROTECTED, **TOO_LARGE, **errors({409: "The username is taken."})},
    openapi_extra=IDEMPOTENT,
)
async def add_user(
    body: UserCreate,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    passwords: PasswordsDep,
    principal: CanManageUsers,
):
    """Create an account (admins only)."""
    now = clock.now()
    # Hashed before the write: the writer must not wait for argon2.
    password_hash = await passwords.hash_async(body.password)

    async def act(session: AsyncSession) -> tuple[int, User]:
        user = await create_user(
            session, body, password_hash=password_hash, actor=principal, now=now
        )
        return 201, user_view(user)

    return await run_once(request, db, principal, now, act)


@router.patch(
    "/users/{user_id}",
    response_model=User,
    responses={
        **PROTECTED,
        **TOO_LARGE,
        **errors({404: "No such user.", 409: "You cannot disable your own account."}),
    },
)
async def change_user(
    user_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: UserUpdate,
    db: DbDep,
    clock: ClockDep,
    tokens: TokensDep,
    principal: CanManageUsers,
) -> User:
    """Disable or enable an account, or give it another role with that role's scope (admins
    only). Disabled, or with a new role or scope, its tokens stop working at once: on this
    instance and, through the bus, on the others."""
    now = clock.now()

    async def change(session: AsyncSession) -> tuple[User, bool]:
        user, revoked = await update_user(session, user_id, body, actor=principal, now=now)
        return user_view(user), revoked

    user, revoked = await db.write(change)
    if revoked:
        tokens.account_changed(user_id)
    return user
