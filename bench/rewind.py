"""Rewinding the board across a peak day (benchmark 21): time to any minute, beside replaying the
log from the start of the day to that minute.

    .venv/bin/python bench/rewind.py [--orders 100000] [--minutes 60] [--json]

A peak day's event log, made on paper: `--orders` orders through the day (a lunch and a dinner
peak, the busiest hour about an eighth of the day), each created, paid, picked, given a rider,
dispatched and signed (six events), a fifth of them signed after their promise, and a standing
alert for each late one, opened then resolved. The tape (`console/store/rewind.py`) takes the
whole log as the console reads it; then `--minutes` random minutes of the day are rebuilt with
its checkpoints (`Tape.at`) and by replaying from the first event (`Tape.replayed`, the
baseline), and the two pictures compared (they must be the same board).

Prints the time to a minute (p50, p99, worst) and CPU per rewind for each, and the tape's
memory (its blocks, checkpoints and index: `Tape.footprint`) beside the same events held as
objects.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend_client.models import Event
from bench.common import percentile
from console.store import FrozenClock, Lane, Store
from console.store.rewind import CHECKPOINT_EVERY, Tape

GOAL_S = 1.0
PEAK_DAY_ORDERS = 100_000
"""A peak day for one desk's console (scale 1): the busiest hour about 11,000 orders, some
17,000 on the board at once with the signed lane's hour."""
DAY = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)
ZONES = ("Chaoyang", "Haidian", "Dongcheng", "Xicheng")
STEPS = (
    ("order.transition", "CREATED", "PAID", 1.0),
    ("order.transition", "PAID", "PICKING", 3.0),
    ("order.assigned", None, None, 9.0),
    ("order.transition", "PICKING", "DELIVERING", 12.0),
)


def hourly_share() -> list[float]:
    """How the day's orders fall by hour: quiet at night, a lunch peak and a dinner peak."""
    weights = [0.2] * 6 + [1, 2, 3, 4, 6, 9, 10, 8, 5, 4, 5, 7, 9, 8, 5, 3, 1, 0.5]
    total = sum(weights)
    return [w / total for w in weights]


def alert(alert_id: int, order_id: int, at: datetime, state: str, version: int) -> dict[str, Any]:
    """An overdue-delivery alert as its events carry it (the whole `Alert`)."""
    return {
        "id": alert_id,
        "rule": "delivery_overdue",
        "subject": f"order:{order_id}",
        "severity": "warning",
        "state": state,
        "title": f"order {order_id} overdue",
        "details": {"minutes_late": 1},
        "order_id": order_id,
        "rider_id": None,
        "request_id": None,
        "warehouse_id": "WH-CY",
        "zone": "Chaoyang",
        "parent_id": None,
        "opened_at": at.isoformat(),
        "updated_at": at.isoformat(),
        "acknowledged_by": None,
        "acknowledged_at": None,
        "note": None,
        "snoozed_until": None,
        "escalated_at": None,
        "resolved_at": at.isoformat() if state == "resolved" else None,
        "resolution": "signed" if state == "resolved" else None,
        "version": version,
    }


def day_of_events(orders: int, seed: int = 1, riders: int = 400) -> Iterator[Event]:
    """A day's log, in `seq` order (and time order), as the stream hands it out."""
    rng = random.Random(seed)
    happenings: list[tuple[float, int, Event]] = []
    serial = 0
    per_hour = [round(orders * share) for share in hourly_share()]
    order_id = 0
    for hour, count in enumerate(per_hour):
        for _ in range(count):
            order_id += 1
            start = DAY + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
            promised = start + timedelta(minutes=45)
            late = rng.random() < 0.2
            signed = start + timedelta(minutes=rng.uniform(50, 70) if late else rng.uniform(25, 42))
            rider_id = rng.randrange(1, riders + 1)
            zone = ZONES[order_id % len(ZONES)]

            def add(
                kind: str,
                at: datetime,
                payload: dict[str, Any],
                order_id: int = order_id,
                **fields: Any,
            ) -> None:
                nonlocal serial
                serial += 1
                event = Event.model_construct(
                    seq=0,
                    kind=kind,
                    order_id=order_id,
                    rider_id=fields.get("rider_id"),
                    warehouse_id="WH-CY",
                    from_state=fields.get("from_state"),
                    to_state=fields.get("to_state"),
                    actor="sim",
                    role="dispatcher",
                    client_addr=None,
                    at=at,
                    reason=None,
                    payload=payload,
                )
                happenings.append((at.timestamp(), serial, event))

            add(
                "order.created",
                start,
                {
                    "version": 1,
                    "channel": "app",
                    "zone": zone,
                    "customer": f"Customer {order_id}",
                    "phone_tail": f"{order_id % 10000:04d}",
                    "promised_at": promised.isoformat(),
                    "cold_chain": order_id % 7 == 0,
                    "lat": 39.9 + rng.uniform(-0.1, 0.1),
                    "lng": 116.4 + rng.uniform(-0.1, 0.1),
                    "external_id": f"APP-{order_id:07d}",
                },
                to_state="CREATED",
            )
            for version, (kind, was, to, minutes) in enumerate(STEPS, start=2):
                at = start + timedelta(minutes=minutes)
                payload: dict[str, Any] = {"version": version}
                if kind == "order.assigned":
                    payload["to_rider"] = rider_id
                add(
                    kind,
                    at,
                    payload,
                    from_state=was,
                    to_state=to,
                    rider_id=rider_id if version >= 4 else None,
                )
            add(
                "order.transition",
                signed,
                {"version": 6},
                from_state="DELIVERING",
                to_state="SIGNED",
                rider_id=rider_id,
            )
            if late:
                overdue = promised + timedelta(minutes=1)
                alert_id = order_id
                for kind, at, state, version in (
                    ("alert.opened", overdue, "open", 1),
                    ("alert.resolved", signed + timedelta(seconds=5), "resolved", 2),
                ):
                    add(kind, at, alert(alert_id, order_id, at, state, version), to_state=state)
    happenings.sort(key=lambda h: (h[0], h[1]))
    for seq, (_, _, event) in enumerate(happenings, start=1):
        event.seq = seq
        yield event


def picture(store: Store) -> dict[str, Any]:
    """What the board shows, to compare two stores: each lane in order, and the queue."""
    return {
        "lanes": {lane.value: store.lane_ids(lane) for lane in Lane},
        "late": {lane.value: store.lane_counts(lane) for lane in Lane},
        "alerts": store.alerts.queue(),
    }


def run(
    orders: int, minutes: int, every: int = CHECKPOINT_EVERY, replays: int = 5, seed: int = 1
) -> dict[str, Any]:
    events = list(day_of_events(orders, seed))
    base = Store(FrozenClock(DAY))
    started, cpu = time.perf_counter(), time.process_time()
    tape = Tape(base, every=every)
    tape.extend(events)
    load_s, load_cpu = time.perf_counter() - started, time.process_time() - cpu
    tape_bytes = tape.footprint()
    sample = events[:2000]
    tracemalloc.start()
    as_objects = [e.model_copy(deep=True) for e in sample]
    object_bytes = tracemalloc.get_traced_memory()[0] / len(sample) * len(events)
    tracemalloc.stop()
    del as_objects, sample
    # The console holds no event objects: neither does the process while it rewinds (a heap of
    # them makes every full garbage collection a pause the rewind would be charged with).
    count = len(events)
    del events
    gc.collect()

    span = tape.span
    assert span is not None
    first, last = span
    rng = random.Random(seed)
    day_minutes = int((last - first).total_seconds() // 60)
    moments = [first + timedelta(minutes=rng.randrange(day_minutes + 1)) for _ in range(minutes)]
    rewind_s: list[float] = []
    replay_s: list[float] = []
    rewind_cpu = replay_cpu = 0.0
    differ = 0
    for index, moment in enumerate(moments):
        started, cpu = time.perf_counter(), time.process_time()
        rewound = tape.at(moment)
        rewind_s.append(time.perf_counter() - started)
        rewind_cpu += time.process_time() - cpu
        if index >= replays:
            continue  # the replay from the start takes seconds: a few minutes tell its cost
        started, cpu = time.perf_counter(), time.process_time()
        replayed = tape.replayed(moment)
        replay_s.append(time.perf_counter() - started)
        replay_cpu += time.process_time() - cpu
        differ += picture(rewound) != picture(replayed)
    on_board = [len(tape.at(m).orders) for m in moments]
    return {
        "orders": orders,
        "events": count,
        "every": every,
        "checkpoints": len(tape.checkpoints),
        "minutes": minutes,
        "board_orders_max": max(on_board),
        "load_s": load_s,
        "load_cpu_s": load_cpu,
        "rewind_p50_s": percentile(rewind_s, 50),
        "rewind_p99_s": percentile(rewind_s, 99),
        "rewind_max_s": max(rewind_s),
        "rewind_cpu_s": rewind_cpu / minutes,
        "replay_p50_s": percentile(replay_s, 50),
        "replay_p99_s": percentile(replay_s, 99),
        "replays": len(replay_s),
        "replay_cpu_s": replay_cpu / max(1, len(replay_s)),
        "tape_mb": tape_bytes / 1e6,
        "objects_mb": object_bytes / 1e6,
        "pictures_differ": differ,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=PEAK_DAY_ORDERS, help="orders in the day")
    parser.add_argument("--minutes", type=int, default=60, help="random minutes rewound to")
    parser.add_argument("--every", type=int, default=CHECKPOINT_EVERY, help="checkpoint spacing")
    parser.add_argument("--replays", type=int, default=5, help="minutes also replayed")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = run(args.orders, args.minutes, args.every, args.replays)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>18}: {value:.4g}" if isinstance(value, float) else f"{key:>18}: {value}")


if __name__ == "__main__":
    main()
