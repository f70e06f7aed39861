"""The one wire contract between the backend and its clients (pydantic models).

The backend serves exactly these models; the console and the simulator read them. Times are
aware UTC datetimes; money is integer cents; weights are grams.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

# --- Enumerations -------------------------------------------------------------------------------


class Role(StrEnum):
    """What an account is allowed to do; see the permission table in README."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    DISPATCHER = "dispatcher"
    SUPPORT = "support"
    VIEWER = "viewer"
    MERCHANT = "merchant"
    """Store staff, scoped to one warehouse."""
    RIDER = "rider"
    """A rider, scoped to themselves."""
    CHANNEL = "channel"
    """A sales channel's service account, scoped to its channel."""


class Channel(StrEnum):
    """Where an order came from."""

    APP = "app"
    MINI_PROGRAM = "mini_program"
    MEITUAN = "meituan"
    ELEME = "eleme"
    STORE = "store"
    GROUP_BUY = "group_buy"


class OrderState(StrEnum):
    """Order lifecycle states (DESIGN.md)."""

    CREATED = "CREATED"
    PAID = "PAID"
    PICKING = "PICKING"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    DELIVERING = "DELIVERING"
    SIGNED = "SIGNED"
    EXCEPTION = "EXCEPTION"
    RETURNING = "RETURNING"
    RETURNED = "RETURNED"
    CLAIMING = "CLAIMING"
    CLAIM_SETTLED = "CLAIM_SETTLED"
    CANCELLED = "CANCELLED"


class OrderAction(StrEnum):
    """What can be done to an order; the lifecycle table maps each to its transitions."""

    PAY = "pay"
    START_PICKING = "start_picking"
    REPORT_OUT_OF_STOCK = "report_out_of_stock"
    RESTOCK = "restock"
    DISPATCH = "dispatch"
    SIGN = "sign"
    REPORT_EXCEPTION = "report_exception"
    RESUME = "resume"
    START_RETURN = "start_return"
    COMPLETE_RETURN = "complete_return"
    START_CLAIM = "start_claim"
    SETTLE_CLAIM = "settle_claim"
    CANCEL = "cancel"


class RiderStatus(StrEnum):
    """Whether a rider is taking work."""

    OFFLINE = "offline"
    ONLINE = "online"
    BREAK = "break"


# --- Shared field types -------------------------------------------------------------------------

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, examples=[39.9042])]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, examples=[116.4074])]
# Text fields take no control characters (tab, newline and carriage return aside): a NUL byte
# cannot be stored by PostgreSQL and nothing else belongs in a name or a reason.
NO_CONTROL_CHARS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def text(max_length: int, *, min_length: int = 1) -> StringConstraints:
    """Constraints for human text: stripped, bounded, no control characters."""
    return StringConstraints(
        strip_whitespace=True,
        min_length=min_length,
        max_length=max_length,
        pattern=NO_CONTROL_CHARS,
    )


Name = Annotated[str, text(120)]
Reason = Annotated[str, text(500)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{4,22}[0-9]$")
]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="The order version you last saw.")]


class WireModel(BaseModel):
    """Base for every wire model: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _valid_unicode(cls, value: Any) -> Any:
        # JSON can spell a lone surrogate ("\ud800"); it is no character and cannot be stored.
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("text must be valid Unicode (no lone surrogates)") from None
        return value


# --- Health and auth ----------------------------------------------------------------------------


class Health(WireModel):
    status: Literal["ok"] = "ok"
    time: datetime = Field(description="The server's clock; simulated time in the demo.")
    clock_speed: float = Field(
        default=1.0, description="Simulated seconds per real second (1 outside the demo)."
    )
    time_zone: str | None = Field(
        default=None,
        description="The business time zone (IANA name, e.g. Asia/Shanghai): clients show "
        "times in it and cut days at its midnight. Absent from servers before it was served.",
    )


class TokenResponse(WireModel):
    """Answer of `POST /api/v1/auth/token`."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    role: Role
    expires_at: datetime


class Me(WireModel):
    """The account behind a token, with its scope."""

    id: int
    username: str
    role: Role
    warehouse_id: str | None = None
    rider_id: int | None = None
    channel: Channel | None = None
    permissions: list[str] = Field(
        default_factory=list,
        description="What the role may do (`orders:transition`, `alerts:handle`, ...), from the "
        "server's permission table; the scope above narrows it further. Plain strings, so a "
        "permission a newer server adds does not break an older console.",
    )


class UserCreate(WireModel):
    """A new account (admins only)."""

    username: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{1,39}$")]
    password: Annotated[str, StringConstraints(min_length=8, max_length=200)]
    role: Role
    warehouse_id: Code | None = Field(default=None, description="Required for merchants.")
    rider_id: DbId | None = Field(default=None, description="Required for riders.")
    channel: Channel | None = Field(default=None, description="Required for channels.")


class UserUpdate(WireModel):
    """A change to an account (admins only): fields left out stay as they are. A new role takes
    the scope that role needs (and drops the others); disabling or a new role ends the
    account's tokens at once."""

    active: bool | None = None
    role: Role | None = None
    warehouse_id: Code | None = Field(default=None, description="With role merchant.")
    rider_id: DbId | None = Field(default=None, description="With role rider.")
    channel: Channel | None = Field(default=None, description="With role channel.")


class User(WireModel):
    id: int
    username: str
    role: Role
    warehouse_id: str | None
    rider_id: int | None
    channel: Channel | None
    active: bool


# --- Warehouses and stock -----------------------------------------------------------------------


class Warehouse(WireModel):
    """A front warehouse."""

    id: str
    name: str
    zone: str
    address: str
    lat: float
    lng: float
    auto_dispatch: bool = Field(description="Riders are assigned to its orders automatically.")


class DispatchSettings(WireModel):
    """Body of `PUT /api/v1/warehouses/{id}/dispatch`."""

    auto_dispatch: bool


class StockLevel(WireModel):
    """Stock of one SKU in one warehouse. `available` = `on_hand` - `reserved`."""

    warehouse_id: str
    sku: str
    name: str
    category: str
    unit: str
    cold_chain: bool
    price_cents: int
    on_hand: int
    reserved: int
    available: int


class StockAdjust(WireModel):
    """Add (restock) or remove (write-off, count correction) units on hand."""

    delta: Annotated[int, Field(ge=-100_000, le=100_000, examples=[24])]
    reason: Reason


# --- Orders -------------------------------------------------------------------------------------


class CustomerIn(WireModel):
    """The customer as the channel knows them; matched to an existing customer by phone."""

    name: Name
    phone: Phone
    address: Annotated[str, text(300)]
    lat: Latitude
    lng: Longitude


class OrderItemIn(WireModel):
    sku: Code
    quantity: Annotated[int, Field(ge=1, le=1000)]


class OrderCreate(WireModel):
    """A new order from a sales channel. Price, weight and cold chain come from the catalogue."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "external_id": "MT-20261122-0001",
                    "customer": {
                        "name": "Wang Fang",
                        "phone": "13800138000",
                        "address": "Sanlitun Rd 19, Chaoyang",
                        "lat": 39.9361,
                        "lng": 116.4551,
                    },
                    "items": [{"sku": "VEG-BOKCHOY", "quantity": 2}],
                    "promised_at": "2026-11-22T11:30:00Z",
                }
            ]
        },
    )

    external_id: Code = Field(description="The channel's own order id; unique per channel.")
    channel: Channel | None = Field(
        default=None, description="Taken from a channel account; admins must give it."
    )
    customer: CustomerIn
    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=50)]
    warehouse_id: Code | None = Field(
        default=None, description="Serving warehouse; the nearest one when omitted."
    )
    promised_at: AwareDatetime | None = Field(
        default=None, description="Promised delivery time; default is now + 45 minutes."
    )
    note: Annotated[str, text(500, min_length=0)] | None = None


class OrderItem(WireModel):
    sku: str
    name: str
    quantity: int
    unit: str
    weight_g: int
    cold_chain: bool
    unit_price_cents: int


class CustomerOut(WireModel):
    id: int
    name: str
    phone: str


class Order(WireModel):
    """An order as every client sees it."""

    id: int
    channel: Channel
    external_id: str
    status: OrderState
    version: int
    customer: CustomerOut
    address: str
    lat: float
    lng: float
    zone: str
    warehouse_id: str
    rider_id: int | None
    items: list[OrderItem]
    weight_g: int
    cold_chain: bool
    amount_cents: int
    note: str | None
    promised_at: datetime
    late: bool = Field(description="Still open and past its promised time.")
    created_at: datetime
    paid_at: datetime | None
    picking_at: datetime | None
    out_of_stock_at: datetime | None
    delivering_at: datetime | None
    signed_at: datetime | None
    exception_at: datetime | None
    returning_at: datetime | None
    returned_at: datetime | None
    claiming_at: datetime | None
    claim_settled_at: datetime | None
    cancelled_at: datetime | None
    updated_at: datetime


class OrderPage(WireModel):
    """One page of orders, most urgent first; pass `next_cursor` as `cursor` for the next."""

    items: list[Order]
    next_cursor: str | None


class TransitionRequest(WireModel):
    """Move an order through its lifecycle."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"action": "start_picking", "version": 2}]},
    )

    action: OrderAction
    version: Version
    reason: Reason | None = Field(
        default=None, description="Required for cancel, exceptions, returns, claims, shortages."
    )


class BatchTransition(WireModel):
    """One transition of a batch: which order, the action, the version you saw."""

    order_id: DbId
    action: OrderAction
    version: Version
    reason: Reason | None = Field(
        default=None, description="Required for cancel, exceptions, returns, claims, shortages."
    )


class TransitionBatch(WireModel):
    """Many transitions at once, for machines (a channel gateway, a WMS, the simulator)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "transitions": [
                        {"order_id": 8, "action": "start_picking", "version": 2},
                        {"order_id": 9, "action": "dispatch", "version": 5},
                    ]
                }
            ]
        },
    )

    transitions: list[BatchTransition] = Field(min_length=1, max_length=500)


class TransitionOutcome(WireModel):
    """What became of one transition of a batch: the order as it is now (`status` 200), or why
    it was refused (the status and `detail` the single call would have answered) and nothing of
    it changed."""

    order_id: int
    status: int
    order: Order | None = None
    detail: str | None = None
    current_version: int | None = Field(
        default=None, description="With a 409 for a stale version: the order's version now."
    )


class TransitionResults(WireModel):
    """The outcome of each transition of a batch, in the order sent."""

    results: list[TransitionOutcome]
    applied: int
    refused: int


class AssignRequest(WireModel):
    """Give an order to a rider (or move it to another one)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"rider_id": 3, "version": 4}]}
    )

    rider_id: DbId
    version: Version
    reason: Reason | None = None
    resume: StrictBool = Field(
        False,
        description="For an order in EXCEPTION: resume the delivery with the new rider in the "
        "same step, and resolve the order's exception alert. 409 for an order in any other "
        "state.",
    )


class Event(WireModel):
    """One row of the event log: the audit trail and the source of the live stream."""

    seq: int
    kind: str
    order_id: int | None
    rider_id: int | None
    warehouse_id: str | None
    from_state: str | None
    to_state: str | None
    actor: str
    role: str
    client_addr: str | None
    at: datetime
    reason: str | None
    payload: dict[str, Any]


# --- Riders -------------------------------------------------------------------------------------


class Rider(WireModel):
    id: int
    name: str
    phone: str
    status: RiderStatus
    warehouse_id: str
    capacity: int
    active_orders: int
    cold_chain: bool
    last_lat: float | None
    last_lng: float | None
    last_fix_at: datetime | None


class RiderStatusUpdate(WireModel):
    status: RiderStatus


class PositionPoint(WireModel):
    """One GPS fix as the rider's phone recorded it."""

    lat: Latitude
    lng: Longitude
    at: AwareDatetime
    speed_kmh: Annotated[float, Field(ge=0, le=200, allow_inf_nan=False)] | None = None
    accuracy_m: Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)] | None = None


class PositionBatch(WireModel):
    """Fixes in any order, duplicates allowed (phones upload what they cached offline)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "points": [
                        {"lat": 39.9361, "lng": 116.4551, "at": "2026-11-22T10:00:15Z"},
                        {"lat": 39.9358, "lng": 116.4560, "at": "2026-11-22T10:00:00Z"},
                    ]
                }
            ]
        },
    )

    points: Annotated[list[PositionPoint], Field(min_length=1, max_length=1000)]


class FleetFix(PositionPoint):
    """One fix of one rider, as a location gateway relays it."""

    rider_id: DbId


class FleetPositions(WireModel):
    """Body of `POST /api/v1/positions`: many riders' fixes in one request (a location gateway
    or a load test); the same rules as one rider's batch, per rider."""

    fixes: Annotated[list[FleetFix], Field(min_length=1, max_length=5000)]


class FleetPositionsResult(WireModel):
    accepted: int
    duplicates: int
    moved: int = Field(description="Riders whose last fix moved forward.")


class RiderIn(WireModel):
    """A rider joining the fleet."""

    name: Name
    phone: Phone
    warehouse_id: Code
    capacity: Annotated[int, Field(ge=1, le=20, description="Orders carried at once.")]
    cold_chain: bool = False
    status: RiderStatus = RiderStatus.OFFLINE


class RiderRegistration(WireModel):
    """Body of `POST /api/v1/riders`: riders to register (a whole crew at once)."""

    riders: Annotated[list[RiderIn], Field(min_length=1, max_length=1000)]


class RiderSuggestion(WireModel):
    """A rider who could take an order, from the ranking auto-dispatch uses."""

    rider: Rider
    distance_m: float = Field(
        description="From the rider's last fix to the pick-up: the warehouse, or, for an order "
        "out for delivery, where its rider is now."
    )
    eta_minutes: float = Field(description="Pick-up, then drop-off, at a nominal 20 km/h.")


class PositionBatchResult(WireModel):
    accepted: int
    duplicates: int
    moved: bool = Field(description="The batch held a fix newer than the rider's last one.")
    last_lat: float | None
    last_lng: float | None
    last_fix_at: datetime | None


# --- Zones, tracks and routes (riders on the map) -----------------------------------------------


class Zone(WireModel):
    """A delivery zone: the polygon a front warehouse serves."""

    name: str
    warehouse_id: str
    polygon: list[tuple[float, float]] = Field(
        description="The zone's border as (lat, lng) pairs, not closed (the last point joins "
        "the first)."
    )


class TrackPoint(WireModel):
    """One fix of a replayed track."""

    at: datetime
    lat: float
    lng: float
    speed_kmh: float | None = Field(
        description="As the phone reported it, else from the previous fix; null for the first "
        "fix of a track with no reported speed."
    )


class TrackStop(WireModel):
    """Where a rider stayed within about 30 m for over 2 minutes."""

    start: datetime
    end: datetime
    lat: float
    lng: float
    minutes: float


class Track(WireModel):
    """A rider's path over a time range (`rider_id` set), or an order's from pick-up to sign-off
    (`order_id` set; `rider_id` is its rider, or null if more than one carried it)."""

    rider_id: int | None
    order_id: int | None
    since: datetime
    until: datetime
    points: list[TrackPoint] = Field(
        description="Oldest first; a long range is thinned evenly to at most 5,000 points."
    )
    stops: list[TrackStop] = Field(description="Found on every fix, before any thinning.")
    events: list[Event] = Field(
        description="The rider's (or the order's) timeline events in the range, oldest first."
    )


class RouteStop(WireModel):
    """One of a rider's next stops: an order out for delivery."""

    order_id: int
    lat: float
    lng: float
    eta: datetime | None = Field(description="Null until the rider's first fix on this delivery.")
    distance_m: float | None = Field(description="From the rider's newest fix, as the crow flies.")
    promised_at: datetime
    predicted_late: bool
    pickup_lat: float | None = Field(
        None,
        description="Where the goods wait to be collected first (the rider before left the road "
        "there, e.g. an accident), until this rider has been there; null: they are on board.",
    )
    pickup_lng: float | None = None


class RiderRoute(WireModel):
    """A rider's orders out for delivery, in the sequence their ETAs are worked out in."""

    rider_id: int
    at: datetime
    stops: list[RouteStop]


# --- Alerts (see README "Alerts") ---------------------------------------------------------------


class AlertSeverity(StrEnum):
    """How urgent an alert is; the queue sorts by this first."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class AlertState(StrEnum):
    """open -> acknowledged -> resolved; snoozed hides an alert until its time is up."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class AlertRule(StrEnum):
    """What raised an alert; thresholds live in the rules file (README "Alert rules")."""

    DELIVERY_OVERDUE = "delivery_overdue"
    PREDICTED_LATE = "predicted_late"
    RIDER_STATIONARY = "rider_stationary"
    GPS_SILENT = "gps_silent"
    OFF_ROUTE = "off_route"
    NOT_PICKED = "not_picked"
    PAYMENT_PENDING = "payment_pending"
    OUT_OF_STOCK = "out_of_stock"
    COLD_CHAIN_TEMPERATURE = "cold_chain_temperature"
    DELIVERY_EXCEPTION = "delivery_exception"
    RETURN_REQUESTED = "return_requested"
    CLAIM_REQUESTED = "claim_requested"


class Alert(WireModel):
    """One alert: a rule found a condition on one subject (an order, a rider, a request)."""

    id: int
    rule: AlertRule
    subject: str = Field(description='What it is about: "order:12", "rider:3" or "request:7".')
    severity: AlertSeverity
    state: AlertState
    title: str
    details: dict[str, Any] = Field(description="The figures behind it (minutes late, metres...).")
    order_id: int | None
    rider_id: int | None
    request_id: int | None = Field(
        description="The return or claim request waiting for a decision."
    )
    warehouse_id: str | None
    zone: str | None
    parent_id: int | None = Field(description="The alert of the cause this one groups under.")
    opened_at: datetime
    updated_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    note: str | None
    snoozed_until: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    version: int


class AlertAcknowledge(WireModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"version": 1}]})

    version: Version
    note: Reason | None = None


class AlertSnooze(WireModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"version": 2, "minutes": 15}]}
    )

    version: Version
    minutes: int = Field(ge=1, le=24 * 60, description="How long to hide it (1 min to 24 h).")
    note: Reason | None = None


class AlertRules(WireModel):
    """The thresholds in force, where they came from, and why a newer file was not taken."""

    rules: dict[str, dict[str, Any]]
    source: str
    loaded_at: datetime
    error: str | None


# --- Returns and claims -------------------------------------------------------------------------


class RequestKind(StrEnum):
    RETURN = "return"
    """The customer refused the goods: they go back to the warehouse."""
    CLAIM = "claim"
    """The goods arrived damaged: the customer is compensated, the goods written off."""


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    """The order left EXCEPTION another way (resumed) before anyone decided."""


class ClaimItem(WireModel):
    sku: Code
    quantity: int = Field(ge=1, le=999)


class ReturnCreate(WireModel):
    """Open a return: the order (delivering, or already an exception) waits for a decision."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"version": 5, "reason": "customer refused: wilted"}]},
    )

    version: Version
    reason: Reason


class ClaimCreate(WireModel):
    """Open a claim for damaged goods: which items, and how much to pay back."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "version": 5,
                    "reason": "box crushed, eggs broken",
                    "items": [{"sku": "EGG-DOZEN", "quantity": 1}],
                    "amount_cents": 1890,
                }
            ]
        },
    )

    version: Version
    reason: Reason
    items: list[ClaimItem] = Field(min_length=1, max_length=50)
    amount_cents: int = Field(ge=1, le=10_000_000, description="Compensation asked for.")


class RequestDecision(WireModel):
    """Approve or reject a request; rejecting needs a reason."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"version": 1, "reason": "photo checked"}]}
    )

    version: Version = Field(description="The request version you last saw.")
    reason: Reason | None = None


class ReturnRequest(WireModel):
    """A return or a claim, and its decision."""

    id: int
    kind: RequestKind
    state: RequestState
    order_id: int
    warehouse_id: str
    reason: str
    items: list[ClaimItem]
    amount_cents: int
    opened_by: str
    opened_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    version: int


# --- Cold-chain sensors, handovers --------------------------------------------------------------


class TemperatureReading(WireModel):
    """One reading of a cold-chain sensor, in an order's box or a rider's vehicle."""

    order_id: DbId | None = None
    rider_id: DbId | None = None
    celsius: float = Field(ge=-60, le=80, allow_inf_nan=False)
    at: AwareDatetime


class TemperatureReadings(WireModel):
    readings: list[TemperatureReading] = Field(min_length=1, max_length=1000)


class ReadingsResult(WireModel):
    accepted: int


class HandoverOrder(WireModel):
    id: DbId
    version: Version


class Handover(WireModel):
    """Move every order a rider carries to another rider, in the same sequence."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"to_rider_id": 7, "orders": [{"id": 41, "version": 5}], "reason": "x"}]
        },
    )

    to_rider_id: DbId
    orders: list[HandoverOrder] = Field(
        min_length=1, max_length=100, description="The rider's orders as you last saw them."
    )
    reason: Reason | None = None


# --- KPIs (see README "KPIs") -------------------------------------------------------------------


class KpiFigures(WireModel):
    """Every KPI of one window (and filter), with the counts behind each rate.

    Cohorts: `orders`, losses and exceptions count orders created in the window; fulfilment
    counts paid orders whose promise fell in it (passed by now), less those the customer's side
    cancelled; on-time and delivery minutes count orders signed in it; utilisation is rider
    time in it. A rate is None when its denominator is zero."""

    orders: int = Field(description="Orders created in the window.")
    amount_cents: int = Field(description="Their value.")
    due: int = Field(
        description="Paid orders promised in the window (promise passed), less "
        "customer cancellations."
    )
    fulfilled: int = Field(description="Of `due`, those signed.")
    fulfilment_rate: float | None = Field(description="`fulfilled` / `due`.")
    signed: int = Field(description="Orders signed in the window.")
    on_time: int = Field(description="Of `signed`, those signed at or before the promise.")
    on_time_rate: float | None = Field(description="`on_time` / `signed`.")
    delivery_minutes_avg: float | None = Field(description="Paid to signed, mean, of `signed`.")
    delivery_minutes_p90: float | None = Field(
        description="Paid to signed, 90th percentile (nearest rank)."
    )
    out_of_stock: int = Field(description="Of `orders`, those that ran out of stock.")
    damaged: int = Field(description="Of `orders`, those that went to a claim (damaged goods).")
    returned: int = Field(description="Of `orders`, those the customer refused (return).")
    lost: int = Field(description="Of `orders`, those with any of the three.")
    loss_rate: float | None = Field(description="`lost` / `orders`.")
    exceptions: int = Field(description="Of `orders`, those that went through EXCEPTION.")
    exception_rate: float | None = Field(description="`exceptions` / `orders`.")
    online_minutes: float | None = Field(
        description="Rider time online in the window (None "
        "under a channel filter: riders serve every channel)."
    )
    delivering_minutes: float | None = Field(
        description="Of it, time carrying orders (delivering, exception, returning)."
    )
    rider_utilisation: float | None = Field(description="`delivering_minutes` / `online_minutes`.")


class KpiWindow(WireModel):
    """The window and filter a KPI answer covers. `end` is never later than the server's now."""

    start: datetime
    end: datetime
    channel: Channel | None = None
    warehouse_id: str | None = None
    zone: str | None = None


class ChannelKpis(WireModel):
    channel: Channel
    figures: KpiFigures


class KpiSummary(WireModel):
    """Answer of `GET /api/v1/kpi/summary`, and what the `kpi` stream topic pushes."""

    window: KpiWindow
    current: KpiFigures
    previous: KpiFigures = Field(description="The window of the same length just before.")
    by_channel: list[ChannelKpis] = Field(description="`current`, per channel that had orders.")
    computed_at: datetime = Field(description="The server's clock when it was computed.")


class KpiBucket(WireModel):
    """One bucket of a KPI time series (its cohorts as in `KpiFigures`)."""

    start: datetime
    figures: KpiFigures
    orders_by_channel: dict[str, int] = Field(description="Orders created, per channel.")


class KpiSeries(WireModel):
    """Answer of `GET /api/v1/kpi/series`: buckets from the window's start, oldest first."""

    window: KpiWindow
    bucket_minutes: int
    buckets: list[KpiBucket]


class ExceptionCount(WireModel):
    """How often orders entered a trouble state for one reason in the window."""

    state: OrderState
    reason: str = Field(description="As given by whoever reported it; empty when none was.")
    count: int


class KpiExceptions(WireModel):
    """Answer of `GET /api/v1/kpi/exceptions`: trouble by state and reason, most frequent first
    (from the event log; the alert engine's rules will join here)."""

    window: KpiWindow
    by_state: dict[str, int]
    by_reason: list[ExceptionCount]


class LedgerLine(WireModel):
    """A count of orders and their value."""

    orders: int = 0
    amount_cents: int = 0


class ChannelLedger(WireModel):
    """One channel's day in the KPI ledger: what it sent against what we recorded, and how
    those orders ended (the gateway's own reconciliation: `ChannelReconciliation`)."""

    channel: Channel
    sent: LedgerLine = Field(description="What the channel sent us.")
    sent_source: Literal["intake", "statement"] = Field(
        description="`intake`: the orders its own account created through POST /orders; "
        "`statement`: the channel's own report of the day."
    )
    recorded: LedgerLine = Field(description="Our orders for the channel created that day.")
    difference: LedgerLine = Field(description="`recorded` - `sent`.")
    matches: bool
    only_recorded: list[str] = Field(
        description="Channel order ids we hold that it did not send (up to 50)."
    )
    only_sent: list[str] = Field(
        description="Channel order ids it sent that we do not hold (up to 50)."
    )
    paid: LedgerLine
    signed: LedgerLine
    cancelled: LedgerLine
    returned: LedgerLine
    claimed: LedgerLine = Field(description="Settled or open damage claims.")
    open: LedgerLine = Field(description="Not yet in a final state.")


class ReconciliationReport(WireModel):
    """Answer of `GET /api/v1/kpi/reconciliation`: one day, per channel."""

    day: date
    tz: str
    start: datetime
    end: datetime
    channels: list[ChannelLedger]
    sent: LedgerLine
    recorded: LedgerLine
    matches: bool


# --- The live stream (see docs/stream.md) ------------------------------------------------------


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


class Hello(WireModel):
    """The client's first message: what to receive, and the last `seq` it applied."""

    type: Literal["hello"] = "hello"
    topics: Annotated[list[Topic], Field(min_length=1, max_length=10)]
    since: Annotated[int, Field(ge=0, le=2**62)] | None = None
    warehouse_id: Code | None = None
    zone: Annotated[str, text(60)] | None = None


class ClientHeartbeat(WireModel):
    """Sent by the client every `heartbeat_seconds`; the server drops a client silent for 40 s."""

    type: Literal["heartbeat"] = "heartbeat"


class Welcome(WireModel):
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


class PositionMessage(WireModel):
    """A rider's newest fix: latest wins, coalesced per rider, not in the durable seq stream."""

    type: Literal["position"] = "position"
    rider_id: int
    warehouse_id: str
    lat: float
    lng: float
    at: datetime


class Heartbeat(WireModel):
    """Sent by the server every `heartbeat_seconds`, with the log's newest seq."""

    type: Literal["heartbeat"] = "heartbeat"
    last_seq: int
    at: datetime


class SnapshotRequired(WireModel):
    """`since` is older than what can be replayed: reload over REST, then apply events after
    `last_seq` (live events keep coming on this connection)."""

    type: Literal["snapshot_required"] = "snapshot_required"
    last_seq: int
    reason: str


class StreamError(WireModel):
    """Sent just before the server closes the connection with the matching close code."""

    type: Literal["error"] = "error"
    code: int
    detail: str


class KpiMessage(WireModel):
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


class EventBatch(WireModel):
    """Answer of the long-poll fallback `GET /api/v1/events`."""

    events: list[Event]
    last_seq: int = Field(description="Pass as `since` next time (covers events you may not see).")
    snapshot_required: bool = False


# --- Sales channels and deliveries (see README "Sales channels") -------------------------------


class ChannelPayload(WireModel):
    """A channel's own JSON, as its platform sends it (field names, ids, units of its own);
    each channel's shape is in README and its adapter in `backend/channels/adapters/`."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "orderNo": "APP-20261122-0001",
                    "userId": 10086,
                    "createdAt": "2026-11-22T03:30:00Z",
                    "expectedArrival": "2026-11-22T04:15:00Z",
                    "receiver": {
                        "name": "Wang Fang",
                        "mobile": "13800138000",
                        "address": "Sanlitun Rd 19, Chaoyang",
                        "location": {"lat": "39.936100", "lng": "116.455100"},
                    },
                    "lines": [{"skuCode": "VEG-BOKCHOY", "qty": 2, "unitPriceCents": 490}],
                    "payableCents": 980,
                    "payStatus": "PAID",
                }
            ]
        },
    )


class ChannelInfo(WireModel):
    """A channel the gateway knows: whether it is taken here, how its fields map to ours,
    and an order and a callback in its own words."""

    channel: Channel
    taken: bool = Field(description="It has a secret here: its signed requests are taken.")
    rate_per_second: int
    fields: dict[str, str] = Field(description="Our field -> the channel's name for it.")
    example_order: ChannelPayload
    example_callback: ChannelPayload


class DeliveryPart(WireModel):
    """Units of one order line carried in a delivery."""

    order_id: int
    sku: str
    quantity: int
    weight_g: int
    cold_chain: bool


class Delivery(WireModel):
    """One parcel a rider carries: several orders when merged, part of one when split."""

    id: int
    status: Literal["open", "out", "done"] = Field(
        description="open: being put together; out: on the road; done: every order settled."
    )
    warehouse_id: str
    rider_id: int | None
    weight_g: int
    cold_chain: bool = Field(description="Needs a rider with a cold-chain box.")
    orders: list[int] = Field(description="Every order with goods in it (merged: several).")
    parts: list[DeliveryPart] = Field(description="What of each order it carries.")
    opened_at: datetime


class ChannelOrderReceipt(WireModel):
    """Answer to a channel's order: the order as we hold it (the same answer to every retry)."""

    channel: Channel
    external_id: str
    order: Order
    deliveries: list[int] = Field(description="Its parcels: one, or several when split.")
    reported_amount_cents: int = Field(description="What the channel says the customer pays.")
    replayed: bool = Field(default=False, description="A retry: this is the first answer.")


class CallbackOutcome(StrEnum):
    """What became of a channel's callback."""

    PENDING = "pending"
    """The order has not arrived yet: kept, and applied when it does."""
    APPLIED = "applied"
    IGNORED = "ignored"
    """Nothing to change (already so)."""
    REFUSED = "refused"
    """Too late for it (e.g. cancelled by the customer while already on the road): recorded
    on the order's timeline and in reconciliation for the desk."""
    RECORDED = "recorded"
    """Kept for the desk and reconciliation (a refund request, a daily statement)."""


class ChannelCallbackResult(WireModel):
    """Answer to a channel's status callback."""

    channel: Channel
    callback_id: str
    external_id: str | None
    kind: Literal["paid", "cancelled", "refund_requested", "statement"]
    outcome: CallbackOutcome
    detail: str
    order: Order | None = None
    replayed: bool = False


class ChannelRejection(WireModel):
    """A payload refused at the gateway, as the operator sees it (never its content)."""

    id: int
    channel: str
    kind: Literal["order", "callback"]
    received_at: datetime
    external_id: str | None
    field: str | None = Field(description="Our name for the field at fault.")
    channel_field: str | None = Field(description="The channel's name for it.")
    problem: str


class ChannelTotals(WireModel):
    """A count of orders and their amount."""

    orders: int
    amount_cents: int


class ReconciliationDifference(WireModel):
    """One thing the channel and we see differently on that day."""

    kind: Literal[
        "amount",
        "cancelled_by_channel",
        "cancelled_here",
        "refund_requested",
        "paid_after_cancel",
        "callback_without_order",
        "not_reported",
        "statement_orders",
        "statement_amount",
    ]
    external_id: str | None
    order_id: int | None
    ours: int | None = Field(description="Our figure (cents, or a count).")
    theirs: int | None = Field(description="The channel's figure.")
    detail: str


class ChannelReconciliation(WireModel):
    """One channel's business day: what we hold against what the channel reported."""

    channel: Channel
    day: date
    held: ChannelTotals = Field(description="Orders we hold from that day, at our prices.")
    held_cancelled: ChannelTotals
    reported: ChannelTotals = Field(description="Orders the channel sent, at its amounts.")
    reported_cancelled: int = Field(description="Cancellations the channel called back.")
    refunds_requested: ChannelTotals
    statement: ChannelTotals | None = Field(description="The channel's own daily totals.")
    differences: list[ReconciliationDifference]


class ErrorBody(WireModel):
    """Every error answer: `detail` says what is wrong; conflicts may add context."""

    model_config = ConfigDict(extra="allow")

    detail: Any
