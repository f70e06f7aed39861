"""Where the console keeps its bearer token.

In order: `FRESHLINE_TOKEN`, then the OS keyring (probed off the event loop, since backends
may block). Where no keyring backend exists (SSH sessions, servers), `KeyringUnavailable` says
so and the caller asks for the password each time, unless the user opted in to a token file,
which is written with mode 0600 and a logged warning. A plaintext token is never written
silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import keyring
import keyring.errors

from backend_client._errors import KeyringUnavailable

log = logging.getLogger(__name__)

SERVICE = "freshline"
ENV_TOKEN = "FRESHLINE_TOKEN"


class TokenStore:
    """Loads, saves and forgets the token for each server URL."""

    def __init__(
        self,
        *,
        token_file: Path | None = None,
        env: Mapping[str, str] | None = None,
        backend: ModuleType = keyring,
    ) -> None:
        self.token_file = token_file
        """An opted-in plaintext fallback (mode 0600); None means never write one."""
        self.env = os.environ if env is None else env
        self.keyring = backend

    async def load(self, server: str) -> str | None:
        """The token to use for `server`, or None when none is stored."""
        if self.env.get(ENV_TOKEN):
            return self.env[ENV_TOKEN]
        try:
            return await asyncio.to_thread(self.keyring.get_password, SERVICE, server)
        except keyring.errors.KeyringError as exc:
            if self.token_file is not None:
                return self._read_file().get(server)
            raise KeyringUnavailable(_no_keyring(exc)) from exc

    async def save(self, server: str, token: str) -> str:
        """Keep `token` for `server`; returns where it went ("keyring" or the file's path)."""
        try:
            await asyncio.to_thread(self.keyring.set_password, SERVICE, server, token)
            return "keyring"
        except keyring.errors.KeyringError as exc:
            if self.token_file is None:
                raise KeyringUnavailable(_no_keyring(exc)) from exc
        tokens = self._read_file()
        tokens[server] = token
        self._write_file(tokens)
        log.warning("no keyring: the token is kept in plaintext in %s (mode 0600)", self.token_file)
        return str(self.token_file)

    async def forget(self, server: str) -> None:
        """Remove the stored token for `server` from everywhere it may be."""
        # Not stored there, or no keyring at all: either way it is not there.
        with contextlib.suppress(keyring.errors.KeyringError):
            await asyncio.to_thread(self.keyring.delete_password, SERVICE, server)
        if self.token_file is not None and self.token_file.exists():
            tokens = self._read_file()
            if tokens.pop(server, None) is not None:
                self._write_file(tokens)

    def _read_file(self) -> dict[str, str]:
        assert self.token_file is not None
        try:
            data = json.loads(self.token_file.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _write_file(self, tokens: dict[str, str]) -> None:
        assert self.token_file is not None
        self.token_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # an existing file keeps its mode on open; tighten it
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(tokens, handle)


def _no_keyring(exc: Exception) -> str:
    return (
        f"no usable keyring here ({exc}); sign in each time, "
        "or opt in to a token file (plaintext, mode 0600)"
    )
