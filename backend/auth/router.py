"""Routes: sign in, who am I, sign out, and account administration."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import RuntimeDep, bearer_token, current_principal, require
from backend.auth.models import UserRow
from backend.auth.permissions import Permission, permissions_of
from backend.auth.principal import Principal
from backend.auth.service import (
    authenticate,
    create_user,
    issue_token,
    revoke_token,
    update_user,
    user_view,
)
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


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    responses={
        **TOO_LARGE,
        **errors(
            {
                401: "Wrong username or password.",
                422: "Missing form fields.",
                429: "Too many failed sign-ins; see Retry-After.",
            }
        ),
    },
)
async def sign_in(
    request: Request,
    runtime: RuntimeDep,
    username: Annotated[str, Form(max_length=40, pattern=NO_CONTROL_CHARS)],
    password: Annotated[str, Form(max_length=200)],
) -> TokenResponse:
    """Exchange a username and password (form fields) for an expiring bearer token."""
    now = runtime.clock.now()
    address = request.client.host if request.client else "-"
    # Counted before the slow check, so parallel guesses cannot all slip under the limit.
    runtime.login_limiter.attempt(username, address, now)
    # The password is checked (argon2, deliberately slow) holding no transaction: on SQLite a
    # write transaction would hold the only write lock for everyone meanwhile.
    user = await authenticate(runtime.db, runtime.passwords, username, password)
    runtime.login_limiter.succeeded(username, address)
    ttl = timedelta(minutes=runtime.settings.token_ttl_minutes)

    async def issue(session: AsyncSession) -> tuple[str, datetime]:
        return await issue_token(session, user, now=now, ttl=ttl)

    token, expires_at = await runtime.db.write(issue)
    return TokenResponse(access_token=token, role=Role(user.role), expires_at=expires_at)


@router.post("/auth/logout", status_code=204, responses=PROTECTED)
async def sign_out(
    request: Request,
    runtime: RuntimeDep,
    _principal: Annotated[Principal, Depends(current_principal)],
) -> None:
    """Revoke the token this request carries."""
    token, now = bearer_token(request), runtime.clock.now()

    async def revoke(session: AsyncSession) -> None:
        await revoke_token(session, token, now=now)

    await runtime.db.write(revoke)
    runtime.tokens.revoked(token)


@router.get("/auth/me", response_model=Me, responses=PROTECTED)
async def who_am_i(principal: Annotated[Principal, Depends(current_principal)]) -> Me:
    """The account behind the token, with its role and scope."""
    return Me(
        id=principal.user_id or 0,
        username=principal.username,
        role=Role(principal.role),
        warehouse_id=principal.warehouse_id,
        rider_id=principal.rider_id,
        channel=principal.channel,
        permissions=list(permissions_of(principal.role)),
    )


@router.get("/users", response_model=list[User], responses=PROTECTED)
async def list_users(
    runtime: RuntimeDep,
    _principal: Annotated[Principal, Depends(require(Permission.USERS_MANAGE))],
) -> list[User]:
    """Every account (admins only)."""
    async with runtime.db.read() as session:
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
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require(Permission.USERS_MANAGE))],
):
    """Create an account (admins only)."""
    now = runtime.clock.now()
    # Hashed before the write: the writer must not wait for argon2.
    password_hash = await runtime.passwords.hash_async(body.password)

    async def act(session: AsyncSession) -> tuple[int, User]:
        user = await create_user(
            session, body, password_hash=password_hash, actor=principal, now=now
        )
        return 201, user_view(user)

    return await run_once(request, runtime.db, principal, now, act)


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
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require(Permission.USERS_MANAGE))],
) -> User:
    """Disable or enable an account, or give it another role with that role's scope (admins
    only). Disabled, or with a new role or scope, its tokens stop working at once: on this
    instance and, through the bus, on the others."""
    now = runtime.clock.now()

    async def change(session: AsyncSession) -> tuple[User, bool]:
        user, revoked = await update_user(session, user_id, body, actor=principal, now=now)
        return user_view(user), revoked

    user, revoked = await runtime.db.write(change)
    if revoked:
        runtime.tokens.account_changed(user_id)
    return user
