"""Which events of the log a subscription wants: its kinds, within its scope.

The scope is the one the stream gives the same outside accounts (`realtime/visibility.py`): a
channel gets the events whose payload names it (its orders and their returns), a warehouse
the events of that warehouse. Nothing else of another channel or warehouse ever leaves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backend_client.models.webhooks import event_prefixes


@dataclass(frozen=True, slots=True)
class Interest:
    families: frozenset[str]
    """Log prefixes wanted whole (`order.`, `request.`)."""
    kinds: frozenset[str]
    """Single log kinds wanted (`order.transition`)."""
    channel: str | None = None
    warehouse_id: str | None = None

    @classmethod
    def of(cls, kinds: list[str], channel: str | None, warehouse_id: str | None) -> Interest:
        families, single = event_prefixes(kinds)
        return cls(families, single, channel, warehouse_id)

    def wants(self, event: Mapping[str, Any]) -> bool:
        """Whether `event` (a wire event as a dict) is to be delivered."""
        kind: str = event["kind"]
        if kind not in self.kinds and kind[: kind.find(".") + 1] not in self.families:
            return False
        if self.warehouse_id is not None and event.get("warehouse_id") != self.warehouse_id:
            return False
        if self.channel is not None:
            payload = event.get("payload") or {}
            return payload.get("channel") == self.channel
        return True
