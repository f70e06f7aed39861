"""The SSH server's host key: generated once (ed25519), kept owner-only, read on every start.

Clients pin it on first connect (OpenSSH's known_hosts); a new key each start would teach
users to ignore the warning that protects them from a man in the middle.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import asyncssh

log = logging.getLogger(__name__)


class HostKeyUnsafe(Exception):
    """The host key file can be read by others than its owner."""


def load_or_create(path: Path) -> asyncssh.SSHKey:
    """The key at `path`, made (0600, never overwritten) when there is none."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = asyncssh.generate_private_key("ssh-ed25519", comment="freshline ssh-serve")
        data = key.export_private_key("openssh")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another start made it meanwhile: use theirs
            return load_or_create(path)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        log.info("made a new host key %s at %s", key.get_fingerprint("sha256"), path)
        return key
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise HostKeyUnsafe(
            f"the host key {path} can be read by others (mode {stat.S_IMODE(mode):o}): "
            f"chmod 600 it, or remove it to make a new one"
        )
    return asyncssh.read_private_key(path)
