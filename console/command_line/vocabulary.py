"""The names a command line understands and completes: zones, riders, orders, alerts.

The console reads them from its store; `freshline act` fetches the riders and zones from the
server first. Riders are named by slug: "Li Fang" is `li-fang`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from console.store import Store


class Vocabulary(Protocol):
    def zones(self) -> list[str]:
        """Zone names; empty when not known (then any zone name is let through)."""
        ...

    def riders(self) -> dict[int, str]:
        """Rider id -> name; empty when not known."""
        ...

    def orders(self) -> list[int]:
        """Order ids to offer when completing (the server decides whether one exists)."""
        ...

    def alerts(self) -> list[int]:
        """Alert ids to offer when completing."""
        ...


def slug(name: str) -> str:
    """ "Li Fang" -> "li-fang": a name typed without quotes or capitals."""
    return re.sub(r"[^0-9a-z]+", "-", name.lower()).strip("-")


@dataclass
class Words:
    """A vocabulary given as lists (`freshline act`, tests)."""

    zone_names: list[str] = field(default_factory=list)
    rider_names: dict[int, str] = field(default_factory=dict)
    order_ids: list[int] = field(default_factory=list)
    alert_ids: list[int] = field(default_factory=list)

    def zones(self) -> list[str]:
        return self.zone_names

    def riders(self) -> dict[int, str]:
        return self.rider_names

    def orders(self) -> list[int]:
        return self.order_ids

    def alerts(self) -> list[int]:
        return self.alert_ids


class StoreWords:
    """The console's vocabulary: whatever its store holds now."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def zones(self) -> list[str]:
        names = {name for name, _ in self.store.zones}
        names.update(card.zone for card in self.store.orders.values() if card.zone)
        return sorted(names)

    def riders(self) -> dict[int, str]:
        return {rider_id: rider.name for rider_id, rider in self.store.riders.items()}

    def orders(self) -> list[int]:
        return sorted(self.store.orders)

    def alerts(self) -> list[int]:
        return sorted(self.store.alerts.alerts)
