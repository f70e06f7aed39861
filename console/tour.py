"""`freshline demo --tour`: the demo city started busy, so that something happens in the first
minute (orders in every early lane, a shortage, an unpaid order, soon a late one and an
accident). The plain demo starts at 11:30 at real speed: one order in its first minute."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class DemoPace:
    """The demo's clock and city: what `--tour` changes."""

    speed: float = 1.0
    start: str = "11:30"
    orders_per_hour: float = 72.0
    trouble: float = 1.0


PLAIN = DemoPace()
TOUR = DemoPace(speed=15.0, start="11:45", orders_per_hour=240.0, trouble=5.0)
"""A quarter of an hour of lunch peak a real minute, at five times the usual trouble."""


def pace(asked: DemoPace, *, tour: bool) -> DemoPace:
    """What the demo runs at: with `tour`, the tour's value for every option left at the plain
    demo's default (one given on the command line wins)."""
    if not tour:
        return asked
    toured = {
        name: getattr(TOUR, name)
        for name in ("speed", "start", "orders_per_hour", "trouble")
        if getattr(asked, name) == getattr(PLAIN, name)
    }
    return replace(asked, **toured)
