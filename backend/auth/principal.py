"""Who is acting: the authenticated account, its role and scope, and where it calls from."""

from __future__ import annotations

from dataclasses import dataclass

from backend_client.models import Role


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller (or the system itself, for automatic steps)."""

    user_id: int | None
    username: str
    role: Role | str
    warehouse_id: str | None = None
    rider_id: int | None = None
    channel: str | None = None
    client_addr: str | None = None
    stages: frozenset[str] | None = None
    """The order states this account sees (`permissions.STAGES`, setting `stage_scope`);
    None: every state."""


SYSTEM_ROLE = "system"


def system_principal() -> Principal:
    """The backend acting on its own (stock checks, seeding)."""
    return Principal(user_id=None, username="system", role=SYSTEM_ROLE)
