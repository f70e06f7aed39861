"""Reads the event log into a rewind tape (`console.store.rewind.Tape`), page by page.

Through the stream's long-poll fallback (`GET /events`, no wait): the same topics and scope as
the live feed, so the rewound board holds what this account's live board would have held. The
log is read from its beginning; where the server no longer replays that far back, from the
oldest point it still does (found by bisection), and the tape says where it starts. A tape left
further behind than that is read again from there: it never holds a hole.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from backend_client import FreshlineClient
from backend_client.models import Topic
from console.store.rewind import Tape

log = logging.getLogger(__name__)


async def oldest_replayable(client: FreshlineClient, topics: Sequence[Topic], head: int) -> int:
    """The smallest `since` the server still replays (0 when it holds the whole log)."""
    if not (await client.events(0, topics)).snapshot_required:
        return 0
    low, high = 0, head  # `since` = head always replays (nothing to send)
    while high - low > 1:
        middle = (low + high) // 2
        if (await client.events(middle, topics)).snapshot_required:
            low = middle
        else:
            high = middle
    return high


async def read_log(client: FreshlineClient, tape: Tape, topics: Sequence[Topic]) -> int:
    """Bring `tape` up to the log's head as it is now; returns how many events were taken."""
    head = (await client.events(None, topics)).last_seq
    since = tape.read_to
    if since is None:
        since = tape.first_seq = await oldest_replayable(client, topics, head)
    taken = 0
    while since < head:
        batch = await client.events(since, topics)
        if batch.snapshot_required:
            # Further behind than the server replays (or archived under us): the tape cannot
            # go on with a hole in it, so it starts again from what is still there.
            log.info("the log after %s is no longer replayed: reading it again", since)
            tape.reset()
            since = tape.first_seq = await oldest_replayable(client, topics, batch.last_seq)
            continue
        taken += tape.extend(batch.events)
        if batch.last_seq <= since:
            break  # nothing more to read (the head moved back: another database)
        since = batch.last_seq
    tape.read_to = since
    return taken
