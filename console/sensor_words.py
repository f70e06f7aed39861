"""Sensor readings in words, for the order detail and the KPI screen: the figure, where it was
read and when, and the band it should be in; `!!` where it is outside (urgency reads without
colour). Rich text only: no Textual."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

from rich.text import Text

from backend_client.models import Alert, AlertRule, LatestReading, OrderSensors, SensorKpis

SOURCE_WORDS = {"box": "its box", "vehicle": "rider's vehicle"}


def band_words(bands: dict[str, tuple[float, float]]) -> str:
    """`dairy 60-90 %, eggs 65-85 %`."""
    return ", ".join(f"{name} {low:g}-{high:g} %" for name, (low, high) in bands.items())


def _reading(
    reading: LatestReading | None, unit: str, wants: str, outside: bool, zone: tzinfo | None
) -> Text:
    if reading is None:
        return Text("no recent reading", style="dim")
    text = Text()
    if outside:
        text.append("!! ", style="bold")
    text.append(f"{reading.value:g} {unit}", style="bold" if outside else "")
    text.append(f" · {SOURCE_WORDS.get(reading.source, reading.source)}")
    text.append(f" {reading.at.astimezone(zone):%H:%M}")
    if wants:
        text.append(f" · wants {wants}", style="bold" if outside else "dim")
    return text


def order_sensor_rows(sensors: OrderSensors, zone: tzinfo | None) -> list[tuple[str, Text]]:
    """(label, words) for the order's temperature and humidity."""
    rows: list[tuple[str, Text]] = []
    celsius, band = sensors.celsius, sensors.celsius_band
    if celsius is not None or band is not None:
        outside = (
            celsius is not None and band is not None and not band[0] <= celsius.value <= band[1]
        )
        wants = f"{band[0]:g}-{band[1]:g} °C" if band else ""
        rows.append(("temperature", _reading(celsius, "°C", wants, outside, zone)))
    humidity, bands = sensors.humidity, sensors.humidity_bands
    wrong = (
        {}
        if humidity is None
        else {n: b for n, b in bands.items() if not b[0] <= humidity.value <= b[1]}
    )
    if humidity is not None or bands:
        rows.append(
            ("humidity", _reading(humidity, "%", band_words(wrong or bands), bool(wrong), zone))
        )
    return rows


def sensor_alerts(alerts: Iterable[Alert]) -> tuple[int, int]:
    """Standing (cold chain, humidity) alerts."""
    rules = [a.rule for a in alerts]
    return rules.count(AlertRule.COLD_CHAIN_TEMPERATURE), rules.count(AlertRule.HUMIDITY)


def kpi_sensor_line(sensors: SensorKpis | None, alerts: tuple[int, int]) -> Text:
    """`Sensors: 1.5-9.5 °C (~4.2) · humidity 62-97 % (~88.4) · !! 2 cold-chain, 1 humidity
    alerts`: the range read in the window and its mean, short enough for 80 columns."""
    text = Text("Sensors: ", style="bold")
    if sensors is None:
        text.append("not reported by this server", style="dim")
        return text
    measures = (
        (sensors.celsius_min, sensors.celsius_avg, sensors.celsius_max, "°C", ""),
        (sensors.humidity_min, sensors.humidity_avg, sensors.humidity_max, "%", "humidity "),
    )
    for low, mean, high, unit, name in measures:
        if name:
            text.append(" · ")
        if low is None or mean is None or high is None:
            text.append(f"{name or 'temperature '}not read", style="dim")
        else:
            text.append(f"{name}{low:g}-{high:g} {unit} (~{mean:.1f})")
    cold, humid = alerts
    text.append(" · ")
    if cold or humid:
        text.append(f"!! {cold} cold-chain, {humid} humidity alerts", style="bold")
    else:
        text.append("no sensor alerts", style="dim")
    return text
