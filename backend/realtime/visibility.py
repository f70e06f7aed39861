"""Who may subscribe to what, and which events and positions each subscriber sees.

The same scope as REST: a rider sees their own orders and fixes, a merchant their warehouse's,
a channel its own orders; desk roles see everything their topics cover. An account that sees
some order states only (`Principal.stages`) gets an order's events while the order is in one of
them, and the move that takes it out (so a console drops it from the lane it left).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backend.auth.principal import Principal
from backend.errors import Forbidden
from backend_client.models import Role, Topic

R = Role
DESK = frozenset({R.ADMIN, R.SUPERVISOR, R.DISPATCHER, R.SUPPORT, R.VIEWER})

TOPIC_ROLES: dict[Topic, frozenset[Role]] = {
    Topic.ORDERS: frozenset(Role),
    Topic.RIDERS: DESK | {R.MERCHANT, R.RIDER},
    Topic.ALERTS: DESK | {R.MERCHANT},
    Topic.STOCK: DESK | {R.MERCHANT, R.CHANNEL},
    Topic.AUDIT: frozenset({R.ADMIN, R.SUPERVISOR}),
    # Summaries over every warehouse and channel: the desk's (REST's `kpi:read`).
    Topic.KPI: DESK,
}

_TOPIC_OF_PREFIX = {
    "order": Topic.ORDERS,
    "request": Topic.ORDERS,  # returns and claims: part of their order's story
    "rider": Topic.RIDERS,
    "alert": Topic.ALERTS,
    "stock": Topic.STOCK,
}


def topic_of(kind: str) -> Topic:
    """The topic an event kind belongs to (`order.created` -> orders); anything else is audit."""
    return _TOPIC_OF_PREFIX.get(kind.partition(".")[0], Topic.AUDIT)


def authorise(principal: Principal, topics: list[Topic]) -> frozenset[Topic]:
    """The topics as granted, or Forbidden naming the first one the role may not have."""
    for topic in topics:
        if principal.role not in TOPIC_ROLES[topic]:
            raise Forbidden(f"role {principal.role} may not subscribe to {topic}")
    return frozenset(topics)


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscriber's principal, topics and optional warehouse or zone filter."""

    principal: Principal
    topics: frozenset[Topic]
    warehouse_id: str | None = None
    zone: str | None = None

    def sees(
        self,
        event: Mapping[str, Any],
        zones: Mapping[str, str],
        states: Mapping[int, str] | None = None,
    ) -> bool:
        """Whether this subscriber receives `event` (a wire Event as a dict); `states`: each
        order's newest state, for events that carry none."""
        if Topic.AUDIT not in self.topics and topic_of(event["kind"]) not in self.topics:
            return False
        warehouse = event.get("warehouse_id")
        if self.warehouse_id is not None and warehouse != self.warehouse_id:
            return False
        if self.zone is not None:
            zone = event["payload"].get("zone") or zones.get(warehouse or "")
            if zone != self.zone:
                return False
        return self._in_scope(event) and self._in_stage(event, states or {})

    def _in_stage(self, event: Mapping[str, Any], states: Mapping[int, str]) -> bool:
        stages = self.principal.stages
        order_id = event.get("order_id")
        if stages is None or order_id is None:
            return True
        if event["kind"].startswith("order."):  # their states are the order's
            moved = event.get("from_state"), event.get("to_state")
            if moved[0] in stages or moved[1] in stages:
                return True  # within the account's states, into them, or out of them
            if moved[1] is not None:
                return False  # a move between states the account does not see
        # An ETA, a request or an alert about the order (their states are their own): by the
        # order's newest state; unknown here, not shown.
        return states.get(order_id) in stages

    def _in_scope(self, event: Mapping[str, Any]) -> bool:
        p = self.principal
        match p.role:
            case R.MERCHANT:
                return event.get("warehouse_id") == p.warehouse_id
            case R.RIDER:
                payload = event["payload"]
                return p.rider_id is not None and p.rider_id in (
                    event.get("rider_id"),
                    payload.get("from_rider"),
                )
            case R.CHANNEL:
                if topic_of(event["kind"]) == Topic.STOCK:
                    return True
                return p.channel is not None and event["payload"].get("channel") == p.channel
        return True

    def sees_position(self, rider_id: int, warehouse_id: str, zones: Mapping[str, str]) -> bool:
        if Topic.RIDERS not in self.topics:
            return False
        if self.warehouse_id is not None and warehouse_id != self.warehouse_id:
            return False
        if self.zone is not None and zones.get(warehouse_id) != self.zone:
            return False
        match self.principal.role:
            case R.RIDER:
                return rider_id == self.principal.rider_id
            case R.MERCHANT:
                return warehouse_id == self.principal.warehouse_id
        return True
