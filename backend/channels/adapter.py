"""One interface for every sales channel: read its own payload, map it to our order model.

An adapter declares its platform's payloads as pydantic models in the platform's own field
names, maps a valid payload to `OrderCreate` (ours), and says which of its fields each of ours
came from, so that any refusal names both: `recipient_phone (customer.phone): ...`. Status
callbacks differ only in names and units, so an adapter declares where each of our fields is
(`CallbackFields`) and one mapping here reads them all. Signature and replay checks are the
gateway's (`gate.py`), the same for every channel.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ValidationError

from backend_client.models import Channel, OrderCreate


class CallbackKind(StrEnum):
    """What a channel's callback says, in our words."""

    PAID = "paid"
    CANCELLED = "cancelled"
    """Cancelled by the customer (or the payment window closed) on the platform."""
    REFUND_REQUESTED = "refund_requested"
    STATEMENT = "statement"
    """The platform's own totals for a business day."""


class FieldProblem(Exception):
    """A payload field is missing or wrong: named by our name and the channel's."""

    def __init__(
        self,
        field: str | None,
        channel_field: str | None,
        problem: str,
        *,
        external_id: str | None = None,
    ) -> None:
        super().__init__(problem)
        self.field, self.channel_field, self.problem = field, channel_field, problem
        self.external_id = external_id

    def sentence(self, channel: str) -> str:
        if self.channel_field is None:
            return f"{channel} payload: {self.problem}"
        ours = f" (our {self.field})" if self.field and self.field != self.channel_field else ""
        return f"{channel} field {self.channel_field}{ours}: {self.problem}"


@dataclass(frozen=True, slots=True)
class ChannelOrder:
    """A channel's order mapped to ours, with what only the channel knows."""

    order: OrderCreate
    paid: bool
    """The platform took the money already (stock is reserved on arrival)."""
    reported_amount_cents: int
    """What the platform says the customer pays: discounts and fees make it differ from ours."""
    pickup_point: str | None = None
    """A group-buy leader's pick-up point: orders to it travel together."""

    @property
    def external_id(self) -> str:
        return self.order.external_id

    def digest(self) -> str:
        """The order's content, whatever transport fields (request ids, send times) changed."""
        content = {
            "order": self.order.model_dump(mode="json"),
            "paid": self.paid,
            "amount": self.reported_amount_cents,
            "pickup": self.pickup_point,
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Statement:
    """A platform's totals for one business day."""

    day: date
    orders: int
    amount_cents: int


@dataclass(frozen=True, slots=True)
class ChannelCallback:
    """A channel's status callback, in our words."""

    callback_id: str
    kind: CallbackKind
    occurred_at: datetime
    external_id: str | None = None
    amount_cents: int | None = None
    reason: str | None = None
    statement: Statement | None = None

    def digest(self) -> str:
        """What the callback says, to tell a retry (the same) from a reused id (not the same)."""
        statement = self.statement
        content = {
            "kind": str(self.kind),
            "at": self.occurred_at.astimezone(UTC).isoformat(),
            "order": self.external_id,
            "amount": self.amount_cents,
            "reason": self.reason,
            "statement": None
            if statement is None
            else [statement.day.isoformat(), statement.orders, statement.amount_cents],
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Mapped:
    """What an adapter's `to_order` returns: our order's fields, and where its items were."""

    fields: dict[str, Any]
    paid: bool
    reported_amount_cents: int
    pickup_point: str | None = None
    item_paths: list[str] = field(default_factory=list)
    """The channel's path of each of our items (`detail[2]`), when not simply by index."""


class ReadTime(Protocol):
    """How a channel writes a moment: its value to an aware datetime, or FieldProblem."""

    def __call__(self, value: Any, /, *, our: str, theirs: str) -> datetime: ...


@dataclass(frozen=True, slots=True)
class CallbackFields:
    """Where a channel's status callback keeps each of our `ChannelCallback`'s fields: paths in
    its payload model (`message.orderId`), and how it writes times and amounts."""

    kinds: Mapping[Any, CallbackKind]
    """The channel's event type -> ours."""
    kind: str
    callback_id: str
    occurred_at: str
    read_time: ReadTime
    external_id: str
    amount: str
    """A payment's or refund's amount."""
    reason: str
    statement: str
    """What the channel calls its daily totals, for a refusal: `a bill`."""
    day: str
    orders: str
    takings: str
    yuan: bool = False
    """Amounts in yuan (decimals); else in whole cents."""


class ChannelAdapter(ABC):
    """A sales channel's payloads: parse, check, map to the unified order model."""

    channel: ClassVar[Channel]
    order_payload: ClassVar[type[BaseModel]]
    callback_payload: ClassVar[type[BaseModel]]
    fields: ClassVar[dict[str, str]]
    """Our field -> the channel's (`customer.phone` -> `recipient_phone`; item fields as
    `items[].sku`), for naming both in a refusal."""
    callbacks: ClassVar[CallbackFields]

    @abstractmethod
    def to_order(self, payload: Any) -> Mapped:
        """Our order's fields from a valid payload (raise FieldProblem for what the payload
        model cannot check alone)."""

    def to_callback(self, payload: Any) -> ChannelCallback:
        """Our callback from a valid payload: a statement needs its day and count; anything
        else, the order it is about."""
        where = self.callbacks
        kind = where.kinds[_at(payload, where.kind)]
        callback_id = _at(payload, where.callback_id)
        at = where.read_time(
            _at(payload, where.occurred_at), our="occurred_at", theirs=where.occurred_at
        )
        if kind == CallbackKind.STATEMENT:
            day, orders = _at(payload, where.day), _at(payload, where.orders)
            if day is None or orders is None:
                needs = f"{where.statement} needs {_leaf(where.day)} and {_leaf(where.orders)}"
                raise FieldProblem("statement", where.day, needs)
            takings = self._cents(payload, where.takings, our="statement.amount")
            statement = Statement(
                business_day(day, our="statement.day", theirs=where.day), orders, takings or 0
            )
            return ChannelCallback(callback_id, kind, at, statement=statement)
        external_id = _at(payload, where.external_id)
        if external_id is None:
            raise FieldProblem("external_id", where.external_id, "Field required")
        return ChannelCallback(
            callback_id,
            kind,
            at,
            external_id=str(external_id),
            amount_cents=self._cents(payload, where.amount, our="amount"),
            reason=_at(payload, where.reason),
        )

    def _cents(self, payload: Any, path: str, *, our: str) -> int | None:
        value = _at(payload, path)
        if value is None:
            return None
        return cents_of_yuan(value, our=our, theirs=path) if self.callbacks.yuan else int(value)

    # --- the shared part ------------------------------------------------------------------

    def read_order(self, body: bytes) -> ChannelOrder:
        """The channel's order from its raw body, or FieldProblem naming the field."""
        payload = self._validate(self.order_payload, body)
        mapped = self.to_order(payload)
        external_id = str(mapped.fields.get("external_id") or "") or None
        try:
            order = OrderCreate.model_validate(mapped.fields)
        except ValidationError as exc:
            error = exc.errors()[0]
            ours = _dotted(error["loc"])
            raise FieldProblem(
                ours,
                self.their_name(ours, mapped.item_paths),
                error["msg"],
                external_id=external_id if "external_id" not in ours else None,
            ) from None
        return ChannelOrder(
            order=order,
            paid=mapped.paid,
            reported_amount_cents=mapped.reported_amount_cents,
            pickup_point=mapped.pickup_point,
        )

    def read_callback(self, body: bytes) -> ChannelCallback:
        """The channel's callback from its raw body, or FieldProblem naming the field."""
        return self.to_callback(self._validate(self.callback_payload, body))

    def their_name(self, ours: str, item_paths: list[str] | None = None) -> str:
        """The channel's name for our field `ours` (`items[2].quantity` -> `detail[2].quantity`)."""
        item = re.fullmatch(r"items\[(\d+)\](?:\.(\w+))?", ours)
        if item is None:
            return self.fields.get(ours, ours)
        index, sub = int(item.group(1)), item.group(2)
        if item_paths and index < len(item_paths):
            base = item_paths[index]
        else:
            base = f"{self.fields.get('items', 'items')}[{index}]"
        return base if sub is None else f"{base}.{self.fields.get(f'items[].{sub}', sub)}"

    def our_name(self, theirs: str) -> str | None:
        """Our name for the channel's field, where one of ours comes from it."""
        general = re.sub(r"\[\d+\]", "[]", theirs)
        for ours, their_field in self.fields.items():
            if their_field == theirs:
                return ours
            if their_field == general or f"{self.fields.get('items', '')}[].{their_field}" == (
                general
            ):
                index = re.search(r"\[(\d+)\]", theirs)
                return ours.replace("[]", f"[{index.group(1)}]") if index else ours
        return None

    def _validate(self, model: type[BaseModel], body: bytes) -> Any:
        try:
            raw = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise FieldProblem(None, None, "the body is not JSON") from None
        if not isinstance(raw, dict):
            raise FieldProblem(None, None, "the body must be a JSON object")
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            theirs = _dotted(error["loc"])
            raise FieldProblem(
                self.our_name(theirs), theirs, error["msg"], external_id=self._id_in(raw)
            ) from None

    def _id_in(self, raw: dict[str, Any]) -> str | None:
        """The channel's order id in a payload we refuse, if it is plainly there."""
        their_id = self.fields.get("external_id", "")
        value = raw.get(their_id)
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value)
            if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}", text):
                return text
        return None


def _at(payload: Any, path: str) -> Any:
    """The value at a dotted path of a payload model (`message.orderId`)."""
    for name in path.split("."):
        payload = getattr(payload, name)
    return payload


def _leaf(path: str) -> str:
    return path.rpartition(".")[2]


def _dotted(loc: tuple[int | str, ...]) -> str:
    """`("detail", 0, "quantity")` -> `detail[0].quantity`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


# --- Units platforms use ------------------------------------------------------------------------


def cents_of_yuan(value: Decimal | float | str, *, our: str, theirs: str) -> int:
    """Yuan (a decimal, a float or a string, as platforms send them) in whole cents."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise FieldProblem(our, theirs, "not an amount in yuan") from None
    if not amount.is_finite() or amount < 0:
        raise FieldProblem(our, theirs, "not an amount in yuan")
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def coordinate(value: str | float, *, our: str, theirs: str, scale: float = 1.0) -> float:
    """A latitude or longitude from a string or a scaled integer (degrees x `scale`)."""
    try:
        degrees = float(value) / scale
    except (TypeError, ValueError):
        raise FieldProblem(our, theirs, "not a coordinate") from None
    return round(degrees, 6)


# Platforms in China send local times without a zone.
CHINA = timezone(timedelta(hours=8), "CST")


def china_time(text: str, fmt: str, *, our: str, theirs: str) -> datetime:
    """A platform's local time string (Beijing time) as an aware datetime."""
    try:
        return datetime.strptime(text, fmt).replace(tzinfo=CHINA)
    except ValueError:
        raise FieldProblem(our, theirs, f"not a time like {fmt}") from None


def unix_time(seconds: float, *, our: str, theirs: str) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise FieldProblem(our, theirs, "not a Unix time") from None


def unix_millis(milliseconds: float, *, our: str, theirs: str) -> datetime:
    return unix_time(milliseconds / 1000, our=our, theirs=theirs)


def aware_time(moment: datetime, *, our: str, theirs: str) -> datetime:
    """A time the payload model parsed already (ISO 8601 with its zone)."""
    return moment


def business_day(text: str, *, our: str, theirs: str) -> date:
    """A statement's day, `2026-11-22`."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldProblem(our, theirs, "not a date like 2026-11-22") from None
