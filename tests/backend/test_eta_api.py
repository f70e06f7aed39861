"""The learned ETA where people see it: with a model file in `eta_model_dir`, an order out for
delivery gets the model's ETA and delay risk on its answer, on its rider's route and in its
`order.eta` event (what the stream pushes and the board shows); with a damaged file, the
straight line, a warning and no crash. And the history a fit reads is the database's own:
signed orders and their riders' fixes."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.clock import ManualClock
from backend.eta import features, history
from backend.eta.predictor import EtaPredictor
from backend.riders.geo import metres
from tests.backend.eta_support import model_file
from tests.backend.test_eta_and_geofences import WH_CY, delivering, events, fix, north
from tests.support import Api, started

TO = north(3000)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("eta-api-models")
    model_file(directory)
    return directory


async def _out_with_a_fix(api: Api, phone: str) -> tuple[dict[str, Any], datetime, dict]:
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=25, to=TO, phone=phone)
    api.clock.advance(seconds=15)
    at = api.clock.now()
    await fix(api, 1, WH_CY, speed_kmh=20)
    [published] = await events(api, "order.eta")
    return order, at, published["payload"]


def _leg(order: dict[str, Any], at: datetime) -> features.Leg:
    stop = features.Stop(
        order["id"],
        TO[0],
        TO[1],
        datetime.fromisoformat(order["promised_at"]),
        order["zone"],
        order["weight_g"],
        order["cold_chain"],
    )
    [leg] = features.chain(WH_CY, at, 20.0, [stop])
    return leg


async def _everywhere(api: Api, order_id: int) -> list[tuple[str, float | None, bool | None]]:
    """The ETA and delay risk as the order's answer and its rider's route carry them."""
    seen = (await api.get("dispatcher", f"/orders/{order_id}")).json()
    [stop] = (await api.get("dispatcher", "/riders/1/route")).json()["stops"]
    return [
        (seen["eta"], seen["late_risk"], None),
        (stop["eta"], stop["late_risk"], stop["predicted_late"]),
    ]


async def test_the_order_its_route_and_its_event_carry_the_learned_eta(
    database_url: str, clock: ManualClock, model_dir: Path
) -> None:
    async for api in started(database_url, clock, eta_model_dir=str(model_dir)):
        order, at, payload = await _out_with_a_fix(api, "13911112301")
        predictor = EtaPredictor(model_dir)
        assert predictor.reload() is not None
        leg = _leg(order, at)
        [expected] = predictor.estimate([(leg, at, 20.0, 1)])
        assert expected.learned and expected.eta_at != leg.straight_at
        eta = datetime.fromisoformat(payload["eta"])
        assert abs(eta - expected.eta_at) < timedelta(milliseconds=1)
        assert payload["late_risk"] == expected.late_risk
        assert payload["predicted_late"] == (expected.late_risk >= 0.5)
        for where_eta, risk, late in await _everywhere(api, order["id"]):
            assert where_eta is not None and datetime.fromisoformat(where_eta) == eta
            assert risk == expected.late_risk
            assert late in (None, payload["predicted_late"])

        # Delivered: the order and its rider's fixes are history a fit learns from.
        for step in range(1, 6):
            api.clock.advance(seconds=60)
            await fix(api, 1, north(600 * step), speed_kmh=22)
        current = (await api.get("rider-1", f"/orders/{order['id']}")).json()
        signed = await api.act("rider-1", current, "sign")
        async with api.app.state.runtime.db.read() as session:
            riders = await history.load_day(
                session, at - timedelta(hours=1), api.clock.now() + timedelta(seconds=1)
            )
        [rider] = riders
        [drop] = rider.drops
        assert drop.stop.order_id == order["id"] and rider.rider_id == 1
        assert drop.done_at == datetime.fromisoformat(signed["signed_at"])
        assert len(rider.fixes) == 6
        found = history.examples(riders, every=timedelta(minutes=2))
        assert found and found[0].at == at
        assert abs(found[0].minutes - (drop.done_at - at).total_seconds() / 60) < 1e-6


async def test_a_damaged_model_file_leaves_the_straight_line_and_a_warning(
    database_url: str, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "eta-000001.json").write_text('{"format": 1, "boost', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="backend.eta.predictor"):
        async for api in started(database_url, clock, eta_model_dir=str(tmp_path)):
            order, at, payload = await _out_with_a_fix(api, "13911112302")
            straight = features.straight_line(at, metres(WH_CY, TO), 20.0)
            assert datetime.fromisoformat(payload["eta"]) == straight
            late = straight > datetime.fromisoformat(order["promised_at"])
            assert (payload["predicted_late"], payload["late_risk"]) == (late, float(late))
            for where_eta, risk, _ in await _everywhere(api, order["id"]):
                assert where_eta is not None and datetime.fromisoformat(where_eta) == straight
                assert risk == float(late)
    assert any(
        "eta-000001.json" in r.getMessage() and "straight line" in r.getMessage()
        for r in caplog.records
    )
