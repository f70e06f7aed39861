"""The token `freshline login` kept for a server, as the commands that run without the console
(`report`, `tail`, `act`, `handover`) read it: one place for the two ways it can be missing."""

from __future__ import annotations

from console.config import ConsoleConfig


class NotSignedIn(Exception):
    """No token kept for the server (or the keyring cannot be read); the message says which
    and what to run."""


async def kept_token(config: ConsoleConfig, server: str) -> str:
    """The token kept for `server`, or NotSignedIn."""
    from backend_client import KeyringUnavailable, TokenStore

    try:
        token = await TokenStore(token_file=config.token_path).load(server)
    except KeyringUnavailable as exc:
        raise NotSignedIn(f"cannot read the stored token: {exc}") from None
    if not token:
        raise NotSignedIn(
            f"not signed in to {server}: `freshline login --server {server} --user ...` first"
        )
    return token
