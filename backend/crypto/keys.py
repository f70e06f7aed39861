"""Where the field keys come from: `field_keys` (settings, e.g. `FRESHLINE_FIELD_KEYS`), else
the key file (`field_key_file`), else a development key file generated beside the SQLite
database (or in the user data directory), said so in the log. Never the database.

The key file and `field_keys` hold the same JSON:
`{"current": "k1a2b...", "keys": {"k1a2b...": "<base64 of 32 bytes>", ...}, "index_key": "..."}`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from sqlalchemy.engine import make_url

from backend.crypto.cipher import FieldCipher, b64, key_id_of, new_key, unb64
from backend.settings import Settings

log = logging.getLogger(__name__)

DEV_KEY_FILE = "field-keys.json"


@dataclass(frozen=True)
class KeySource:
    """Where this backend's keys are: a file (rotatable by `keys rotate`) or the settings."""

    path: Path | None
    """The key file; None when the keys come from `field_keys` (or live only in memory)."""
    text: str | None = None
    """The keys' JSON when they come from `field_keys` or an in-memory database."""

    def load(self) -> FieldCipher:
        if self.path is None:
            assert self.text is not None
            return parse_ring(self.text, "field_keys", reload=None)
        path = self.path
        return parse_ring(path.read_text(encoding="utf-8"), str(path), reload=self._reload)

    def _reload(self) -> FieldCipher | None:
        try:
            return self.load()
        except (OSError, ValueError):
            log.exception("the key file could not be read again")
            return None


def parse_ring(text: str, where: str, *, reload: Any) -> FieldCipher:
    try:
        data = json.loads(text)
        keys = {str(k): unb64(v, f"key {k}") for k, v in dict(data["keys"]).items()}
        return FieldCipher(
            keys,
            str(data["current"]),
            unb64(data["index_key"], "index_key"),
            reload=reload,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"field keys in {where}: {exc}") from exc


def ring_text(keys: dict[str, bytes], current: str, index_key: bytes) -> str:
    data = {
        "current": current,
        "keys": {kid: b64(key) for kid, key in keys.items()},
        "index_key": b64(index_key),
    }
    return json.dumps(data, indent=2) + "\n"


def new_ring_text() -> str:
    key = new_key()
    return ring_text({key_id_of(key): key}, key_id_of(key), new_key())


def write_private(path: Path, text: str, *, replace: bool = True) -> bool:
    """Write `path` at once (a reader sees the old file or the new one), mode 0600; with
    `replace=False` only if there is none yet (two backends starting together agree on the
    first one's keys). Whether this call wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".keys-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


def key_source(settings: Settings) -> KeySource:
    """The keys' source for these settings, generating a development key file if none is set."""
    if settings.field_keys is not None:
        return KeySource(None, settings.field_keys.get_secret_value())
    if settings.field_key_file:
        path = Path(settings.field_key_file)
        if not path.exists():
            raise ValueError(f"field_key_file {path} does not exist")
        return KeySource(path)
    url = make_url(settings.database_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database in ("", ":memory:"):
        # The data dies with the process: so may its key.
        log.warning("no field key configured: a key in memory only (in-memory database)")
        return KeySource(None, new_ring_text())
    if url.get_backend_name() == "sqlite":
        folder = Path(database).resolve().parent
    else:
        folder = Path(user_data_dir("freshline", appauthor=False))
    path = folder / DEV_KEY_FILE
    if not path.exists() and write_private(path, new_ring_text(), replace=False):
        log.warning(
            "no field key configured: generated a development key file %s; production sets "
            "field_key_file or FRESHLINE_FIELD_KEYS (docs/configuration.md)",
            path,
        )
    return KeySource(path)


def rotate_file(path: Path) -> tuple[str, str]:
    """Add a new key to the key file and make it current (the old ones stay, for reading);
    returns (old current, new current)."""
    ring = parse_ring(path.read_text(encoding="utf-8"), str(path), reload=None)
    key = new_key()
    kid = key_id_of(key)
    write_private(path, ring_text({**ring.keys, kid: key}, kid, ring.index_key))
    return ring.current, kid


def retire_key(path: Path, kid: str) -> None:
    """Drop a key that is no longer current from the key file."""
    ring = parse_ring(path.read_text(encoding="utf-8"), str(path), reload=None)
    if kid == ring.current:
        raise ValueError(f"{kid} is the current key")
    if kid not in ring.keys:
        raise ValueError(f"no key {kid} in {path}")
    keys = {k: v for k, v in ring.keys.items() if k != kid}
    write_private(path, ring_text(keys, ring.current, ring.index_key))
