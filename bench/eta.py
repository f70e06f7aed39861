"""The learned ETA beside the straight line, on simulated days the model never saw.

    .venv/bin/python bench/eta.py [--train-days 30] [--test-days 2] [--seed 1] [--rounds 200]

History comes from `backend/sim/replay.py` (the simulator's city, riders and conditions played
straight into delivery histories, no backend); examples are taken from it as the live ETA would
see them (`backend/eta/history.py`). The model is fitted on `--train-days` and judged on the
`--test-days` after them, beside the straight-line estimate of the same examples:

- MAE and p90 of the absolute error (minutes until delivery), goal MAE <= 0.7x the straight line;
- the delay risk's Brier score beside the straight line's 0/1 risk, and its calibration in
  deciles of predicted risk (predicted vs observed late share: in the raw report);
- fitting time beside building the examples, and the fit's peak memory beside the examples'
  matrix itself;
- CPU per live estimate (a batch of 50 orders through `EtaPredictor`) beside the straight line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.eta import history
from backend.eta.model import QUANTILES, fit, late_risk
from backend.eta.predictor import EtaPredictor, straight
from bench.replayed import replayed as replay

GOAL_RATIO = 0.7
FIRST_DAY = datetime(2026, 3, 2, tzinfo=UTC)
TIME_ZONE = "Asia/Shanghai"
BATCH = 50


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """The highest resident set size seen while inside (sampled every 20 ms)."""

    def __enter__(self) -> PeakRss:
        self.start = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_bytes())

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _deciles(risks: list[float], late: list[bool]) -> list[dict[str, Any]]:
    """Predicted vs observed late share in deciles of predicted risk."""
    pairs = sorted(zip(risks, late, strict=True))
    size = max(1, len(pairs) // 10)
    rows = []
    for start in range(0, len(pairs), size):
        chunk = pairs[start : start + size]
        rows.append(
            {
                "examples": len(chunk),
                "predicted": round(mean(r for r, _ in chunk), 3),
                "observed": round(sum(1 for _, x in chunk if x) / len(chunk), 3),
            }
        )
    return rows


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    days = replay(
        args.seed, FIRST_DAY, args.train_days + args.test_days, orders_per_hour=args.orders_per_hour
    )
    replay_s = time.perf_counter() - started
    train = [h for day in days[: args.train_days] for h in day]
    test = [h for day in days[args.train_days :] for h in day]
    cpu = time.process_time()
    found = history.examples(train)
    riders = history.rider_speeds(train)
    examples_cpu_s = time.process_time() - cpu
    held_out = history.examples(test)
    with PeakRss() as memory:
        cpu = time.process_time()
        wall = time.perf_counter()
        model = fit(found, riders, time_zone=TIME_ZONE, min_examples=100, rounds=args.rounds)
        fit_s = time.perf_counter() - wall
        fit_cpu_s = time.process_time() - cpu
    matrix_bytes = len(found) * len(history.matrix(found[:1], model.zones, riders, UTC)[0]) * 8

    predicted = model.quantiles(
        model.rows([(e.leg, e.at, e.pace_kmh, e.rider_id) for e in held_out])
    )
    middle = QUANTILES.index(0.5)
    truth = [e.minutes for e in held_out]
    learned_err = [abs(p[middle] - t) for p, t in zip(predicted, truth, strict=True)]
    straight_err = [abs(e.straight_minutes - e.minutes) for e in held_out]
    late = [e.minutes > e.promise_minutes for e in held_out]
    risks = [
        late_risk(list(p), e.promise_minutes) for p, e in zip(predicted, held_out, strict=True)
    ]
    straight_risks = [1.0 if e.straight_minutes > e.promise_minutes else 0.0 for e in held_out]

    def brier(values: list[float]) -> float:
        return mean((r - (1.0 if x else 0.0)) ** 2 for r, x in zip(values, late, strict=True))

    # The live path: one model call for a batch of orders, as a fleet relay's batch makes.
    predictor = EtaPredictor(None)
    predictor.model = model
    batch = [(e.leg, e.at, e.pace_kmh, e.rider_id) for e in held_out[:BATCH]]
    rounds = 20
    cpu = time.process_time()
    for _ in range(rounds):
        predictor.estimate(batch)
    learned_cpu_ms = (time.process_time() - cpu) / (rounds * len(batch)) * 1000
    cpu = time.process_time()
    for _ in range(rounds * 20):
        [straight(leg) for leg, *_ in batch]
    straight_cpu_ms = (time.process_time() - cpu) / (rounds * 20 * len(batch)) * 1000

    orders = sum(len(h.drops) for h in train)
    return {
        "train_days": args.train_days,
        "test_days": args.test_days,
        "orders_per_hour": args.orders_per_hour,
        "train_orders": orders,
        "train_examples": len(found),
        "held_out_examples": len(held_out),
        "replay_s": replay_s,
        "mae_learned_min": mean(learned_err),
        "mae_straight_min": mean(straight_err),
        "p90_learned_min": _percentile(learned_err, 0.9),
        "p90_straight_min": _percentile(straight_err, 0.9),
        "brier_learned": brier(risks),
        "brier_straight": brier(straight_risks),
        "late_share": sum(late) / len(late),
        "calibration_deciles": _deciles(risks, late),
        "examples_cpu_s": examples_cpu_s,
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "fit_peak_mb": (memory.peak - memory.start) / 1e6,
        "matrix_mb": matrix_bytes / 1e6,
        "estimate_cpu_ms": learned_cpu_ms,
        "straight_cpu_ms": straight_cpu_ms,
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-days", type=int, default=30)
    p.add_argument("--test-days", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--orders-per-hour", type=float, default=72.0)
    p.add_argument("--rounds", type=int, default=200)
    return p


if __name__ == "__main__":
    print(json.dumps(run(parser().parse_args()), indent=2))
