"""The customer's side of an order: what a tracking link shows (`GET /track/{token}`), what its
live socket sends, the map the page draws, and what the customer sends when they sign.

Nothing here names another order, the customer's own name or phone, or more of the rider
than a first name and a masked phone: the link travels by text message and may be forwarded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from backend_client.models.common import OrderState, Request, Response


class TrackingStage(Response):
    """One stage the order went through, and when."""

    state: OrderState
    at: datetime


class TrackingItem(Response):
    """One line of the order as the customer ordered it."""

    name: str
    quantity: int
    unit: str


class TrackingRider(Response):
    """The rider bringing the order: a first name and a masked phone, nothing more."""

    first_name: str = Field(description="The first word of the rider's name as registered.")
    phone: str = Field(description="Masked, `139****0001` (backend_client/phones.py).")


class TrackingPoint(Response):
    """A point on the map."""

    lat: float
    lng: float
    at: datetime | None = None


class TrackingView(Response):
    """The customer-safe view of one order, as its tracking link shows it."""

    seq: int = Field(description="The newest event of this order the view reflects.")
    reference: str = Field(description="The order's number at its sales channel.")
    status: OrderState
    stages: list[TrackingStage] = Field(description="Stages reached so far, oldest first.")
    promised_at: datetime
    eta: datetime | None = Field(
        description="Expected arrival while out for delivery: the ETA the desk sees (the "
        "newest `order.eta`)."
    )
    rider: TrackingRider | None
    rider_position: TrackingPoint | None = Field(
        description="The rider's newest fix; only while the order is DELIVERING."
    )
    track: list[TrackingPoint] = Field(
        description="The rider's fixes since the order left the store; only while DELIVERING."
    )
    destination: TrackingPoint
    store: TrackingPoint
    zone: str
    items: list[TrackingItem]
    arrived: bool = Field(description="The rider came within 150 m of the destination.")
    signature_requested: bool = Field(description="The rider asked the customer to sign.")
    can_sign: bool = Field(
        description="DELIVERING, the rider arrived or asked, and no proof recorded yet."
    )
    signed: bool = Field(description="The customer signed on the page.")
    pin: str | None = Field(
        default=None,
        description="The customer's PIN to tell the rider at the door (backend/proof); only "
        "while DELIVERING and not yet signed here.",
    )


class TrackingMapZone(Response):
    """A delivery zone's border, as [lat, lng] pairs."""

    name: str
    polygon: list[tuple[float, float]]


class TrackingMap(Response):
    """The demo city's own geometry the page draws its map from (no tiles from anywhere)."""

    zones: list[TrackingMapZone]


class TrackingUpdate(Response):
    """Sent on the live socket whenever the view changed, in seq order."""

    type: Literal["view"] = "view"
    view: TrackingView


class TrackingPosition(Response):
    """Sent on the live socket when the rider moves (while DELIVERING): latest wins, no seq."""

    type: Literal["position"] = "position"
    lat: float
    lng: float
    at: datetime


PNG_DATA_URL = "data:image/png;base64,"
MAX_SIGNATURE_CHARS = 64_000
"""A drawn signature from the page's pad (600x240) is a PNG of some kilobytes; 48 KB of PNG
is ample. Small enough that any longer string, even JSON-escaped, stays under the body limit
and is refused as too long (422) rather than as too big (413)."""


class TrackingSignature(Request):
    """The customer signs on the page: the drawn signature, a PNG as a data URL."""

    signature_png: Annotated[
        str, Field(max_length=MAX_SIGNATURE_CHARS, description="data:image/png;base64,...")
    ]

    @field_validator("signature_png")
    @classmethod
    def _png(cls, value: str) -> str:
        if not value.startswith(PNG_DATA_URL):
            raise ValueError(f"a signature is a PNG data URL starting {PNG_DATA_URL}")
        return value


class TrackingSignatureResult(Response):
    """The signature as recorded: a proof of delivery of the order."""

    reference: str
    proof_id: int
    recorded_at: datetime


class SignatureRequest(Response):
    """The rider asked the customer to sign on their tracking page."""

    order_id: int
    requested_at: datetime
