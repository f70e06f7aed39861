"""The shared part of the wire contract: enumerations, field types and the two bases.

`Request` (what clients send) refuses unknown fields; `Response` (what the server answers)
ignores them, so a newer server can add a field without breaking an older client.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

# --- Enumerations ---------------------------------------------------------------------------------


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


# --- Shared field types ---------------------------------------------------------------------------

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


# --- The bases: requests strict, responses tolerant -----------------------------------------------


class WireModel(BaseModel):
    """Base for every wire model: text is valid Unicode. Models derive from `Request` or
    `Response`, which say what becomes of a field the model does not know."""

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


class Request(WireModel):
    """What a client sends (a request body, a stream message to the server): a field the server
    does not know is refused (422), so a misspelt field never passes silently as unset."""

    model_config = ConfigDict(extra="forbid")


class Response(WireModel):
    """What the server answers: a field this client does not know is ignored, so a server that
    adds one (a newer version, during a rolling deploy) does not break an older console."""

    model_config = ConfigDict(extra="ignore")


class ErrorBody(Response):
    """Every error answer: `detail` says what is wrong; conflicts may add context."""

    model_config = ConfigDict(extra="allow")

    detail: Any
