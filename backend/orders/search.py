"""Order search: exact keys in SQL over every order, fuzzy similarity in memory over live ones.

A search `q` is answered in two parts, then ranked together (docs/api.md, "Search"):

- exact, in SQL, over every order the caller may see: the order id, the channel's order id,
  the customer's name containing `q`, and the phone's last digits (`phone_clause`, four digits
  at most where the caller sees phones masked);
- fuzzy, with RapidFuzz, over the orders in play (open ones, and final ones changed within
  `KEEP`): the customer's name, the address and the rider's name, by edit-distance similarity,
  so the typo "Audt Two" finds "Audit Two".

The fuzzy part keeps the searchable text of the live orders in memory (`SearchCorpus`), read
once and then topped up on each search with the orders the event log names since the last one
(`seq`, indexed), so a search compares each distinct name and street once (about 4 ms of
RapidFuzz at 40,000 orders, `bench/search.py`) instead of reading them all. Names never change
once an order exists; state, rider and scope facts do, and are re-read with the row. The
corpus only proposes ids: the page is read from the database with the caller's scope and
filters applied again, so a stale entry can miss a result for one search but never show what
the caller may not see.

One implementation on SQLite and PostgreSQL: pg_trgm ranks the same on PostgreSQL only, and
leaves out CJK names under the C locale; RapidFuzz compares characters, whatever the script.
Phones stay out of memory: the phone clause is SQL, in one function, so a blind index can
take its place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.fields import FieldPolicy
from backend.auth.principal import Principal
from backend.crypto.cipher import active
from backend.orders.models import OrderRow
from backend.orders.scope import order_in_scope
from backend.realtime.models import EventRow
from backend.riders.models import RiderRow
from backend_client.models import OrderState

KEEP = timedelta(days=1)
"""A final order stays in the fuzzy corpus this long after its last change (a day's signed)."""
SWEEP_EVERY = timedelta(minutes=1)
MAX_CANDIDATES = 500
"""At most this many ids from each part go to the database for the page."""

EXACT = 100.0
NAME_CONTAINS = 95.0
# Fuzzy scores are the similarity (0-100) times a weight: a typo in the name ranks above an
# address or a rider that merely resembles the query.
NAME_WEIGHT = 0.9
NAME_PART_WEIGHT = 0.85
ADDRESS_WEIGHT = 0.65
RIDER_WEIGHT = 0.65
WHOLE_CUTOFF = 75.0
"""Least similarity of the whole text (edit distance, `fuzz.ratio`) that counts as a match;
lowered for a short query so that one wrong character still counts (`whole_cutoff`)."""
PART_CUTOFF = 85.0
"""Least similarity of the best-matching part of a longer text (`fuzz.partial_ratio`)."""
ADDRESS_MIN_LENGTH = 4
"""Shorter queries resemble some part of almost every address."""


def phone_clause(principal: Principal, text: str) -> ColumnElement[bool] | None:
    """Orders whose customer's phone ends in `text`; None when `text` is not digits or longer
    than the caller's masked phones show (the field policy: guessing a number digit by digit
    must not recover it). The one place search touches phones."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = FieldPolicy.of(principal).phone_search_digits
    if digits is not None and len(text) > digits:
        return None
    # The phone is encrypted: its suffixes are found by the order's blind index.
    return _tagged("phone-suffix", text)


def _tagged(kind: str, value: str) -> ColumnElement[bool]:
    """Orders whose blind index (`search_tags`, `FieldCipher.search_tags`) holds `value`."""
    return OrderRow.search_tags.contains(active().tag(kind, value), autoescape=True)


def exact_clause(principal: Principal, text: str) -> ColumnElement[bool]:
    """Order id, channel order id, the start of a word of the name or of the whole name (any
    case; the name is encrypted, so by its blind index), phone suffix."""
    # The order's own copy of the customer: what this order's channel said, nobody else.
    clauses = [_tagged("name", " ".join(text.lower().split())), OrderRow.external_id == text]
    # "²".isdigit() is True, int("²") is not.
    if text.isascii() and text.isdigit() and int(text) < 2**31:
        clauses.append(OrderRow.id == int(text))
    phone = phone_clause(principal, text)
    if phone is not None:
        clauses.append(phone)
    return or_(*clauses)


def exact_score(text: str, order_id: int, external_id: str, name: str) -> float:
    """How an exact hit ranks: a whole key or name first, a name containing the text next."""
    if text == str(order_id) or text == external_id or text.casefold() == name.casefold():
        return EXACT
    if text.casefold() in name.casefold():
        return NAME_CONTAINS
    return EXACT  # none of the above: the phone's last digits (the clause holds nothing else)


@dataclass(slots=True)
class Entry:
    """A live order as the fuzzy part sees it: what scope and filters look at."""

    id: int
    warehouse_id: str
    zone: str
    channel: str
    rider_id: int | None
    status: str
    open_rank: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Narrowing:
    """The list filters the corpus can apply itself, so candidates are not wasted on orders
    the database would drop (late and changed-since are left to it)."""

    statuses: frozenset[str] = frozenset()
    channel: str | None = None
    warehouse_id: str | None = None
    zone: str | None = None
    rider_id: int | None = None

    def admits(self, entry: Entry) -> bool:
        return (
            (not self.statuses or entry.status in self.statuses)
            and (self.channel is None or entry.channel == self.channel)
            and (self.warehouse_id is None or entry.warehouse_id == self.warehouse_id)
            and (self.zone is None or entry.zone == self.zone)
            and (self.rider_id is None or entry.rider_id == self.rider_id)
        )


_LIVE = (
    OrderRow.id,
    OrderRow.warehouse_id,
    OrderRow.zone,
    OrderRow.channel,
    OrderRow.rider_id,
    OrderRow.status,
    OrderRow.open_rank,
    OrderRow.updated_at,
    OrderRow.customer_name,
    OrderRow.address,
)
_DIGITS = str.maketrans("", "", "0123456789")


def place_of(address: str) -> str:
    """An address as the fuzzy part compares it: street and district, house numbers aside (so
    the many orders of one street share one entry, compared once)."""
    return " ".join(utils.default_process(address).translate(_DIGITS).split())


class _Texts:
    """Distinct texts -> the orders bearing them: each text is compared once per search."""

    def __init__(self) -> None:
        self.orders: dict[str, set[int]] = {}
        self.text_of: dict[int, str] = {}
        self._keys: list[str] | None = None

    def add(self, order_id: int, text: str) -> None:
        known = self.text_of.get(order_id)
        if known == text:
            return  # written at intake; rewritten only by an erasure
        if known is not None:
            self.remove(order_id)
        self.text_of[order_id] = text
        holders = self.orders.setdefault(text, set())
        if not holders:
            self._keys = None
        holders.add(order_id)

    def remove(self, order_id: int) -> None:
        text = self.text_of.pop(order_id, None)
        if text is None:
            return
        holders = self.orders[text]
        holders.discard(order_id)
        if not holders:
            del self.orders[text]
            self._keys = None

    @property
    def keys(self) -> list[str]:
        if self._keys is None:
            self._keys = list(self.orders)
        return self._keys


class SearchCorpus:
    """The searchable text of the live orders and the riders' names, topped up per search from
    the event log: every change to an order appends an event, numbered (`seq`) in commit
    order, so the orders named by events after the last one read are exactly what changed."""

    def __init__(self, *, keep: timedelta = KEEP) -> None:
        self.keep = keep
        self.entries: dict[int, Entry] = {}
        self._names = _Texts()
        self._places = _Texts()
        self._riders: dict[int, str] = {}
        self._seq: int | None = None
        self._swept_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def refresh(self, session: AsyncSession, now: datetime) -> None:
        """Read what changed since the last search (everything live, the first time)."""
        async with self._lock:
            newest = await session.scalar(select(func.max(EventRow.seq)))
            if self._seq is None:
                # The mark first: a change committed while the orders are read is read again.
                where = or_(OrderRow.open_rank == 0, OrderRow.updated_at >= now - self.keep)
            elif newest is None or newest <= self._seq:
                where = None
            else:
                since = (EventRow.seq > self._seq, EventRow.seq <= newest)
                changed = select(EventRow.order_id).where(*since, EventRow.order_id.is_not(None))
                # An erasure names the orders it rewrote (on any instance): read them again.
                erased: set[int] = set()
                for payload in await session.scalars(
                    select(EventRow.payload).where(*since, EventRow.kind == "customer.erased")
                ):
                    erased.update(payload.get("order_ids", []))
                where = or_(OrderRow.id.in_(changed), OrderRow.id.in_(erased))
            if where is not None:
                for row in (await session.execute(select(*_LIVE).where(where))).all():
                    self._take(tuple(row))
            self._seq = newest or 0
            riders = await session.execute(select(RiderRow.id, RiderRow.name))
            self._riders = {rider_id: utils.default_process(name) for rider_id, name in riders}
            if self._swept_at is None or now - self._swept_at >= SWEEP_EVERY:
                self._sweep(now)

    def _take(self, row: tuple[Any, ...]) -> None:
        order_id, warehouse, zone, channel, rider, status, rank, updated, name, address = row
        self.entries[order_id] = Entry(
            order_id, warehouse, zone, channel, rider, status, rank, updated
        )
        self._names.add(order_id, utils.default_process(name))
        self._places.add(order_id, place_of(address))

    def _sweep(self, now: datetime) -> None:
        """Drop final orders whose last change is older than `keep`."""
        self._swept_at = now
        gone = [
            e.id for e in self.entries.values() if e.open_rank and e.updated_at < now - self.keep
        ]
        for order_id in gone:
            del self.entries[order_id]
            self._names.remove(order_id)
            self._places.remove(order_id)

    def rank(self, text: str, principal: Principal, narrowing: Narrowing) -> dict[int, float]:
        """Order id -> score for the live orders in the caller's scope resembling `text`, the
        best `MAX_CANDIDATES`."""
        query = utils.default_process(text)
        if not query:
            return {}
        scores: dict[int, float] = {}
        whole = whole_cutoff(query)
        names = self._names
        _best(scores, _holders(names, _similar(query, names.keys, fuzz.ratio, whole)), NAME_WEIGHT)
        # A part of a name like the query (one name of two mistyped); a part equal to it is a
        # substring, which the exact part ranks already.
        parts = [
            (key, score)
            for key, score in _similar(query, names.keys, fuzz.partial_ratio, PART_CUTOFF)
            if score < 100
        ]
        _best(scores, _holders(names, parts), NAME_PART_WEIGHT)
        street = " ".join(query.translate(_DIGITS).split())
        if len(street) >= ADDRESS_MIN_LENGTH:
            places = self._places
            found = _similar(street, places.keys, fuzz.partial_ratio, PART_CUTOFF)
            _best(scores, _holders(places, found), ADDRESS_WEIGHT)
        riders: dict[int, float] = {}
        rider_ids = list(self._riders)
        rider_names = [self._riders[r] for r in rider_ids]
        for scorer, cutoff in ((fuzz.ratio, whole), (fuzz.partial_ratio, PART_CUTOFF)):
            for key, score in _similar(query, rider_names, scorer, cutoff):
                for rider_id in (r for r in rider_ids if self._riders[r] == key):
                    riders[rider_id] = max(score, riders.get(rider_id, 0.0))
        if riders:
            carried = (
                (e.id, riders[e.rider_id] * RIDER_WEIGHT)
                for e in self.entries.values()
                if e.rider_id in riders
            )
            _best(scores, carried, 1.0)
        best = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        admitted: dict[int, float] = {}
        for order_id, score in best:
            entry = self.entries.get(order_id)
            if entry is None or not narrowing.admits(entry):
                continue
            if not order_in_scope(principal, entry):
                continue
            admitted[order_id] = score
            if len(admitted) == MAX_CANDIDATES:
                break
        return admitted


def whole_cutoff(query: str) -> float:
    """`WHOLE_CUTOFF`, or just under one wrong character's similarity when that is lower: a
    three-character name (most Chinese names) with one character wrong is 67% similar."""
    if len(query) < 3:
        return 100.0  # two characters, one wrong: half of the name; the exact part finds these
    return min(WHOLE_CUTOFF, 100.0 * (len(query) - 1) / len(query) - 0.1)


def _similar(
    query: str, choices: list[str], scorer: Callable[..., float], cutoff: float
) -> list[tuple[str, float]]:
    """(choice, similarity) of every choice at least `cutoff` similar to `query`."""
    found = process.extract(
        query, choices, scorer=scorer, processor=None, limit=None, score_cutoff=cutoff
    )
    return [(choice, score) for choice, score, _index in found]


def _holders(texts: _Texts, found: list[tuple[str, float]]) -> Iterable[tuple[int, float]]:
    """The orders bearing each text found, with its similarity."""
    for text, score in found:
        for order_id in texts.orders.get(text, ()):
            yield order_id, score


def _best(scores: dict[int, float], found: Iterable[tuple[int, float]], weight: float) -> None:
    for key, score in found:
        weighted = score * weight
        if weighted > scores.get(key, 0.0):
            scores[key] = weighted


def narrowing_of(
    statuses: Iterable[OrderState],
    channel: str | None,
    warehouse_id: str | None,
    zone: str | None,
    rider_id: int | None,
) -> Narrowing:
    return Narrowing(frozenset(str(s) for s in statuses), channel, warehouse_id, zone, rider_id)
