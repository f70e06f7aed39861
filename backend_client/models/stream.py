"""The live stream's messages (docs/stream.md) and the long-poll fallback's answer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    Field,
)

from backend_client.models.common import ByValue, Code, Request, Response, text
from backend_client.models.kpi import KpiSummary
from backend_client.models.orders import Event


class Topic(StrEnum):
    """What a stream subscriber can ask for; each is authorised against the role."""

    ORDERS = "orders"
    RIDERS = "riders"
    ALERTS = "alerts"
    STOCK = "stock"
    AUDIT = "audit"
    """Everything in the event log, accounts included (admins and supervisors)."""
    KPI = "kpi"
    """A KPI summary every few seconds (desk roles); no events."""


class Hello(Request):
    """The client's first message: what to receive, and the last `seq` it applied."""

    type: Literal["hello"] = "hello"
    topics: Annotated[list[Annotated[Topic, ByValue]], Field(min_length=1, max_length=10)]
    since: Annotated[int, Field(ge=0, le=2**62)] | None = None
    warehouse_id: Code | None = None
    zone: Annotated[str, text(60)] | None = None


class ClientHeartbeat(Request):
    """Sent by the client every `heartbeat_seconds`; the server drops a client silent for 40 s."""

    type: Literal["heartbeat"] = "heartbeat"


class Welcome(Response):
    """The server's answer to hello: the subscription as granted and the log's newest `seq`."""

    type: Literal["welcome"] = "welcome"
    topics: list[Topic]
    last_seq: int
    heartbeat_seconds: int


class EventMessage(Event):
    """A durable change. `prev_seq` is the seq of the previous message this connection was sent
    (or the `since` it resumed from): a client whose last applied seq differs has a gap."""

    type: Literal["event"] = "event"
    prev_seq: int


class PositionMessage(Response):
    """A rider's newest fix: latest wins, coalesced per rider, not in the durable seq stream."""

    type: Literal["position"] = "position"
    rider_id: int
    warehouse_id: str
    lat: float
    lng: float
    at: datetime


class Heartbeat(Response):
    """Sent by the server every `heartbeat_seconds`, with the log's newest seq."""

    type: Literal["heartbeat"] = "heartbeat"
    last_seq: int
    at: datetime


class SnapshotRequired(Response):
    """`since` is older than what can be replayed: reload over REST, then apply events after
    `last_seq` (live events keep coming on this connection)."""

    type: Literal["snapshot_required"] = "snapshot_required"
    last_seq: int
    reason: str


class StreamError(Response):
    """Sent just before the server closes the connection with the matching close code."""

    type: Literal["error"] = "error"
    code: int
    detail: str


class KpiMessage(Response):
    """The KPI summary of the last `kpi_push_window_minutes`, pushed to `kpi` subscribers every
    `kpi_push_seconds`: latest wins, not in the durable seq stream."""

    type: Literal["kpi"] = "kpi"
    summary: KpiSummary


ServerMessage = Annotated[
    Welcome
    | EventMessage
    | PositionMessage
    | Heartbeat
    | SnapshotRequired
    | StreamError
    | KpiMessage,
    Field(discriminator="type"),
]
ClientMessage = Annotated[Hello | ClientHeartbeat, Field(discriminator="type")]


class EventBatch(Response):
    """Answer of the long-poll fallback `GET /api/v1/events`."""

    events: list[Event]
    last_seq: int = Field(description="Pass as `since` next time (covers events you may not see).")
    snapshot_required: bool = False
