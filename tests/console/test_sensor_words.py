"""Sensor readings in words on the order detail and the KPI screen: the figure, where and when it
was read, the band it should be in, and `!!` where it is outside (no colour needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from backend_client.models import LatestReading, OrderSensors, SensorKpis
from console.sensor_words import kpi_sensor_line, order_sensor_rows
from tests.console.kpi_samples import SENSORS

BEIJING = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 22, 4, 31, tzinfo=UTC)  # 12:31 in Beijing


def rows(sensors: OrderSensors) -> dict[str, str]:
    return {label: words.plain for label, words in order_sensor_rows(sensors, BEIJING)}


def test_an_orders_readings_say_where_when_and_what_band() -> None:
    sensors = OrderSensors(
        celsius=LatestReading(source="box", value=4.5, at=AT),
        humidity=LatestReading(source="vehicle", value=88.0, at=AT),
        humidity_bands={"dairy": (60.0, 90.0), "eggs": (65.0, 85.0)},
        celsius_band=(0.0, 8.0),
    )
    assert rows(sensors) == {
        "temperature": "4.5 °C · its box 12:31 · wants 0-8 °C",
        # Too damp for eggs: the band it breaks, marked so it reads without colour.
        "humidity": "!! 88 % · rider's vehicle 12:31 · wants eggs 65-85 %",
    }
    fine = sensors.model_copy(update={"humidity": LatestReading(source="box", value=70, at=AT)})
    assert rows(fine)["humidity"] == "70 % · its box 12:31 · wants dairy 60-90 %, eggs 65-85 %"
    hot = sensors.model_copy(update={"celsius": LatestReading(source="box", value=9.5, at=AT)})
    assert rows(hot)["temperature"].startswith("!! 9.5 °C")


def test_no_reading_is_said_and_goods_without_bands_show_nothing() -> None:
    unread = OrderSensors(
        celsius=None, humidity=None, humidity_bands={"vegetables": (85, 98)}, celsius_band=None
    )
    assert rows(unread) == {"humidity": "no recent reading"}
    nothing = OrderSensors(celsius=None, humidity=None, humidity_bands={}, celsius_band=None)
    assert rows(nothing) == {}


def test_the_kpi_line_fits_80_columns_and_flags_standing_alerts() -> None:
    sensors = SENSORS
    line = kpi_sensor_line(sensors, (0, 0)).plain
    assert line == "Sensors: 1.5-9.5 °C (~4.2) · humidity 62-97 % (~88.4) · no sensor alerts"
    assert len(line) <= 78
    flagged = kpi_sensor_line(sensors, (2, 1)).plain
    assert flagged.endswith("!! 2 cold-chain, 1 humidity alerts")
    none = SensorKpis(
        celsius_readings=0,
        celsius_min=None,
        celsius_avg=None,
        celsius_max=None,
        humidity_readings=0,
        humidity_min=None,
        humidity_avg=None,
        humidity_max=None,
    )
    assert kpi_sensor_line(none, (0, 0)).plain == (
        "Sensors: temperature not read · humidity not read · no sensor alerts"
    )
    assert kpi_sensor_line(None, (0, 0)).plain == "Sensors: not reported by this server"
