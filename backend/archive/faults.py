"""A crash on purpose, for the test that kills `freshline archive` mid-move.

`FRESHLINE_ARCHIVE_FAULT=<point>` makes the process kill itself (SIGKILL: no cleanup, no
flush, as a power cut or the OOM killer would) when it reaches that point:

- `partial`: a day's Parquet files written under their temporary names, none renamed;
- `files`: a day's files in place, its ledger row not yet written;
- `ledger`: the ledger row written (`written`), the rows not yet deleted;
- `delete`: inside the transaction deleting the rows, before it commits;
- `archived`: after the first day's move is complete, before the next one starts.
"""

from __future__ import annotations

import os
import signal

ENV = "FRESHLINE_ARCHIVE_FAULT"
POINTS = ("partial", "files", "ledger", "delete", "archived")


def crash_at(point: str) -> None:
    """Die here if the environment asks for it."""
    if os.environ.get(ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
