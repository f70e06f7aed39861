"""Where proof content lives: content-addressed by SHA-256, on disk by default.

`ProofStorage` is all the rest of the backend asks of a store, so an object store (S3 and
alike: the hash as the object key) can take the disk's place. Content is only ever added, never
changed: a hash names one content for good, so two uploads of the same image share one file and
a reader never sees a file change under it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from platformdirs import user_data_dir
from sqlalchemy.engine import make_url

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
PROOF_DIR = "proofs"
"""The folder made beside a SQLite database (or in the user data folder) when no
`proof_dir` is set."""


class ProofStorage(Protocol):
    """A content-addressed store of proof content."""

    def put(self, content: bytes) -> str:
        """Keep `content` (at once and durably: after this returns, it survives a crash) and
        return its SHA-256 (hex). Putting the same content again changes nothing."""
        ...

    def get(self, sha256: str) -> bytes:
        """The content of this hash; `KeyError` if there is none."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def discard(self, sha256: str) -> None:
        """Delete the content of this hash (a customer erased); nothing if there is none."""
        ...


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class DiskStorage:
    """Files under `root`, at `ab/abcdef...` by hash (256 folders, none of them huge),
    written to a temporary file, flushed to disk, then renamed into place: a reader sees the
    whole file or none, a crash leaves no half file under a hash."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if not SHA256_HEX.match(sha256):
            # Never a path from anything but a hash: no `..`, no separator, no other file.
            raise KeyError(sha256)
        return self.root / sha256[:2] / sha256

    def put(self, content: bytes) -> str:
        sha = digest(content)
        target = self.path_of(sha)
        if target.exists():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".proof-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
        # The rename is durable once its folder is.
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        return sha

    def get(self, sha256: str) -> bytes:
        try:
            return self.path_of(sha256).read_bytes()
        except FileNotFoundError:
            raise KeyError(sha256) from None

    def exists(self, sha256: str) -> bool:
        try:
            return self.path_of(sha256).is_file()
        except KeyError:
            return False

    def discard(self, sha256: str) -> None:
        self.path_of(sha256).unlink(missing_ok=True)


def default_root(database_url: str) -> Path:
    """`proofs/` beside the SQLite database file; in the user data folder for PostgreSQL or
    an in-memory database (whose proofs then outlive it: a test sets `proof_dir`)."""
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        return Path(database).resolve().parent / PROOF_DIR
    return Path(user_data_dir("freshline", appauthor=False)) / PROOF_DIR


def storage_for(proof_dir: str | None, database_url: str) -> ProofStorage:
    """The store the settings name: the `proof_dir` folder, else the default beside the data."""
    return DiskStorage(Path(proof_dir) if proof_dir else default_root(database_url))
