"""A KPI tile: the figure in big digits (Textual `Digits`), what it is, and how it moved against
the previous window, in words and arrows as well as colour (NO_COLOR and 16-colour terminals
read the same). Focusable: the screen's `enter`, or a click, opens what is behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Digits

from backend_client.models import KpiFigures
from widgets.live_text import LiveText

Better = Literal["higher", "lower"] | None


@dataclass(frozen=True)
class TileSpec:
    """One tile: which figure, how to print it, which way is good."""

    key: str
    title: str
    field: str
    unit: Literal["%", "min", "n"]
    better: Better


def value_text(figures: KpiFigures | None, spec: TileSpec) -> str:
    """The figure for `Digits`: "97.5%", "34.2", "128", or "--" when there is none."""
    value = getattr(figures, spec.field) if figures is not None else None
    if value is None:
        return "--"
    match spec.unit:
        case "%":
            return f"{value * 100:.1f}%"
        case "min":
            return f"{value:.1f}"
    return f"{value:d}"


def change_text(
    current: KpiFigures | None, previous: KpiFigures | None, spec: TileSpec
) -> tuple[str, Literal["better", "worse", "same", "none"]]:
    """E.g. ("▲2.1pt better", "better"), ("▼1.6m better", "better"), ("▲7", "same"); short
    enough for a narrow tile, and in words as well as colour."""
    now = getattr(current, spec.field) if current is not None else None
    before = getattr(previous, spec.field) if previous is not None else None
    if now is None or before is None:
        return "no earlier", "none"
    delta = now - before
    if spec.unit == "%":
        amount, step = f"{abs(delta) * 100:.1f}pt", 0.0005
    elif spec.unit == "min":
        amount, step = f"{abs(delta):.1f}m", 0.05
    else:
        amount, step = f"{abs(delta):d}", 0.5
    if abs(delta) < step:
        return "= same", "same"
    arrow = "▲" if delta > 0 else "▼"
    if spec.better is None:
        return f"{arrow}{amount}", "same"
    good = (delta > 0) == (spec.better == "higher")
    return f"{arrow}{amount} {'better' if good else 'worse'}", "better" if good else "worse"


class KpiTile(Vertical, can_focus=True):
    """Big digits with the title in the border and the change underneath."""

    DEFAULT_CSS = """
    KpiTile {
        height: 6; min-width: 15; padding: 0 1;
        border: round $panel-lighten-2; border-title-color: $text-muted;
    }
    KpiTile:focus { border: round $accent; border-title-color: $text; }
    KpiTile > Digits { width: auto; }
    KpiTile > LiveText { color: $text-muted; }
    KpiTile > LiveText.-better { color: $kpi-better; }
    KpiTile > LiveText.-worse { color: $kpi-worse; text-style: bold; }
    KpiTile.-stale > Digits { color: $text-disabled; }
    """

    class Opened(Message):
        """The tile was chosen (enter or click)."""

        def __init__(self, tile: KpiTile) -> None:
            super().__init__()
            self.tile = tile

    def __init__(self, spec: TileSpec) -> None:
        super().__init__(id=f"tile-{spec.key}")
        self.spec = spec
        self.border_title = spec.title

    def compose(self) -> ComposeResult:
        yield Digits("--")
        yield LiveText("")

    def show(self, current: KpiFigures | None, previous: KpiFigures | None) -> None:
        digits = self.query_one(Digits)
        value = value_text(current, self.spec)
        if digits.value != value:
            digits.update(value)
        text, verdict = change_text(current, previous, self.spec)
        change = self.query_one(LiveText)
        change.show(text)
        change.set_class(verdict == "better", "-better")
        change.set_class(verdict == "worse", "-worse")

    def on_click(self) -> None:
        self.post_message(self.Opened(self))
