"""The handover digest in words: the most urgent first, someone's words escaped, times on the
business clock (a night shift across midnight says both days), changes with their units."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from backend_client.models import HandoverDigest
from console.handover_words import markdown, text

EMPTY_FIGURES: dict[str, Any] = {
    "orders": 0,
    "amount_cents": 0,
    "due": 0,
    "fulfilled": 0,
    "signed": 0,
    "on_time": 0,
    "out_of_stock": 0,
    "damaged": 0,
    "returned": 0,
    "lost": 0,
    "exceptions": 0,
    **dict.fromkeys(
        (
            "fulfilment_rate",
            "on_time_rate",
            "delivery_minutes_avg",
            "delivery_minutes_p90",
            "loss_rate",
            "exception_rate",
            "online_minutes",
            "delivering_minutes",
            "rider_utilisation",
        )
    ),
}


def at(day: int, hour: int, minute: int = 0) -> str:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC).isoformat()


def alert(**fields: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "rule": "gps_silent",
        "severity": "critical",
        "state": "open",
        "title": "Rider 1 silent for 6 min",
        "subject": "rider:1",
        "opened_at": at(22, 15),
        **fields,
    }


def night_shift(**fields: Any) -> HandoverDigest:
    """22:00 on the 22nd to 01:30 on the 23rd in Shanghai."""
    return HandoverDigest.model_validate(
        {
            "start": at(22, 14),
            "end": at(22, 17, 30),
            "previous_start": at(22, 6),
            "time_zone": "Asia/Shanghai",
            "critical_alerts": [],
            "warning_alerts": [],
            "alerts_opened": 0,
            "alerts_resolved": 0,
            "acknowledgements": [],
            "waiting_requests": [],
            "riders_out": [],
            "in_flight_by_state": {},
            "late_orders": [],
            "late_total": 0,
            "list_limit": 200,
            "kpis": {
                "this_shift": {**EMPTY_FIGURES, "signed": 4, "on_time_rate": 0.75},
                "previous_shift": {**EMPTY_FIGURES, "signed": 10, "on_time_rate": 0.9},
            },
            **fields,
        }
    )


def test_a_quiet_night_says_so_on_the_business_clock() -> None:
    words = markdown(night_shift())
    assert words.startswith("# Shift handover: Sun 22 Nov 22:00 to Mon 23 Nov 01:30")
    assert "the one before Sun 22 Nov 14:00 to 22:00." in words
    for nothing in ("None.", "Nobody acknowledged an alert.", "None waiting.", "Every rider"):
        assert nothing in words
    assert "| on time | 75.0 % | 90.0 % | -15.0 pts |" in words
    assert "| signed | 4 | 10 | -6 |" in words
    assert "| delivery minutes, average | - | - |  |" in words


def test_criticals_say_who_has_them_and_words_cannot_become_markup() -> None:
    digest = night_shift(
        critical_alerts=[
            alert(
                id=2,
                state="acknowledged",
                acknowledged_by="supervisor",
                acknowledged_at=at(22, 15, 5),
                note="# call | him\n[now](http://x)",
            ),
            alert(),
        ],
        warning_alerts=[alert(id=3, severity="warning", title="Order 9 not picked")],
        late_orders=[
            {
                "id": 9,
                "status": "PICKING",
                "warehouse_id": "WH-CY",
                "zone": "Sanlitun",
                "promised_at": at(22, 17),
                "late_minutes": 30.0,
            }
        ],
        late_total=3,
        in_flight_by_state={"PICKING": 2, "DELIVERING": 1},
    )
    words = markdown(digest)
    lines = words.splitlines()
    assert (
        "- !! **Rider 1 silent for 6 min**, gps_silent since 23:00; **nobody has taken it**"
        in lines
    )
    assert r"acknowledged by **supervisor** at 23:05: “\# call \| him \[now\](http://x)”" in words
    assert "- Order 9 not picked (since 23:00)" in lines
    assert "By state: PICKING 2, DELIVERING 1." in lines
    assert "Late (the 1 most overdue of 3):" in lines
    assert "| 9 | PICKING | WH-CY | Sanlitun | - | 01:00 | 30 min |" in lines
    assert words.index("## Open critical alerts") < words.index("## Warnings")
    # The one nobody has comes first, whatever the server's order.
    assert words.index("nobody has taken it") < words.index("acknowledged by")
    assert text("a_b `c`") == r"a\_b \`c\`"
