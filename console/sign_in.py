"""What the sign-in form knows before anyone types: who signed in here last, and why it asks.

The last user is kept per server in a small file of the console's own (a name only: never a
password or a token), so the form opens on the password. The reason is said on the form: over
SSH there is no keyring, so the console cannot keep a session and asks every time; a session can
also end (expired or revoked) or never have been kept.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from platformdirs import user_state_dir

log = logging.getLogger(__name__)

NO_KEYRING = (
    "No keyring here (there is none over SSH), so Freshline cannot keep you signed in and asks "
    "for your password each time. token_file = true in the settings keeps a token in a file "
    "only you can read instead."
)
NO_SESSION = "No session kept for this server yet: sign in once and the keyring keeps it."
SESSION_ENDED = "Your session has ended (expired or signed out elsewhere): sign in again."
SIGNED_OUT = "Signed out."


def users_path() -> Path:
    return Path(user_state_dir("freshline")) / "last-users.json"


class KnownUsers:
    """The user who last signed in to each server from this machine."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or users_path()

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def last(self, server: str) -> str:
        return self._read().get(server.rstrip("/"), "")

    def remember(self, server: str, username: str) -> None:
        users = self._read()
        users[server.rstrip("/")] = username
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(users, indent=1), "utf-8")
        except OSError as exc:  # a read-only home: the form just opens empty next time
            log.info("cannot remember the user in %s: %r", self.path, exc)
