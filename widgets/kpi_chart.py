"""Charts on the KPI screen, drawn with plotext inside the app (textual-plotext), coloured from
the current theme's variables and redrawn when the theme changes. Each series also has its own
marker or label, so a chart reads without colour (NO_COLOR: channels become lettered lines)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from textual.color import Color
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from backend_client.models import Channel, KpiExceptions, KpiSeries

Painter = Callable[[Plot, Callable[[str], tuple[int, int, int]], bool], None]
"""Draws on the plot, given a theme-variable -> RGB lookup and whether colour is off."""

CHANNEL_LETTER = {
    Channel.APP: "A",
    Channel.MINI_PROGRAM: "M",
    Channel.MEITUAN: "T",
    Channel.ELEME: "E",
    Channel.STORE: "S",
    Channel.GROUP_BUY: "G",
}


class KpiChart(PlotextPlot):
    """A plot whose content is a painter, run again on new data and on a theme change."""

    DEFAULT_CSS = """
    KpiChart { height: 1fr; min-height: 10; border: round $panel-lighten-2; }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
        self._painter: Painter | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._repaint())

    def paint(self, painter: Painter) -> None:
        self._painter = painter
        self._repaint()

    def _repaint(self) -> None:
        plt = self.plt
        plt.clear_figure()
        if self._painter is not None:
            self._painter(plt, self._colour, self.app.no_color)
        self.refresh()

    def _colour(self, variable: str) -> tuple[int, int, int]:
        value = self.app.theme_variables.get(variable) or self.app.theme_variables["foreground"]
        return Color.parse(value).rgb


def _hour_labels(series: KpiSeries, zone: tzinfo | None) -> list[str]:
    return [f"{b.start.astimezone(zone):%H:%M}" for b in series.buckets]


def orders_by_hour(series: KpiSeries, zone: tzinfo | None) -> Painter:
    """Orders per hour of the day, stacked by channel."""
    hours: list[str] = []
    counts: dict[str, dict[str, int]] = {}
    for bucket in series.buckets:
        hour = f"{bucket.start.astimezone(zone):%H}"
        if hour not in counts:
            hours.append(hour)
            counts[hour] = {}
        for channel, n in bucket.orders_by_channel.items():
            counts[hour][channel] = counts[hour].get(channel, 0) + n
    channels = [c for c in Channel if any(c in per for per in counts.values())]

    def paint(plt: Plot, colour: Callable[[str], tuple[int, int, int]], plain: bool) -> None:
        if not channels:
            plt.title("no orders yet today")
            return
        rows = [[counts[h].get(c, 0) for h in hours] for c in channels]
        names = [f"{CHANNEL_LETTER[c]} {c}" for c in channels]
        palette = [colour(f"chart-{i % 6 + 1}") for i in range(len(channels))]
        if plain:
            for row, name, channel in zip(rows, names, channels, strict=True):
                plt.plot(list(range(len(hours))), row, marker=CHANNEL_LETTER[channel], label=name)
            plt.xticks(list(range(len(hours))), hours)
        else:
            # textual-plotext's stub names these `label` and one colour; plotext takes a list each.
            plt.stacked_bar(hours, rows, labels=names, color=palette)  # type: ignore[call-arg,arg-type]
        plt.ylabel("orders")

    return paint


def day_quality(series: KpiSeries, zone: tzinfo | None) -> Painter:
    """On-time rate (left axis) and delivery minutes, mean and p90 (right axis), per bucket."""
    labels = _hour_labels(series, zone)
    on_time = [(i, b.figures.on_time_rate) for i, b in enumerate(series.buckets)]
    mean = [(i, b.figures.delivery_minutes_avg) for i, b in enumerate(series.buckets)]
    p90 = [(i, b.figures.delivery_minutes_p90) for i, b in enumerate(series.buckets)]

    def paint(plt: Plot, colour: Callable[[str], tuple[int, int, int]], plain: bool) -> None:
        drawn = False
        for points, marker, name, variable, side in (
            (on_time, "o", "o on-time %", "lane-ok", "left"),
            (mean, "+", "+ mean min", "lane-warn", "right"),
            (p90, "x", "x p90 min", "lane-late", "right"),
        ):
            xs = [i for i, v in points if v is not None]
            ys = [v * 100 if side == "left" else v for i, v in points if v is not None]
            if xs:
                plt.plot(xs, ys, marker=marker, label=name, color=colour(variable), yside=side)
                drawn = True
        if not drawn:
            plt.title("nothing signed yet today")
            return
        step = max(1, len(labels) // 8)
        ticks = list(range(0, len(labels), step))
        plt.xticks([float(tick) for tick in ticks], [labels[i] for i in ticks])
        # textual-plotext's stub calls the axis side `xside`; plotext's ylabel takes `yside`.
        plt.ylabel("on time %", yside="left")  # type: ignore[call-arg]
        plt.ylabel("minutes", yside="right")  # type: ignore[call-arg]

    return paint


def trouble_by_reason(exceptions: KpiExceptions, width: int = 32) -> Painter:
    """Trouble so far today, most frequent reasons first (state: reason)."""
    rows = exceptions.by_reason[:6]

    def label(state: str, reason: str) -> str:
        text = f"{state.replace('_', ' ').lower()}: {reason or 'no reason given'}"
        return text if len(text) <= width else text[: width - 1] + "…"

    def paint(plt: Plot, colour: Callable[[str], tuple[int, int, int]], plain: bool) -> None:
        if not rows:
            plt.title("no trouble yet today")
            return
        names = [label(r.state, r.reason) for r in reversed(rows)]
        values = [r.count for r in reversed(rows)]
        plt.bar(
            names,
            values,
            orientation="horizontal",
            width=0.4,
            color=colour("severity-warning"),
        )

    return paint
