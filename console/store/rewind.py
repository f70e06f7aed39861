"""Rewind: the store as it stood at any moment of the event log, rebuilt from the log.

Pure Python (no Textual). A `Tape` holds the events of the log in `seq` order and a working
store that has applied them all; every `every` events it keeps a checkpoint (the working store,
frozen: pickled and compressed). The picture at a moment is the nearest checkpoint before it,
thawed, plus the few events after it: scrubbing a day costs one thaw and at most `every`
events, not a replay from the start (bench/rewind.py measures both, and chose
`CHECKPOINT_EVERY`).

What the log does not hold comes from the `base` store: riders' names and warehouses, the map's
zones, the account's stages. Rider positions are not in the log (docs/stream.md): a rewound
rider has no fix.
"""

from __future__ import annotations

import bisect
import copy
import pickle
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from pydantic import TypeAdapter

from backend_client.models import Event
from console.alert_book import AlertBook
from console.store.cards import aware
from console.store.clocks import FrozenClock
from console.store.picture import Store

CHECKPOINT_EVERY = 2000
"""Events between checkpoints (bench/rewind.py): a rewind thaws one checkpoint and applies up to
this many events, tens of milliseconds of CPU on a peak day; closer checkpoints cost memory."""


def fork(store: Store) -> Store:
    """A store of its own with the same picture: what the store changes in place is copied
    (lanes, riders, sets), what it only ever replaces is shared (order cards, alerts)."""
    twin = copy.copy(store)
    twin.orders = dict(store.orders)
    twin.riders = {rider_id: replace(rider) for rider_id, rider in store.riders.items()}
    twin.rider_orders = {rider_id: set(ids) for rider_id, ids in store.rider_orders.items()}
    twin.lanes = {lane: list(keys) for lane, keys in store.lanes.items()}
    twin.stale = set(store.stale)
    twin.alerts = AlertBook()
    twin.alerts.alerts = dict(store.alerts.alerts)
    twin.clock = FrozenClock(store.clock.now())
    twin.drain()  # its own record of changes, not the original's
    return twin


def freeze(store: Store) -> bytes:
    """A checkpoint: the store pickled and compressed. A checkpoint holding the store's objects
    would keep every version of every card it ever saw alive (as much memory as the events as
    objects); frozen, a peak store is a megabyte or so. Only ever thawed from this process's
    own memory, never from outside."""
    return zlib.compress(pickle.dumps(store, pickle.HIGHEST_PROTOCOL), 1)


def thaw(checkpoint: bytes) -> Store:
    """A store of its own from a checkpoint."""
    store = pickle.loads(zlib.decompress(checkpoint))  # our own bytes (see freeze)
    assert isinstance(store, Store)
    return store


def blank_base(live: Store) -> Store:
    """What a rewind starts from: `live`'s riders (who they are, not where or how they were),
    its map and its stages; no orders, no alerts, nothing applied."""
    base = Store(FrozenClock(datetime.fromtimestamp(0, UTC)), signed_window=live.signed_window)
    base.warn_before = live.warn_before
    base.stages = live.stages
    base.zones, base.warehouses = live.zones, live.warehouses
    base.riders = {
        rider_id: replace(rider, status="offline", lat=None, lng=None, fix_at=None, speed_kmh=None)
        for rider_id, rider in live.riders.items()
    }
    base.kpi = live.kpi
    return base


class Tape:
    """The event log as far as it was read, and the store at any moment of it.

    Events are kept by the block of `every` (the events between two checkpoints), each block
    as compressed JSON once full: a day of events takes a tenth of the memory it would as
    objects, and a rebuild decodes one block."""

    def __init__(self, base: Store, *, every: int = CHECKPOINT_EVERY) -> None:
        if every < 1:
            raise ValueError("checkpoints need at least one event between them")
        self.every = every
        self.base = fork(base)
        self.reset()

    def reset(self, base: Store | None = None) -> None:
        """Empty, from `base` (None: the one it started from), as if nothing was read: for a
        log that can no longer be read on from where the tape stopped."""
        if base is not None:
            self.base = fork(base)
        self.checkpoints: list[bytes] = [freeze(self.base)]
        """The store after 0, `every`, 2 x `every`, ... events, frozen (`freeze`)."""
        self.blocks: list[bytes] = []
        """Block i: events i x `every` to (i + 1) x `every`, as compressed JSON."""
        self.pending: list[Event] = []
        """The events after the last full block."""
        self.seqs = array("q")
        self.reach = array("d")
        """For each event, the latest `at` (a timestamp) up to it: the log is in `seq` order,
        and on PostgreSQL a later `seq` can carry a slightly earlier time."""
        self._working = fork(self.base)
        self._clock = FrozenClock(datetime.fromtimestamp(0, UTC))
        self._working.clock = self._clock
        self.first_seq: int | None = None
        """Where the tape starts: the log up to it was not read (beyond the replay window)."""
        self.read_to: int | None = None
        """The log's `seq` read up to (events this account may not see included)."""

    def footprint(self) -> int:
        """Bytes the tape holds beside its working store: blocks, checkpoints and the index."""
        index = self.seqs.itemsize * len(self.seqs) + self.reach.itemsize * len(self.reach)
        return sum(map(len, self.blocks)) + sum(map(len, self.checkpoints)) + index

    def __len__(self) -> int:
        return len(self.seqs)

    @property
    def span(self) -> tuple[datetime, datetime] | None:
        """The first and last moments the tape holds, or None while it is empty."""
        if not self.seqs:
            return None
        return stamp(self.reach[0]), stamp(self.reach[-1])

    def extend(self, events: Iterable[Event]) -> int:
        """Append events in `seq` order (those at or below the last held are skipped); returns
        how many were taken."""
        taken = 0
        for event in events:
            if self.seqs and event.seq <= self.seqs[-1]:
                continue
            at = aware(event.at).timestamp()
            self._clock.anchor(stamp(at))
            self._working.apply(event)
            self.pending.append(event)
            self.seqs.append(event.seq)
            self.reach.append(max(self.reach[-1], at) if self.reach else at)
            taken += 1
            if len(self.pending) == self.every:
                self.blocks.append(zlib.compress(EVENTS.dump_json(self.pending), 1))
                self.pending = []
                # As a live console does on every redraw: orders signed longer ago than the
                # window leave, and the record of changes starts again (it would grow all day).
                self._working.drain()
                self.checkpoints.append(freeze(self._working))
        return taken

    def at(self, moment: datetime) -> Store:
        """The store as it stood at `moment`: every event up to then applied, none after."""
        moment = aware(moment)
        return self._rebuilt(bisect.bisect_right(self.reach, moment.timestamp()), moment)

    def at_seq(self, seq: int) -> Store:
        """The store just after the event `seq` (or the last one before it) was applied."""
        count = bisect.bisect_right(self.seqs, seq)
        return self._rebuilt(count, stamp(self.reach[count - 1] if count else 0.0))

    def seq_at(self, moment: datetime) -> int | None:
        """The last event's `seq` at `moment`, None before the first."""
        count = bisect.bisect_right(self.reach, aware(moment).timestamp())
        return self.seqs[count - 1] if count else None

    def replayed(self, moment: datetime) -> Store:
        """The same picture as `at`, replayed from the first event without checkpoints (what
        the benchmark measures `at` against)."""
        moment = aware(moment)
        count = bisect.bisect_right(self.reach, moment.timestamp())
        store = thaw(self.checkpoints[0])
        for block in range(len(self.checkpoints)):
            if block * self.every >= count:
                break
            _play(store, self._block(block)[: count - block * self.every], moment)
        return _settled(store, moment)

    def _rebuilt(self, count: int, moment: datetime) -> Store:
        block = min(count // self.every, len(self.checkpoints) - 1)
        store = thaw(self.checkpoints[block])
        _play(store, self._block(block)[: count - block * self.every], moment)
        return _settled(store, moment)

    def _block(self, index: int) -> list[Event]:
        if index >= len(self.blocks):
            return self.pending
        return EVENTS.validate_json(zlib.decompress(self.blocks[index]))


EVENTS: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def stamp(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _play(store: Store, events: list[Event], moment: datetime) -> None:
    clock = store.clock = FrozenClock(moment)
    for event in events:
        clock.anchor(aware(event.at))
        store.apply(event)


def _settled(store: Store, moment: datetime) -> Store:
    store.clock = FrozenClock(moment)
    store.drain()  # the signed lane as it was then; whoever shows it draws it all
    return store
