"""How long an order search takes at 20,000 open orders and a day's signed ones, on SQLite and
PostgreSQL, beside the substring search it replaced.

    .venv/bin/python bench/search.py [--open 20000] [--signed 20000] [--queries 300]
                                     [--only sqlite|postgresql]

For each database (a temporary SQLite file; a temporary PostgreSQL database on
--postgres-server, dropped afterwards) it migrates, seeds the demo city, writes `--open` open
orders (created, paid, picking, delivering with a rider) and `--signed` signed within the last
day across the six warehouses, with names, phones and addresses drawn like the simulator's, then
asks the same mixed queries (a name with one letter wrong, part of a name, the phone's last four
digits, an order id, a street with a typo, a rider's name with a typo; as the dispatcher, and
the name typos as a merchant too) through `orders.service.list_orders`, the function behind
`GET /orders?q=`, one read session each as the route does. Baseline: the search as it was
before (`old_search` below: the id, the channel's id, the name as a substring, the phone's
suffix, in SQL, most urgent first) with the same queries, interleaved with the new one.

Reports per query p50 / p99 / max in ms and CPU ms (this process's: the Python side and, on
SQLite, the database too; PostgreSQL's own work is in its server), the first search's cost
(reading the corpus), and how many of the typo queries found the order they were made from.
Not part of pytest; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from backend.auth.passwords import Passwords
from backend.auth.permissions import STAGES, stages_of
from backend.auth.principal import Principal
from backend.crypto.cipher import active, install
from backend.crypto.keys import new_ring_text, parse_ring
from backend.db import Database
from backend.demo import seed_demo
from backend.orders import service
from backend.orders.models import CustomerRow, OrderRow
from backend.orders.scope import order_scope
from backend.orders.search import SearchCorpus
from backend.riders.models import RiderRow
from backend_client.models import Role
from bench.common import percentile, temporary_postgres

CITY = json.loads((Path(__file__).resolve().parents[1] / "backend/sim/city.json").read_text())
GOAL_P99_MS = 50.0
DISPATCHER = Principal(user_id=1, username="dispatcher", role=Role.DISPATCHER)
MERCHANT = Principal(
    user_id=2,
    username="merchant-wh-cy",
    role=Role.MERCHANT,
    warehouse_id="WH-CY",
    stages=stages_of(Role.MERCHANT, STAGES),
)


def typo(word: str, rng: random.Random) -> str:
    """One letter of `word` (not the first) replaced by another."""
    letters = [i for i, c in enumerate(word) if c.isalpha() and i > 0]
    i = rng.choice(letters)
    other = rng.choice([c for c in "aeioubdgklmnrstuwxyz" if c != word[i].lower()])
    return word[:i] + other + word[i + 1 :]


async def write_orders(db: Database, n_open: int, n_signed: int, now: datetime, seed: int) -> None:
    rng = random.Random(seed)
    people = CITY["people"]
    zones = {z["warehouse_id"]: z for z in CITY["zones"]}
    warehouses = [w["id"] for w in CITY["warehouses"]]
    async with db.read() as session:
        riders = [
            (r.id, r.warehouse_id) for r in (await session.execute(select(RiderRow))).scalars()
        ]
    by_warehouse: dict[str, list[int]] = {}
    for rider_id, warehouse in riders:
        by_warehouse.setdefault(warehouse, []).append(rider_id)
    customers, orders = [], []
    cipher = active()
    for i in range(n_open + n_signed):
        given = rng.choice(people["given"]) + rng.choice(people["given"]).lower()
        name = f"{rng.choice(people['surnames'])} {given}"
        phone = f"139{i:08d}"
        warehouse = rng.choice(warehouses)
        zone = zones.get(warehouse, {"name": warehouse, "streets": ["Main Road"]})
        address = f"{rng.choice(zone['streets'])} {rng.randint(1, 300)}, {zone['name']}"
        customers.append(
            {
                "name": name,
                "phone": phone,
                "phone_index": cipher.blind("phone", phone),
                "address": address,
                "lat": 39.9,
                "lng": 116.4,
            }
        )
        signed = i >= n_open
        status = "SIGNED" if signed else rng.choice(["CREATED", "PAID", "PICKING", "DELIVERING"])
        rider = None
        if status in ("PICKING", "DELIVERING", "SIGNED") and by_warehouse.get(warehouse):
            rider = rng.choice(by_warehouse[warehouse])
        changed = now - timedelta(minutes=rng.uniform(0, 23 * 60 if signed else 40))
        orders.append(
            {
                "channel": rng.choice(["app", "meituan", "eleme", "mini_program"]),
                "external_id": f"BENCH-{i}",
                "customer_id": i + 1,
                "customer_name": name,
                "customer_phone": phone,
                "address": address,
                "lat": 39.9,
                "lng": 116.4,
                "zone": zone["name"],
                "warehouse_id": warehouse,
                "rider_id": rider,
                "status": status,
                "open_rank": 1 if signed else 0,
                "version": 3,
                "stock_state": "none",
                "amount_cents": 1000,
                "weight_g": 1000,
                "cold_chain": False,
                "promised_at": changed + timedelta(minutes=45),
                "created_at": changed - timedelta(minutes=5),
                "updated_at": changed,
                "signed_at": changed if signed else None,
                # The blind index the backend writes with every order (orders/records.py).
                "search_tags": cipher.search_tags(name, phone),
            }
        )

    async def _job(session: AsyncSession) -> None:
        for start in range(0, len(orders), 5000):
            await session.execute(insert(CustomerRow), customers[start : start + 5000])
            await session.execute(insert(OrderRow), orders[start : start + 5000])

    await db.write(_job)


def old_search(text_: str):
    """The search before fuzzy matching (orders/service.py `_search`, as it was). Names and
    phones are encrypted since: its LIKEs scan the same rows (the cost it had) but match
    ciphertext, so as a baseline it stands for cost, not for what it finds."""
    text_ = text_.strip()
    clauses = [
        func.lower(OrderRow.customer_name).contains(text_.lower(), autoescape=True),
        OrderRow.external_id == text_,
    ]
    if text_.isascii() and text_.isdigit():
        clauses.append(OrderRow.customer_phone.endswith(text_, autoescape=True))
        if int(text_) < 2**31:
            clauses.append(OrderRow.id == int(text_))
    return or_(*clauses)


async def old_list(session: AsyncSession, principal: Principal, q: str) -> list[int]:
    query = (
        select(OrderRow)
        .where(and_(order_scope(principal), old_search(q)))
        .order_by(OrderRow.open_rank, OrderRow.promised_at, OrderRow.id)
        .limit(101)
    )
    return [row.id for row in (await session.scalars(query)).all()]


@dataclass(frozen=True, slots=True)
class Query:
    kind: str
    text: str
    principal: Principal
    wanted: int | None = None
    """The order a typo query was made from: found or not."""


async def make_queries(db: Database, count: int, seed: int) -> list[Query]:
    rng = random.Random(seed + 1)
    async with db.read() as session:
        rows = (
            await session.execute(
                select(
                    OrderRow.id,
                    OrderRow.customer_name,
                    OrderRow.customer_phone,
                    OrderRow.address,
                    OrderRow.warehouse_id,
                    OrderRow.status,
                )
            )
        ).all()
        riders = [name for (name,) in (await session.execute(select(RiderRow.name))).all()]
    merchant_rows = [r for r in rows if r[4] == "WH-CY" and r[5] in ("PAID", "PICKING")]
    queries: list[Query] = []
    kinds = ["name typo", "name part", "phone", "order id", "street typo", "rider typo"]
    kinds += ["merchant name typo"]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        order_id, name, phone, address, _, _ = rng.choice(rows)
        match kind:
            case "name typo":
                surname, given = name.split(" ", 1)
                queries.append(Query(kind, f"{surname} {typo(given, rng)}", DISPATCHER, order_id))
            case "name part":
                queries.append(Query(kind, name[: rng.randint(4, len(name))], DISPATCHER))
            case "phone":
                queries.append(Query(kind, phone[-4:], DISPATCHER))
            case "order id":
                queries.append(Query(kind, str(order_id), DISPATCHER))
            case "street typo":
                street = address.split(",")[0].rsplit(" ", 1)[0]
                queries.append(Query(kind, typo(street, rng), DISPATCHER))
            case "rider typo":
                surname, given = rng.choice(riders).split(" ", 1)
                queries.append(Query(kind, f"{surname} {typo(given, rng)}", DISPATCHER))
            case _:
                order_id, name = rng.choice(merchant_rows)[:2]
                surname, given = name.split(" ", 1)
                queries.append(Query(kind, f"{surname} {typo(given, rng)}", MERCHANT, order_id))
    return queries


async def timed(call) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = await call()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def spread(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "p50": percentile(ms, 50),
        "p99": percentile(ms, 99),
        "max": max(ms),
        "cpu_mean": 0.0,
        "n": len(ms),
    }


async def run(url: str, args: argparse.Namespace, label: str) -> dict[str, Any]:
    db = Database(url)
    # Names and phones are stored encrypted, as the backend stores them: a key ring of the run's.
    install(parse_ring(new_ring_text(), "the bench's own keys", reload=None))
    try:
        await db.migrate()
        now = datetime.now(UTC).replace(microsecond=0)
        await seed_demo(db, Passwords(time_cost=1, memory_cost_kib=64), now=now)
        begin = time.perf_counter()
        await write_orders(db, args.open, args.signed, now, args.seed)
        written = time.perf_counter() - begin

        async def _analyze(session: AsyncSession) -> None:
            await session.execute(text("ANALYZE"))

        await db.write(_analyze)
        queries = await make_queries(db, args.queries, args.seed)
        corpus = SearchCorpus()

        async def new(query: Query) -> list[int]:
            filters = service.OrderFilters(query=query.text, limit=100)
            async with db.read() as session:
                rows, _ = await service.list_orders(
                    session, query.principal, filters, now=now, corpus=corpus
                )
                return [row.id for row in rows]

        async def old(query: Query) -> list[int]:
            async with db.read() as session:
                return await old_list(session, query.principal, query.text)

        first_wall, first_cpu, _ = await timed(lambda: new(queries[0]))
        await old(queries[0])  # warm the same way
        walls: dict[str, list[float]] = {"new": [], "old": []}
        cpus: dict[str, list[float]] = {"new": [], "old": []}
        found = {"new": 0, "old": 0}
        wanted = 0
        per_kind: dict[str, list[float]] = {}
        for query in queries:
            for name, ask in (("old", old), ("new", new)):
                wall, cpu, ids = await timed(lambda a=ask, q=query: a(q))
                walls[name].append(wall)
                cpus[name].append(cpu)
                if query.wanted is not None:
                    found[name] += query.wanted in ids
                if name == "new":
                    per_kind.setdefault(query.kind, []).append(wall)
            wanted += query.wanted is not None
        result: dict[str, Any] = {
            "database": label,
            "orders": {"open": args.open, "signed": args.signed, "written_s": written},
            "first_search_ms": first_wall * 1000,
            "first_search_cpu_ms": first_cpu * 1000,
            "corpus": len(corpus.entries),
            "typo_queries": wanted,
        }
        for name in ("new", "old"):
            figures = spread(walls[name])
            figures["cpu_mean"] = sum(cpus[name]) / len(cpus[name]) * 1000
            figures["typos_found"] = found[name]
            result[name] = figures
        result["new_p99_by_kind"] = {
            k: percentile([v * 1000 for v in vs], 99) for k, vs in per_kind.items()
        }
        return result
    finally:
        await db.dispose()


def report(result: dict[str, Any]) -> None:
    new, old = result["new"], result["old"]
    o = result["orders"]
    print(
        f"\n{result['database']}: {o['open']:,} open + {o['signed']:,} signed orders "
        f"(written in {o['written_s']:.1f} s); corpus {result['corpus']:,} live orders; "
        f"first search (reads the corpus) {result['first_search_ms']:.0f} ms, "
        f"{result['first_search_cpu_ms']:.0f} ms CPU"
    )
    print(f"{'per query':28} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'CPU ms':>8}  typos found")
    for name, label in (("new", "fuzzy search (q)"), ("old", "substring search (baseline)")):
        f = result[name]
        print(
            f"{label:28} {f['p50']:8.1f} {f['p99']:8.1f} {f['max']:8.1f} {f['cpu_mean']:8.1f}"
            f"  {f['typos_found']}/{result['typo_queries']}"
        )
    verdict = "ok" if new["p99"] <= GOAL_P99_MS else "OVER"
    print(
        f"ratio p99 {new['p99'] / old['p99']:.1f}x, CPU {new['cpu_mean'] / old['cpu_mean']:.1f}x;"
        f" goal p99 <= {GOAL_P99_MS:g} ms: {verdict}"
    )
    print(
        "fuzzy p99 by kind: "
        + ", ".join(f"{k} {v:.1f}" for k, v in result["new_p99_by_kind"].items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=20_000)
    parser.add_argument("--signed", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=350)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--postgres-server", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    results = []
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{folder}/search.db"
            results.append(asyncio.run(run(url, args, "SQLite")))
            report(results[-1])
    if args.only in (None, "postgresql"):
        with temporary_postgres(args.postgres_server, "freshline_search") as url:
            results.append(asyncio.run(run(url, args, "PostgreSQL")))
            report(results[-1])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
