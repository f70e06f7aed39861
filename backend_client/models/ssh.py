"""SSH keys: who a public key signs in as on `freshline ssh-serve`, and the gateway's exchange.

Admins register keys (`/ssh-keys`); the SSH gateway, holding its own secret, asks which account
a key belongs to, exchanges the fingerprint of a key it has seen proven for a session token,
and asks which of its open sessions' keys still count (docs/ssh.md, "Threat model").
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from backend_client.models.common import NO_CONTROL_CHARS, DbId, Request, Response, Role

Fingerprint = Annotated[str, StringConstraints(pattern=r"^SHA256:[A-Za-z0-9+/]{43}$")]
"""A key's SHA-256 fingerprint as OpenSSH prints it (`ssh-keygen -lf key.pub`)."""


class SshKeyCreate(Request):
    """A public key registered to an account (admins only)."""

    user_id: DbId = Field(description="The account the key signs in as.")
    public_key: Annotated[
        str, StringConstraints(min_length=20, max_length=16_000, pattern=NO_CONTROL_CHARS)
    ] = Field(
        description="One line of an OpenSSH public key file: `ssh-ed25519 AAAA... comment` "
        "(ed25519, ECDSA, or RSA of 2048 bits and more)."
    )
    label: (
        Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=NO_CONTROL_CHARS)]
        | None
    ) = Field(default=None, description="Whose or which machine's key, for people.")
    read_only: bool = Field(
        default=False,
        description="The wall display: the session shows `freshline wall` and the account must "
        "be a viewer.",
    )


class SshKey(Response):
    """A registered key; the key itself is never shown again, its fingerprint is."""

    id: int
    user_id: int
    username: str
    role: Role
    fingerprint: str
    key_type: str
    label: str | None = None
    read_only: bool
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = Field(
        default=None, description="When a session was last opened with it."
    )


class SshKeyLookup(Request):
    """The gateway asks who a key belongs to (`POST /ssh/gateway/lookup`)."""

    fingerprint: Fingerprint


class SshGatewayKey(Response):
    """A key the gateway may let in, and how."""

    key_id: int
    username: str
    role: Role
    read_only: bool


class SshSessionRequest(Request):
    """The gateway exchanges a key it saw proven for a session token."""

    fingerprint: Fingerprint
    peer: (
        Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_CONTROL_CHARS)]
        | None
    ) = Field(default=None, description="The SSH client's address, kept for the audit.")


class SshSessionGrant(SshGatewayKey):
    """A token for one SSH session; revoked with its key, and by the gateway when the session
    ends."""

    access_token: str
    expires_at: datetime
    lifetime_seconds: int = Field(
        description="How long the token lives from now (`ssh_session_minutes`), to count on the "
        "gateway's own clock: the demo's server runs on simulated time."
    )


class SshLiveCheck(Request):
    """The keys of the gateway's open sessions."""

    key_ids: list[DbId] = Field(max_length=10_000)


class SshLiveKeys(Response):
    """Those of the asked keys that still count (not revoked, the account active and allowed)."""

    live: list[int]
