"""Since I looked: which orders and alerts changed since this desk last looked at them.

Pure Python (no Textual). A row is *new* when the desk has not looked at the version it holds
now: an order or alert this desk never looked at, or one whose `version` went up since. The
server bumps `version` on every real change (a state, a rider, an acknowledgement), never for a
rider merely moving, so a row turns new when something a person would want to know happened.

Looking, in the console, is any of:
- the row is under the cursor of the list in focus, on the screen on top (arriving there by
  a key or `n`, or the row changing while the cursor rests on it: the desk is looking at it);
- `c` ("caught up") on a lane or the queue: every row there counts as looked.

Where it is kept: in a small JSON file per desk, that is per machine, server and account
(`<user state dir>/freshline/looked/`), written a few seconds after a change and on quit, so a
restart shows what changed while the console was closed. Not on the server: looking happens on
every cursor move (a write per keystroke would be a lot of traffic for a side note), it is about
what *this screen* showed (two desks signed in as one shared dispatch account must not clear
each other's marks), and it must work while the backend is unreachable.

The first time a desk starts (no file yet), everything on the board counts as looked: marking
five thousand rows "new" tells nobody anything. From then on, what changes is new until looked.
What has left the board (signed an hour ago, resolved) is forgotten when the book is saved.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path

from platformdirs import user_state_dir

log = logging.getLogger(__name__)

FORMAT = 1
"""The file's format: a file of another format is ignored (and rewritten)."""


class Kind(StrEnum):
    """What a desk looks at."""

    ORDER = "orders"
    ALERT = "alerts"


def looked_dir() -> Path:
    return Path(user_state_dir("freshline")) / "looked"


def desk_file(server: str, username: str, folder: Path | None = None) -> Path:
    """This desk's file for `username` on `server`: the server's address hashed (a name made
    only of safe characters; it may carry a port and a path), the account name kept readable."""
    digest = hashlib.sha256(server.rstrip("/").encode("utf-8")).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in username) or "_"
    return (folder or looked_dir()) / f"{digest}-{safe}.json"


class LookedBook:
    """The version of each order and alert this desk last looked at, and whether it is kept."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        """Where it is kept; None: this session only (tests, the wall)."""
        self.seen: dict[Kind, dict[int, int]] = {kind: {} for kind in Kind}
        self.started = False
        """Whether the book knows where the desk stands: read from its file, or set from the
        first snapshot (everything there looked)."""
        self.dirty = False
        """Changed since it was last saved."""
        self.revision = 0
        """Goes up with every change: screens redraw their marks when it moved."""
        if path is not None:
            self._read(path)

    # --- keeping it -------------------------------------------------------------------------

    def _read(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring the unreadable looked file %s: %r", path, exc)
            return
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            log.warning("ignoring the looked file %s: not a format this console reads", path)
            return
        for kind in Kind:
            rows = data.get(kind.value, {})
            if isinstance(rows, dict):
                self.seen[kind] = {
                    int(k): int(v)
                    for k, v in rows.items()
                    if str(k).isdigit() and isinstance(v, int) and not isinstance(v, bool)
                }
        self.started = True

    def save(self, keep: Mapping[Kind, Iterable[int]] | None = None) -> None:
        """Write the book (atomically: a crash leaves the old file or the new one). `keep`:
        the ids still on the desk, by kind; the others are forgotten first."""
        if keep is not None:
            for kind, ids in keep.items():
                held = set(ids)
                self.seen[kind] = {i: v for i, v in self.seen[kind].items() if i in held}
        self.dirty = False
        if self.path is None:
            return
        data: dict[str, object] = {"format": FORMAT}
        for kind in Kind:
            data[kind.value] = {str(i): v for i, v in sorted(self.seen[kind].items())}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, separators=(",", ":"))
            os.replace(temporary, self.path)
        except OSError as exc:  # a read-only home: marks last this session only
            log.warning("cannot keep what this desk looked at in %s: %r", self.path, exc)

    # --- looking ----------------------------------------------------------------------------

    def start(self, rows: Mapping[Kind, Mapping[int, int]]) -> None:
        """The first snapshot a desk without a file sees: all of it counts as looked."""
        if self.started:
            return
        self.started = True
        for kind, versions in rows.items():
            self.seen[kind].update(versions)
        self._changed()

    def is_new(self, kind: Kind, item_id: int, version: int) -> bool:
        if not self.started:
            return False
        seen = self.seen[kind].get(item_id)
        return seen is None or version > seen

    def look(self, kind: Kind, item_id: int, version: int) -> bool:
        """The desk looked at this version of the row; True if it was new."""
        if not self.is_new(kind, item_id, version):
            return False
        self.seen[kind][item_id] = version
        self._changed()
        return True

    def look_all(self, kind: Kind, rows: Iterable[tuple[int, int]]) -> int:
        """Every one of `rows` (id, version) looked at ("caught up"); how many were new."""
        count = 0
        for item_id, version in rows:
            if self.is_new(kind, item_id, version):
                self.seen[kind][item_id] = version
                count += 1
        if count:
            self._changed()
        return count

    def _changed(self) -> None:
        self.dirty = True
        self.revision += 1
