"""Customer notification rules (`[notify.*]`): each fires once at its condition, on an injected
clock, and never twice: not on the next pass, not from a restarted engine, not from a second
instance's; the messages name the order by its channel reference and nothing personal; a
changed rules file changes a threshold without a restart; events wake the running engine.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from backend.alerts.rules import RuleBook
from backend.notifications.engine import NotificationEngine
from backend.settings import Settings
from tests.backend.notify_support import evaluate, refresh, rows, rules_of
from tests.backend.test_eta_and_geofences import WH_CY, delivering, fix, north
from tests.support import Api, eventually

ZONE = Settings(database_url="sqlite+aiosqlite:///unused.db").zone


def restarted(api: Api, book: RuleBook | None = None) -> NotificationEngine:
    """A new engine on the same database, as after a restart (or on another instance)."""
    runtime = api.app.state.runtime
    return NotificationEngine(
        runtime.db, api.clock, book or runtime.alert_rules, zone=ZONE, tick_seconds=3600
    )


async def test_eta_soon_fires_once_when_the_eta_comes_within_ten_minutes(api: Api) -> None:
    await api.rider_online(1)
    # 6 km at 20 km/h and the handover: 20 minutes away, promised in an hour.
    order = await delivering(api, 1, promise_minutes=60, to=north(6000), phone="13911114001")
    api.clock.advance(seconds=15)
    await fix(api, 1, WH_CY, speed_kmh=20)
    assert await evaluate(api) == 0

    api.clock.advance(minutes=9)  # 11 min to go
    assert await evaluate(api) == 0
    api.clock.advance(minutes=1, seconds=1)  # just under 10
    assert await evaluate(api) == 1
    [row] = await rows(api, order["id"])
    assert (row.rule, row.status, row.attempts) == ("eta_soon", "pending", 0)
    eta = (await refresh(api, order))["eta"]
    assert order["external_id"] in row.message
    assert f"about {_local(eta)}" in row.message
    assert "Wang" not in row.message and "13911114001"[-4:] not in row.message

    # Again, from a restarted engine, and from an engine told of the order's events: nothing.
    api.clock.advance(minutes=2)
    assert await evaluate(api) == 0
    assert await restarted(api).evaluate() == 0
    assert await restarted(api).evaluate([order["id"]]) == 0
    assert await rules_of(api, order["id"]) == ["eta_soon"]


async def test_late_is_told_once_with_the_new_eta(api: Api) -> None:
    await api.rider_online(1)
    # Promised in 15 min, 20 min away: predicted late at the first fix.
    order = await delivering(api, 1, promise_minutes=15, to=north(6000), phone="13911114002")
    assert await evaluate(api) == 0  # no ETA yet, promise ahead: nothing to say
    api.clock.advance(seconds=15)
    await fix(api, 1, WH_CY, speed_kmh=20)
    assert await evaluate(api) == 1
    [late] = await rows(api, order["id"])
    eta = (await refresh(api, order))["eta"]
    assert late.rule == "late" and f"arrive about {_local(eta)}" in late.message
    promised = _local(order["promised_at"])
    assert f"promised {promised}" in late.message

    # Later still (past the promise), and nearer: told once, so nothing more.
    api.clock.advance(minutes=16)
    await fix(api, 1, north(5000), speed_kmh=20)
    await evaluate(api)
    assert (await rules_of(api, order["id"])).count("late") == 1


async def test_an_open_order_past_its_promise_is_late_even_before_dispatch(api: Api) -> None:
    order = await api.create_order(
        promised_at=(api.clock.now() + timedelta(minutes=30)).isoformat()
    )
    order = await api.act("channel-app", order, "pay")
    unpaid = await api.create_order(
        promised_at=(api.clock.now() + timedelta(minutes=30)).isoformat()
    )
    assert await evaluate(api) == 0
    api.clock.advance(minutes=31)
    assert await evaluate(api) == 1
    [late] = await rows(api, order["id"])
    assert late.rule == "late" and "as soon as we can" in late.message
    # Not paid for: nothing to tell (it is cancelled when the payment times out).
    assert await rules_of(api, unpaid["id"]) == []


async def test_exception_and_signed_are_told_once_each(api: Api) -> None:
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=60, to=north(2000), phone="13911114003")
    stopped = await api.act("rider-1", order, "report_exception", reason="flat tyre")
    assert await evaluate(api, [order["id"]]) == 1
    assert await rules_of(api, order["id"]) == ["exception"]
    resumed = await api.act("dispatcher", stopped, "resume", reason="fixed")
    await api.act("rider-1", resumed, "sign")
    assert await evaluate(api, [order["id"]]) == 1
    assert await rules_of(api, order["id"]) == ["exception", "signed"]
    for _ in range(2):
        assert await evaluate(api) == 0
        assert await restarted(api).evaluate([order["id"]]) == 0


async def test_old_changes_are_not_told(api: Api) -> None:
    """Notifications turned on (or an outage over) after a signature an hour and more ago:
    that customer is not messaged now."""
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=60, to=north(2000), phone="13911114004")
    await api.act("rider-1", order, "sign")
    api.clock.advance(minutes=61)
    assert await evaluate(api) == 0
    assert await rules_of(api, order["id"]) == []


async def test_an_order_unsigned_three_days_after_it_went_out_gets_the_survey(api: Api) -> None:
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=600, to=north(2000), phone="13911114005")
    stopped = await api.act("rider-1", order, "report_exception", reason="nobody home")
    assert await evaluate(api) == 1  # the exception
    api.clock.advance(hours=71, minutes=59)
    await evaluate(api)
    assert "unsigned_survey" not in await rules_of(api, order["id"])
    api.clock.advance(minutes=2)
    await evaluate(api)
    assert (await rules_of(api, order["id"])).count("unsigned_survey") == 1
    api.clock.advance(hours=1)
    await evaluate(api)
    assert await restarted(api).evaluate() == 0
    assert (await rules_of(api, order["id"])).count("unsigned_survey") == 1
    assert stopped["status"] == "EXCEPTION"


async def test_a_changed_rules_file_changes_the_threshold_without_a_restart(
    api: Api, tmp_path: Path
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[notify.eta_soon]\nminutes = 5\n", encoding="utf-8")
    book = RuleBook(path, now=api.clock.now())
    engine = restarted(api, book)
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=60, to=north(6000), phone="13911114006")
    api.clock.advance(seconds=15)
    await fix(api, 1, WH_CY, speed_kmh=20)
    api.clock.advance(minutes=11)  # 9 min to go: not within 5
    assert await engine.evaluate([order["id"]]) == 0

    path.write_text("[notify.eta_soon]\nminutes = 12.5\n", encoding="utf-8")
    assert await engine.evaluate([order["id"]]) == 1
    assert await rules_of(api, order["id"]) == ["eta_soon"]

    # A file with a mistake is not taken: the rules in force stay.
    path.write_text('[notify.eta_soon]\nmessage = "call {phone}"\n', encoding="utf-8")
    book.refresh(api.clock.now())
    assert book.error is not None and "{phone}" in book.error
    assert book.rules.notify.eta_soon.minutes == 12.5


async def test_the_running_engine_hears_an_orders_events(api: Api) -> None:
    runtime = api.app.state.runtime
    engine = restarted(api)
    runtime.db.committed.append(engine.heard)
    engine.start()
    try:
        await api.rider_online(1)
        order = await delivering(api, 1, promise_minutes=60, to=north(2000), phone="13911114007")
        await api.act("rider-1", order, "sign")
        await eventually(
            lambda: _has(api, order["id"], "signed"), "the signature told by the engine itself"
        )
    finally:
        runtime.db.committed.remove(engine.heard)
        await engine.stop()


async def _has(api: Api, order_id: int, rule: str) -> bool:
    return rule in await rules_of(api, order_id)


def _local(moment: str) -> str:
    return f"{datetime.fromisoformat(moment).astimezone(ZONE):%H:%M}"
