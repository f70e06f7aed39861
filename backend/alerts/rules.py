"""The alert rules' thresholds, and the customer notification rules (`[notify.*]`): a TOML
file the operator can change while the backend runs.

`RuleBook` holds the rules in force. It reads its file again when the file's modification time
changes; a file that does not parse or validate is not taken (the rules in force stay) and the
error is kept for `GET /alerts/rules` and logged.
"""

from __future__ import annotations

import logging
import tomllib
from datetime import datetime
from pathlib import Path
from string import Formatter
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from backend_client.models import AlertSeverity

log = logging.getLogger(__name__)

DEFAULT_FILE = Path(__file__).with_name("rules.toml")


class Section(BaseModel):
    """One rule's settings; a misspelt key is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    severity: AlertSeverity = AlertSeverity.WARNING


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after_minutes: float = Field(default=10, gt=0)


class Overdue(Section):
    critical_after_minutes: float = Field(default=30, ge=0)


class PredictedLate(Section):
    grace_minutes: float = Field(default=0, ge=0)


class Stationary(Section):
    minutes: float = Field(default=10, gt=0)
    radius_m: float = Field(default=50, gt=0, le=5000)


class GpsSilent(Section):
    severity: AlertSeverity = AlertSeverity.CRITICAL
    idle_severity: AlertSeverity = AlertSeverity.WARNING
    minutes: float = Field(default=5, gt=0)


class OffRoute(Section):
    metres: float = Field(default=500, gt=0)


class Waiting(Section):
    minutes: float = Field(default=15, gt=0)


class ColdChain(Section):
    severity: AlertSeverity = AlertSeverity.CRITICAL
    min_celsius: float = 0.0
    max_celsius: float = 8.0
    max_reading_age_minutes: float = Field(default=30, gt=0)


class HumidityBand(BaseModel):
    """The relative humidity one class of goods keeps well in, percent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_percent: float = Field(ge=0, le=100)
    max_percent: float = Field(ge=0, le=100)


DEFAULT_HUMIDITY = {
    "vegetables": HumidityBand(min_percent=85, max_percent=98),
    "fruit": HumidityBand(min_percent=80, max_percent=95),
    "meat": HumidityBand(min_percent=80, max_percent=95),
    "seafood": HumidityBand(min_percent=85, max_percent=98),
    "dairy": HumidityBand(min_percent=60, max_percent=90),
    "eggs": HumidityBand(min_percent=65, max_percent=85),
}


class Humidity(Section):
    """Per class of goods (the catalogue's category), the band the newest humidity reading
    of an order's box or its rider's vehicle must be in; classes not named are not checked."""

    max_reading_age_minutes: float = Field(default=30, gt=0)
    classes: dict[str, HumidityBand] = Field(default_factory=lambda: dict(DEFAULT_HUMIDITY))


class UnderstaffedZone(Section):
    """A zone whose planned riders fall short of the forecast's need for an hour
    (`backend/staffing/forecast.py`), told `minutes_ahead` before the hour starts."""

    minutes_ahead: float = Field(default=30, ge=0, le=24 * 60)
    orders_per_rider_hour: float = Field(default=3.0, gt=0, le=100)
    """What one rider delivers in an hour: the forecast divided by it is the riders needed."""
    history_weeks: int = Field(default=4, ge=1, le=52)
    """How many past weeks the forecast averages, the same hour of the same weekday each."""


SkuCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
"""A catalogue SKU as the API spells it (`VEG-BOKCHOY`)."""

DEFAULT_STOCK_THRESHOLDS = {"EGG-DOZEN": 15}
"""The packaged file's per-SKU thresholds: eggs sell about twice as fast as any other item."""


class LowStock(Section):
    """A warehouse's SKUs whose available units are at or below their threshold, or would run
    out within `run_out_minutes` at the last hour's reservation rate (`backend/alerts/
    low_stock.py`); one alert per warehouse."""

    default_threshold: int = Field(default=10, ge=0, le=1_000_000, strict=True)
    """Units available at or below which a SKU is low, unless `thresholds` names it."""
    thresholds: dict[SkuCode, Annotated[int, Field(ge=0, le=1_000_000, strict=True)]] = Field(
        default_factory=lambda: dict(DEFAULT_STOCK_THRESHOLDS)
    )
    """Per SKU, in place of `default_threshold`; a file naming one replaces this whole table."""
    run_out_minutes: float = Field(default=30, ge=0, le=24 * 60)
    """Low too if it would run out this soon at the last hour's rate; 0 turns this off."""

    def threshold(self, sku: str) -> int:
        return self.thresholds.get(sku, self.default_threshold)


PLACEHOLDERS = frozenset({"reference", "eta", "promised", "tracking_url"})
"""What a customer message may name (`backend/notifications/messages.py` fills them in):
`{reference}` the channel's order number, `{eta}` the expected arrival ("about 14:30", or "as
soon as we can"), `{promised}` the promised time (HH:MM), `{tracking_url}` the customer's
tracking link (empty while there is none). Nothing else about the customer."""


def check_template(template: str) -> str:
    """`template` if it names only `PLACEHOLDERS`; else ValueError naming the stranger."""
    try:
        fields = [field for _, field, _, _ in Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise ValueError(f"not a template: {exc}") from None
    for field in fields:
        if field not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
            raise ValueError(f"unknown placeholder {{{field}}}: use {known}")
    return template


class Notice(BaseModel):
    """One customer notification rule: whether it is on, and its message (`PLACEHOLDERS`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    message: str = Field(min_length=1, max_length=400)

    @field_validator("message")
    @classmethod
    def _known_placeholders(cls, template: str) -> str:
        return check_template(template)


class EtaSoonNotice(Notice):
    message: str = "Your order {reference} arrives in a few minutes ({eta}). {tracking_url}"
    minutes: float = Field(default=10, gt=0, le=240)
    """Told once, when the ETA is this close."""


class LateNotice(Notice):
    message: str = (
        "Sorry, your order {reference} is running late: it should now arrive {eta} "
        "(promised {promised}). {tracking_url}"
    )
    grace_minutes: float = Field(default=0, ge=0, le=240)
    """Past its promise, or its ETA past it, by more than this."""


class ExceptionNotice(Notice):
    message: str = (
        "Your order {reference} met a problem on the road; we are on it and it should now "
        "arrive {eta}. {tracking_url}"
    )


class SignedNotice(Notice):
    message: str = "Your order {reference} was delivered. Thank you!"


class SurveyNotice(Notice):
    message: str = (
        "Your order {reference} has not been signed for. How did it go? Tell us and we will "
        "put it right."
    )
    hours: float = Field(default=72, gt=0, le=24 * 30)
    """This long after it went out for delivery without a signature (seed 002: "not signed
    in 3 days -> survey")."""


class HandoverNotice(Notice):
    message: str = (
        "Your order {reference} is now with another rider after a problem on the road; it "
        "should arrive {eta}. {tracking_url}"
    )


class AutoHandover(BaseModel):
    """Handing a rider's orders to nearby riders by itself (`backend/takeover`): proposed at
    once after an accident report or a critical GPS silence, carried out after `minutes`
    without a dispatcher's decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    minutes: float = Field(default=5, gt=0, le=240)
    """`auto_handover_minutes`: how long a proposal waits for a dispatcher."""
    reach_m: float = Field(default=5_000, gt=0, le=50_000)
    """Riders farther than this from the goods are not proposed."""


class Notify(BaseModel):
    """The customer notification rules (`[notify.*]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_age_minutes: float = Field(default=60, gt=0, le=7 * 24 * 60)
    """A change older than this is not told any more (a backend back after an outage, or
    notifications just turned on, does not message yesterday's customers)."""
    eta_soon: EtaSoonNotice = EtaSoonNotice()
    late: LateNotice = LateNotice()
    exception: ExceptionNotice = ExceptionNotice()
    signed: SignedNotice = SignedNotice()
    unsigned_survey: SurveyNotice = SurveyNotice()
    handover: HandoverNotice = HandoverNotice()
    """Told when a handover the system made (or a dispatcher accepted) moved the order."""


class Rules(BaseModel):
    """Every rule's thresholds (defaults as in the packaged rules.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    escalation: Escalation = Escalation()
    delivery_overdue: Overdue = Overdue()
    predicted_late: PredictedLate = PredictedLate()
    rider_stationary: Stationary = Stationary()
    gps_silent: GpsSilent = GpsSilent()
    off_route: OffRoute = OffRoute()
    not_picked: Waiting = Waiting()
    payment_pending: Waiting = Waiting(severity=AlertSeverity.INFO)
    out_of_stock: Section = Section()
    cold_chain_temperature: ColdChain = ColdChain()
    humidity: Humidity = Humidity()
    delivery_exception: Section = Section(severity=AlertSeverity.CRITICAL)
    return_requested: Section = Section()
    claim_requested: Section = Section()
    understaffed_zone: UnderstaffedZone = UnderstaffedZone()
    low_stock: LowStock = LowStock()
    complaint_opened: Section = Section()
    auto_handover: AutoHandover = AutoHandover()
    notify: Notify = Notify()


def parse_rules(text: str) -> Rules:
    """Rules from TOML text; raises ValueError naming what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML: {exc}") from None
    try:
        rules = Rules.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(problems) from None
    band = rules.cold_chain_temperature
    if band.min_celsius >= band.max_celsius:
        raise ValueError("cold_chain_temperature: min_celsius must be below max_celsius")
    for name, humid in rules.humidity.classes.items():
        if humid.min_percent >= humid.max_percent:
            raise ValueError(f"humidity.classes.{name}: min_percent must be below max_percent")
    return rules


class RuleBook:
    """The rules in force, read from `path` and read again whenever the file changes."""

    def __init__(self, path: Path | None = None, *, now: datetime) -> None:
        self.path = path or DEFAULT_FILE
        self.rules = Rules()
        self.loaded_at = now
        self.error: str | None = None
        self._stamp: tuple[float, int] | None = None
        self.refresh(now)

    def refresh(self, now: datetime) -> bool:
        """Read the file again if it changed; whether new rules were taken."""
        try:
            stat = self.path.stat()
        except OSError as exc:
            return self._refuse(f"cannot read {self.path}: {exc.strerror}", None)
        stamp = (stat.st_mtime, stat.st_size)
        if stamp == self._stamp:
            return False
        try:
            rules = parse_rules(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            return self._refuse(f"{self.path.name}: {exc}", stamp)
        self.rules, self.loaded_at, self.error, self._stamp = rules, now, None, stamp
        log.info("alert rules loaded from %s", self.path)
        return True

    def _refuse(self, error: str, stamp: tuple[float, int] | None) -> bool:
        if error != self.error:
            log.error("alert rules not taken, the rules in force stay: %s", error)
        self.error, self._stamp = error, stamp
        return False

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return self.rules.model_dump(mode="json")
