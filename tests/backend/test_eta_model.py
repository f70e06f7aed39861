"""The learned ETA on its own: the simulated city has structure (its conditions), a fit on
replayed days beats the straight line on a day it never saw, the delay risk reads the
quantiles, and a model file that is missing or damaged leaves the straight line (with a
warning), never a crash."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import mean

import pytest

from backend.eta import features, history
from backend.eta.model import QUANTILES, ModelFileError, fit, late_risk, load, save, versions
from backend.eta.predictor import EtaPredictor, straight
from backend.sim import conditions
from backend.sim.demand import BEIJING
from bench.replayed import replayed as replay
from tests.backend.eta_support import FIRST_DAY, TIME_ZONE, model_file


def test_the_city_has_rush_hours_riders_of_their_own_speed_and_rainy_days() -> None:
    lunch = datetime(2026, 3, 2, 12, 30, tzinfo=BEIJING)
    afternoon = lunch.replace(hour=15)
    assert conditions.congestion("Chaoyang", lunch) < conditions.congestion("Fengtai", lunch)
    assert conditions.congestion("Chaoyang", afternoon) == 1.0
    assert conditions.congestion("Chaoyang", lunch.replace(hour=18)) < conditions.congestion(
        "Chaoyang", lunch
    )
    skills = {conditions.rider_skill_kmh(1, rider) for rider in range(1, 25)}
    assert len(skills) == 24 and max(skills) - min(skills) > 5
    assert conditions.rider_skill_kmh(1, 7) == conditions.rider_skill_kmh(1, 7)
    days = [conditions.weather(1, lunch + timedelta(days=n)) for n in range(60)]
    assert conditions.RAIN_FACTOR in days and 1.0 in days
    assert days == [conditions.weather(1, lunch + timedelta(days=n)) for n in range(60)]
    assert conditions.pick_factor("WH-CY") > conditions.pick_factor("WH-HD")


def test_a_replayed_day_is_the_same_for_the_same_seed() -> None:
    first = replay(3, FIRST_DAY, 1)[0]
    again = replay(3, FIRST_DAY, 1)[0]
    assert [(h.rider_id, h.drops, h.fixes[:50]) for h in first] == [
        (h.rider_id, h.drops, h.fixes[:50]) for h in again
    ]
    assert sum(len(h.drops) for h in first) > 300


def test_the_fit_learns_what_the_straight_line_misses_on_a_day_it_never_saw() -> None:
    days = replay(1, FIRST_DAY, 4)
    train = [h for day in days[:3] for h in day]
    found = history.examples(train)
    model = fit(
        found, history.rider_speeds(train), time_zone=TIME_ZONE, min_examples=100, rounds=120
    )
    held_out = history.examples(days[3])
    predicted = model.quantiles(
        model.rows([(e.leg, e.at, e.pace_kmh, e.rider_id) for e in held_out])
    )
    middle = QUANTILES.index(0.5)
    learned = mean(abs(p[middle] - e.minutes) for p, e in zip(predicted, held_out, strict=True))
    baseline = mean(abs(e.straight_minutes - e.minutes) for e in held_out)
    assert learned <= 0.7 * baseline, (learned, baseline)
    # The quantiles bracket the truth about as often as they say.
    below_p90 = sum(
        bool(e.minutes <= p[-1]) for p, e in zip(predicted, held_out, strict=True)
    ) / len(held_out)
    assert 0.8 <= below_p90 <= 0.97


def test_too_little_history_fits_nothing() -> None:
    found = history.examples(replay(1, FIRST_DAY, 1)[0][:1])
    with pytest.raises(Exception, match="needed"):
        fit(found, {}, time_zone=TIME_ZONE, min_examples=len(found) + 1)


def test_the_delay_risk_reads_the_quantiles() -> None:
    quantiles = [10.0, 15.0, 20.0, 25.0, 30.0]
    assert late_risk(quantiles, 20.0) == pytest.approx(0.5)
    assert late_risk(quantiles, 30.0) == pytest.approx(0.1)
    assert late_risk(quantiles, 12.5) == pytest.approx(1 - 0.175)
    risks = [late_risk(quantiles, m) for m in range(-5, 80)]
    assert risks == sorted(risks, reverse=True)
    assert risks[0] == 1.0 and 0 <= risks[-1] < 0.01


@pytest.fixture(scope="module")
def good_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_file(tmp_path_factory.mktemp("eta-models"))


def test_versions_count_up_and_a_file_reads_back_the_same(
    tmp_path: Path, good_model_file: Path
) -> None:
    model = load(good_model_file)
    first, second = save(model, tmp_path), save(model, tmp_path)
    assert [v for v, _ in versions(tmp_path)] == [1, 2]
    assert (first.name, second.name) == ("eta-000001.json", "eta-000002.json")
    again = load(second)
    assert again.version == 2 and again.meta["examples"] == model.meta["examples"]
    assert load(first).version == 1
    rows = [[5.0, 1500.0, 1500.0, 0.0, 12.5, 1.0, 0.0, 18.0, 20.0, 3.0, 1.0, 0.0]]
    assert (again.quantiles(rows) == model.quantiles(rows)).all()


def _leg(at: datetime) -> features.Leg:
    stop = features.Stop(1, 39.95, 116.45, at + timedelta(minutes=30), "Chaoyang", 3000, True)
    [leg] = features.chain((39.9334, 116.455), at, 18.0, [stop])
    return leg


def test_without_a_model_directory_the_straight_line_stands_in(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    predictor = EtaPredictor(tmp_path / "nothing-here")
    with caplog.at_level(logging.WARNING, logger="backend.eta.predictor"):
        assert predictor.reload() is None
        predictor.reload()
    assert [r.getMessage() for r in caplog.records].count(
        f"no ETA model in {tmp_path / 'nothing-here'} yet: the straight line stands in"
    ) == 1
    at = datetime(2026, 3, 2, 4, tzinfo=UTC)
    leg = _leg(at)
    [estimate] = predictor.estimate([(leg, at, 18.0, 1)])
    assert estimate == straight(leg) and not estimate.learned
    assert (estimate.eta_at, estimate.late_risk) == (leg.straight_at, 0.0)


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{not json",
        b"\xff\xfe\x00garbage",
        json.dumps({"format": 99}).encode(),
        b"TRUNCATE",
        b"BOOSTER",
    ],
)
def test_a_damaged_model_file_is_refused_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: bytes, good_model_file: Path
) -> None:
    good = None
    if damage in (b"TRUNCATE", b"BOOSTER"):
        good = tmp_path / "eta-000001.json"
        good.write_bytes(good_model_file.read_bytes())
    path = tmp_path / "eta-000009.json"
    if damage == b"TRUNCATE":
        assert good is not None
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif damage == b"BOOSTER":
        assert good is not None
        body = json.loads(good.read_text())
        body["boosters"]["0.5"] = "tree\nnot a booster at all"
        path.write_text(json.dumps(body))
    else:
        path.write_bytes(damage)
    with pytest.raises(ModelFileError):
        load(path)
    predictor = EtaPredictor(tmp_path)
    with caplog.at_level(logging.WARNING, logger="backend.eta.predictor"):
        model = predictor.reload()
    assert any("eta-000009.json" in r.getMessage() for r in caplog.records)
    at = datetime(2026, 3, 2, 4, tzinfo=UTC)
    [estimate] = predictor.estimate([(_leg(at), at, 18.0, 1)])
    if good is None:
        # Nothing usable: the straight line.
        assert model is None and not estimate.learned
    else:
        # The newest good version stands in for the damaged one.
        assert model is not None and model.version == 1 and estimate.learned
        assert 0.0 <= estimate.late_risk <= 1.0
