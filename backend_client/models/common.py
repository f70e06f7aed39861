"""The shared part of the wire contract: enumerations, field types and the two bases.

`Request` (what clients send) refuses unknown fields; `Response` (what the server answers)
ignores them, so a newer server can add a field without breaking an older client.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    field_validator,
)

# --- Enumerations ---------------------------------------------------------------------------------


class Role(StrEnum):
    """What an account is allowed to do; see the permission table in docs/permissions.md."""

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


# Names show on every screen: one normaliser for all of them. NFC, so that one name is one
# string; characters that draw nothing are dropped at the ends (and the zero-width space, word
# joiner, byte order mark and soft hyphen anywhere: no name needs them), while a joiner inside
# a word or an emoji sequence stays. Refused: a name of nothing visible, and any direction
# embedding, override or isolate (U+202A-U+202E, U+2066-U+2069), which reorder the text shown
# after the name as well as the name itself.
DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NEVER_IN_A_NAME = str.maketrans(dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad")))
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
_BLANK_AT_THE_ENDS = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
_DRAWS_NOTHING = _BLANK_AT_THE_ENDS | {"Mn", "Me"}


def _blank(ch: str, categories: frozenset[str]) -> bool:
    return ch in _BLANK_LETTERS or unicodedata.category(ch) in categories


def normalise_name(value: str) -> str:
    """A person's name as it is kept and shown; ValueError if it cannot be shown honestly."""
    name = unicodedata.normalize("NFC", value).translate(_NEVER_IN_A_NAME)
    if any(ch in DIRECTION_CONTROLS for ch in name):
        raise ValueError(
            "a name may not hold direction controls (U+202A-U+202E, U+2066-U+2069): "
            "they reorder what is shown around it"
        )
    start, end = 0, len(name)
    while start < end and _blank(name[start], _BLANK_AT_THE_ENDS):
        start += 1
    while end > start and _blank(name[end - 1], _BLANK_AT_THE_ENDS):
        end -= 1
    name = name[start:end]
    if all(_blank(ch, _DRAWS_NOTHING) for ch in name):
        raise ValueError("a name needs a visible character; this one has only invisible ones")
    return name


Name = Annotated[str, text(120), AfterValidator(normalise_name)]
Reason = Annotated[str, text(500)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{4,22}[0-9]$")
]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]

# Times and days a client sends (bodies and query parameters alike): ISO 8601 text only (lax
# parsing would read `0.5` or `20261122` as Unix time), and within the years the service can
# compute with. A day or an instant near year 1 or 9999 overflows as soon as a window is laid
# around it (a day's end, the window before, a time zone's offset): a 422 naming the field
# instead of a 500.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_time_text(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_TIME.match(value)):
        return value
    raise ValueError("expected an ISO 8601 date-time with its offset, e.g. 2026-11-22T10:30:00Z")


def _iso_day_text(value: Any) -> Any:
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.match(value)):
        return value
    raise ValueError("expected an ISO 8601 date, e.g. 2026-11-22")


# The bounds come before the text check: so placed, pydantic checks them inside its own
# datetime validator rather than in Python after it (1 us a value less: a fleet batch has 5,000).
Moment = Annotated[
    AwareDatetime,
    Field(ge=EARLIEST, lt=LATEST),
    Strict(False),
    BeforeValidator(_iso_time_text),
]
"""An instant a client sends: ISO 8601 with its offset, from 2000 up to 9000."""
Day = Annotated[
    date, Field(ge=EARLIEST.date(), lt=LATEST.date()), Strict(False), BeforeValidator(_iso_day_text)
]
"""A calendar day a client sends: YYYY-MM-DD, from 2000 up to 9000."""
ByValue = Strict(False)
"""On an enumeration in a request: JSON carries the enum's value, a string, which strict mode
would refuse for want of the enum itself (an enum takes nothing but its values anyway)."""
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
    does not know is refused (422), so a misspelt field never passes silently as unset.

    Strict: a value has the type the schema says, as JSON writes it; `"1"` or `1.0` is no
    integer, `0` or `"true"` no boolean, `"39.9"` no number (an integer is a number). Enums,
    times and days, which JSON can only write as text, say so on their fields (`ByValue`,
    `Moment`, `Day`)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Response(WireModel):
    """What the server answers: a field this client does not know is ignored, so a server that
    adds one (a newer version, during a rolling deploy) does not break an older console."""

    model_config = ConfigDict(extra="ignore")


class ErrorBody(Response):
    """Every error answer: `detail` says what is wrong; conflicts may add context."""

    model_config = ConfigDict(extra="allow")

    detail: Any
