"""An alert's figures and requests in a dispatcher's words: money as money, places by zone,
times on the business clock, counts in words, and no internal ids or field names.

Pure Python (no Textual): the exception queue draws what this says.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo

from backend_client.geo import contains
from console.store import MapZone


def plural(count: int, noun: str) -> str:
    """`1 order`, `2 orders`: never `order(s)`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def money(cents: int) -> str:
    """Cents as the currency a customer paid in: `18.90 yuan`."""
    return f"{cents / 100:.2f} yuan"


def distance(metres: float) -> str:
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"


def zone_at(zones: Iterable[MapZone], lat: float, lng: float) -> str | None:
    """The name of the zone whose outline holds the point, if any."""
    return next((name for name, polygon in zones if contains(polygon, (lat, lng))), None)


# How each figure the backend sends is read; a figure not named here is shown with its name
# in words, and one ending in `_id` (an internal key) not at all.
TIME_WORDS = {
    "promised_at": "promised",
    "eta_at": "ETA",
    "last_fix_at": "last fix",
    "since": "since",
    "read_at": "read",
    "paid_at": "paid",
    "created_at": "created",
}


def clock(value: object, zone: tzinfo | None) -> str | None:
    """An ISO time as the business clock shows it, or None if it is not a time."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return f"{datetime.fromisoformat(value).astimezone(zone):%H:%M}"
    return None


def minutes_words(minutes: float) -> str:
    """`8 min`, `2 h 05 min`: how soon, rounded to the minute."""
    whole = max(0, round(minutes))
    if whole < 60:
        return f"{whole} min"
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def stock_words(items: Iterable[object]) -> str:
    """A `low_stock` alert's SKUs, most urgent first: `low stock: Cucumbers sold out;
    Spinach 40 left (low at 10), out in 27 min`."""
    said: list[str] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        name, available = item.get("name") or item.get("sku") or "?", item.get("available")
        if not isinstance(available, int):
            continue
        if available <= 0:
            said.append(f"{name} sold out")
            continue
        text = f"{name} {available} left"
        threshold = item.get("threshold")
        if isinstance(threshold, int):
            text += f" (low at {threshold})"
        runs_out = item.get("runs_out_minutes")
        if isinstance(runs_out, int | float):
            text += f", out in {minutes_words(runs_out)}"
        said.append(text)
    return "low stock: " + ("; ".join(said) if said else "-")


def figure_words(
    details: Mapping[str, object],
    zone: tzinfo | None,
    zones: Iterable[MapZone] = (),
    home_zone: str | None = None,
) -> str:
    """`promised 12:30, 1.9 km to go, amount 18.90 yuan, in Chaoyang`: an alert's figures.
    A position is named by the zone it falls in (`home_zone`, the alert's own, when the map's
    outlines are not loaded or the point is outside every zone)."""
    words: list[str] = []
    for key, value in details.items():
        if key in ("lat", "lng") or key.endswith("_id"):
            continue
        if key in TIME_WORDS:
            words.append(f"{TIME_WORDS[key]} {clock(value, zone) or '-'}")
        elif key == "amount_cents" and isinstance(value, int | float):
            words.append(f"amount {money(int(value))}")
        elif key == "distance_m" and isinstance(value, int | float):
            words.append(f"{distance(value)} to go")
        elif key == "metres_off" and isinstance(value, int | float):
            words.append(f"{distance(value)} off the way")
        elif key == "carrying" and isinstance(value, int):
            words.append(f"carrying {plural(value, 'order')}")
        elif key == "celsius" and isinstance(value, int | float):
            words.append(f"{value:g} °C")
        elif key == "humidity" and isinstance(value, int | float):
            words.append(f"{value:g} % humidity")
        elif key == "bands" and isinstance(value, dict):
            words.append(
                "wants "
                + ", ".join(f"{name} {low:g}-{high:g} %" for name, (low, high) in value.items())
            )
        elif key == "items" and isinstance(value, list):
            words.append(stock_words(value))
        elif key == "opened_by":
            words.append(f"asked by {value}")
        elif key == "state":
            words.append(f"state {value}")
        else:
            shown = clock(value, zone) or ("-" if value is None else str(value))
            words.append(f"{key.replace('_', ' ')} {shown}")
    lat, lng = details.get("lat"), details.get("lng")
    if isinstance(lat, int | float) and isinstance(lng, int | float):
        place = zone_at(zones, lat, lng) or home_zone
        if place:
            words.append(f"in {place}")
    return ", ".join(words)
