"""FastAPI dependencies: the runtime, the authenticated caller, and permission checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.auth.permissions import Permission, allowed
from backend.auth.principal import Principal
from backend.errors import Forbidden, NotAuthenticated
from backend.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # async: a plain function dependency would run in the thread pool, a hop per request.
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


# Declares the scheme in OpenAPI (the Authorize button of /docs); errors are ours, not its.
bearer_scheme = HTTPBearer(auto_error=False, description="The access_token of POST /auth/token.")


def bearer_token(request: Request) -> str:
    """The token from `Authorization: Bearer ...` (never from the query string)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send Authorization: Bearer <token>")
    return token.strip()


async def current_principal(
    request: Request,
    runtime: RuntimeDep,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
) -> Principal:
    return await runtime.tokens.principal(
        runtime.db,
        bearer_token(request),
        now=runtime.clock.now(),
        client_addr=request.client.host if request.client else None,
    )


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency that answers 403 unless the caller's role holds `permission`."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not allowed(str(principal.role), permission):
            raise Forbidden(f"role {principal.role} may not {permission}")
        return principal

    return check
