"""Health, sign-in and accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
)

from backend_client.models.common import ByValue, Channel, Code, DbId, Request, Response, Role


class Health(Response):
    status: Literal["ok"] = "ok"
    time: datetime = Field(description="The server's clock; simulated time in the demo.")
    clock_speed: float = Field(
        default=1.0, description="Simulated seconds per real second (1 outside the demo)."
    )
    time_zone: str | None = Field(
        default=None,
        description="The business time zone (IANA name, e.g. Asia/Shanghai): clients show "
        "times in it and cut days at its midnight. Absent from servers before it was served.",
    )


class TokenResponse(Response):
    """Answer of `POST /api/v1/auth/token`."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    role: Role
    expires_at: datetime


class Me(Response):
    """The account behind a token, with its scope."""

    id: int
    username: str
    role: Role
    warehouse_id: str | None = None
    rider_id: int | None = None
    channel: Channel | None = None
    permissions: list[str] = Field(
        default_factory=list,
        description="What the role may do (`orders:transition`, `alerts:handle`, ...), from the "
        "server's permission table; the scope above narrows it further. Plain strings, so a "
        "permission a newer server adds does not break an older console.",
    )
    claim_limit_cents: int | None = Field(
        default=0,
        description="The largest claim this account may approve, in cents: 0 none, null any "
        "amount. A bigger claim goes to a role with a higher limit.",
    )
    stages: list[str] | None = Field(
        default=None,
        description="The order states this account sees (docs/permissions.md, views scoped by "
        "stage): an order that moves to another leaves its view. Null: every state.",
    )


class UserCreate(Request):
    """A new account (admins only)."""

    username: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{1,39}$")]
    password: Annotated[str, StringConstraints(min_length=8, max_length=200)]
    role: Annotated[Role, ByValue]
    warehouse_id: Code | None = Field(default=None, description="Required for merchants.")
    rider_id: DbId | None = Field(default=None, description="Required for riders.")
    channel: Annotated[Channel, ByValue] | None = Field(
        default=None, description="Required for channels."
    )


class UserUpdate(Request):
    """A change to an account (admins only): fields left out stay as they are. A new role takes
    the scope that role needs (and drops the others); disabling or a new role ends the
    account's tokens at once."""

    active: bool | None = None
    role: Annotated[Role, ByValue] | None = None
    warehouse_id: Code | None = Field(default=None, description="With role merchant.")
    rider_id: DbId | None = Field(default=None, description="With role rider.")
    channel: Annotated[Channel, ByValue] | None = Field(
        default=None, description="With role channel."
    )


class User(Response):
    id: int
    username: str
    role: Role
    warehouse_id: str | None
    rider_id: int | None
    channel: Channel | None
    active: bool
