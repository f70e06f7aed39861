"""Charts on the KPI screen, drawn with plotext inside the app (textual-plotext), coloured from
the current theme's variables and redrawn when the theme changes. Each series also has its own
marker or label, so a chart reads without colour (NO_COLOR: channels become lettered lines)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo

from textual.color import Color
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from backend_client.models import Channel, KpiBucket, KpiSeries

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
    KpiChart {
        height: 1fr; min-height: 10; border: round $panel-lighten-2;
        border-subtitle-align: left; border-subtitle-color: $text;
    }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
        self._painter: Painter | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._repaint())

    def paint(self, painter: Painter, *, title: str | None = None, legend: str = "") -> None:
        """Draw with `painter`; `title` (the figure in words) replaces the border's title and
        `legend` is written under the chart in words (plotext's own legend crowds the plot)."""
        self._painter = painter
        if title is not None:
            self.border_title = title
        self.border_subtitle = legend
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


def _hour(bucket: KpiBucket, zone: tzinfo | None) -> str:
    return f"{bucket.start.astimezone(zone):%H}"


@dataclass(frozen=True)
class DayOrders:
    """Orders created today per hour of the business day and channel, from the first hour that
    had any to the hour now (the empty night before them is not drawn)."""

    hours: list[str]
    channels: list[Channel]
    counts: dict[str, dict[str, int]]
    total: int


def day_orders(series: KpiSeries, zone: tzinfo | None) -> DayOrders:
    """The series' orders by hour (in `zone`, the business time zone) and channel."""
    hours: list[str] = []
    counts: dict[str, dict[str, int]] = {}
    total = 0
    for bucket in series.buckets:
        n = sum(bucket.orders_by_channel.values())
        hour = _hour(bucket, zone)
        if not hours and not n:
            continue  # before the first order of the day
        if hour not in counts:
            hours.append(hour)
            counts[hour] = {}
        total += n
        for channel, k in bucket.orders_by_channel.items():
            counts[hour][channel] = counts[hour].get(channel, 0) + k
    channels = [c for c in Channel if any(c in per for per in counts.values())]
    return DayOrders(hours=hours, channels=channels, counts=counts, total=total)


def orders_title(day: DayOrders) -> str:
    return f"Orders per hour by channel, today: {day.total}"


def orders_legend(day: DayOrders) -> str:
    return " ".join(f"{CHANNEL_LETTER[c]} {c}" for c in day.channels)


def orders_by_hour(series: KpiSeries, zone: tzinfo | None) -> Painter:
    """Orders per hour of the day, stacked by channel."""
    day = day_orders(series, zone)
    hours, channels, counts = day.hours, day.channels, day.counts

    def paint(plt: Plot, colour: Callable[[str], tuple[int, int, int]], plain: bool) -> None:
        if not channels:
            plt.title("no orders yet today")
            return
        rows = [[counts[h].get(c, 0) for h in hours] for c in channels]
        names = [f"{CHANNEL_LETTER[c]} {c}" for c in channels]
        palette = [colour(f"chart-{i % 6 + 1}") for i in range(len(channels))]
        if plain:
            for row, channel in zip(rows, channels, strict=True):
                # The letters are the legend (under the chart): plotext's would repeat them.
                plt.plot(list(range(len(hours))), row, marker=CHANNEL_LETTER[channel])
            plt.xticks(list(range(len(hours))), hours)
        else:
            # textual-plotext's stub names these `label` and one colour; plotext takes a list each.
            plt.stacked_bar(hours, rows, labels=names, color=palette)  # type: ignore[call-arg,arg-type]
        plt.ylabel("orders")

    return paint


@dataclass(frozen=True)
class DayQuality:
    """Orders signed today and how many on time (the on-time rate of the day, over buckets)."""

    signed: int
    on_time: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.signed if self.signed else None


def day_quality_figures(series: KpiSeries) -> DayQuality:
    return DayQuality(
        signed=sum(b.figures.signed for b in series.buckets),
        on_time=sum(b.figures.on_time for b in series.buckets),
    )


def quality_title(day: DayQuality) -> str:
    if day.rate is None:
        return "On time % and delivery minutes, today: none signed"
    return f"On time today: {day.rate * 100:.1f}% of {day.signed} signed; delivery minutes"


QUALITY_LEGEND = "o on time % (left axis, 0-100)   + mean min   x p90 min (right axis)"


def day_quality(series: KpiSeries, zone: tzinfo | None) -> Painter:
    """On-time rate (left axis, 0 to 100 %) and delivery minutes, mean and p90 (right axis), per
    bucket, from the first bucket with anything signed to now."""
    buckets = series.buckets
    first = next((i for i, b in enumerate(buckets) if b.figures.signed), len(buckets))
    buckets = buckets[first:]
    labels = [f"{b.start.astimezone(zone):%H:%M}" for b in buckets]
    on_time = [(i, b.figures.on_time_rate) for i, b in enumerate(buckets)]
    mean = [(i, b.figures.delivery_minutes_avg) for i, b in enumerate(buckets)]
    p90 = [(i, b.figures.delivery_minutes_p90) for i, b in enumerate(buckets)]

    def paint(plt: Plot, colour: Callable[[str], tuple[int, int, int]], plain: bool) -> None:
        drawn = False
        for points, marker, variable, side in (
            (on_time, "o", "lane-ok", "left"),
            (mean, "+", "lane-warn", "right"),
            (p90, "x", "lane-late", "right"),
        ):
            xs = [i for i, v in points if v is not None]
            ys = [v * 100 if side == "left" else v for i, v in points if v is not None]
            if xs:
                # No plotext label: its legend draws the axis side and the marker twice
                # (`L oo o on-time %`); the chart's border says it in words instead.
                plt.plot(xs, ys, marker=marker, color=colour(variable), yside=side)
                drawn = True
        if not drawn:
            plt.title("nothing signed yet today")
            return
        # A rate never passes 100 %: the axis stops there (autoscale ran it to 150 %).
        # textual-plotext's stub types `yside` as a number; plotext takes "left" or "right".
        plt.ylim(0, 100, yside="left")  # type: ignore[arg-type]
        plt.yticks([0, 25, 50, 75, 100], ["0", "25", "50", "75", "100"], yside="left")  # type: ignore[arg-type]
        step = max(1, len(labels) // 8)
        ticks = list(range(0, len(labels), step))
        plt.xticks([float(tick) for tick in ticks], [labels[i] for i in ticks])
        # textual-plotext's stub calls the axis side `xside`; plotext's ylabel takes `yside`.
        plt.ylabel("on time %", yside="left")  # type: ignore[call-arg]
        plt.ylabel("minutes", yside="right")  # type: ignore[call-arg]

    return paint
