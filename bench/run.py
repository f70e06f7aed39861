"""Every benchmark of the whole path, each beside its baseline, in one run (`make bench`).

    .venv/bin/python bench/run.py [--scale 1] [--seconds 30] [--only stream console ...]
                                  [--no-postgres] [--out bench/results]

1. stream: commit -> client and commit -> screen at nominal and peak load (SQLite), beside a
   bare `websockets` broadcast and a bare Textual app (`stream_load.py`, `console_probe.py`);
2. console: events a second the console absorbs (`console_apply.py`) beside a bare Textual app,
   and its CPU at nominal load (from 1) beside the bare app's;
3. memory: RSS and cold start with 10,000 and 20,000 orders beside the empty board
   (`console_board.py --json`, a fresh process each);
4. backend: transitions/s and server CPU per transition with 8 clients beside the peer app
   (`peer_app.py`: a minimal FastAPI + SQLAlchemy app doing a transition's core work), single
   order query p99, position ingest/s, beside raw inserts and selects through the same driver,
   on SQLite and PostgreSQL (`backend_load.py`);
5. scale-out: writes through two instances on PostgreSQL + Redis beside one (transitions/s,
   server CPU per transition summed, every event once on each stream), and the nominal stream
   load through two instances beside one;
6. intake: orders/s through the channel gateway beside `POST /orders` (`channel_intake.py`);
7. peak day: a million orders a day at its peak hour with every transition, 10,000 riders and
   20 consoles, on SQLite and PostgreSQL, beside the bare broadcast at the same rates;
8. search: `GET /orders?q=`'s search at 20,000 open orders and 20,000 signed in the last day,
   p99, CPU per query and typos found, beside the substring search it replaced
   (`search.py`), on SQLite and PostgreSQL;
9. privacy: CPU per order taken and per snapshot with personal fields encrypted beside the
   same code storing them plain (`field_encryption.py`);
10. order page: CPU per page of the DELIVERING lane with each order's ETA and rider beside the
   same page without them (`order_page.py`), SQLite;
11. metrics: server CPU per transition with metrics on beside the same server with them off
   (`metrics_cost.py`);
12. proof: CPU per proof photo kept (decoded, checked, encoded again, stored by hash) beside
   storing the bytes as sent (`proof_upload.py`);
13. webhooks: delivery lag p99 (commit -> receiver) with 10 subscriptions at the peak load,
   beside the stream's commit -> client p99 in the same run (`webhook_lag.py`);
14. archive: rows/s moved to Parquet beside a plain pyarrow export, and the KPI summary over
   90 days, hot + archived, beside the same days all in the database (`archive.py`);
15. tracking: customers' tracking views/s and server CPU per view with 1,000 live tracking
   subscriptions open, beside `GET /health` on the same server (`tracking.py`).
16. low stock: CPU of the `low_stock` rule's pass over one warehouse (500 SKUs, an hour of
   reservations) beside the engine's pass over one order, and over every warehouse beside
   every other rule's tick (`low_stock.py`).
17. restock: CPU per restock plan (500 SKUs, 14 days of demand) beside the driver's raw read
   of the same history (`restock.py`).
18. report: the day report on a month of a busy city's history, beside raw counts of the day's
   rows (`day_report.py`).
19. eta: the learned ETA's MAE and p90 error on held-out simulated days beside the straight
   line, the delay risk's Brier score (calibration deciles in the raw report), fitting time and
   peak memory for 30 days of history, CPU per live estimate (`eta.py`).
20. routes: one simulated day (same seed) dispatched with today's ranking and with the
   optimised one (insertion cost, OR-Tools sequencing): on-time %, p90 delivery minutes, km per
   order, orders per rider-hour; and CPU per route optimisation at the peak beside the promise
   order's, with the event loop's longest stall while routes are planned (`routes.py`).
21. rewind: the board rebuilt at any minute of a peak day's event log (the console's rewind
   tape with its checkpoints), p99 and CPU per rewind, beside replaying the log from the start
   of the day to that minute; the tape's memory beside the same events held as objects
   (`rewind.py`).
22. ssh: 20 consoles served by one `freshline ssh-serve` at the nominal load: CPU per console
   (ssh-serve and its consoles) and commit -> screen p99 over SSH, beside a local console on a
   PTY in the same run (`ssh.py`).

`--scale` multiplies every load (riders, event rates, orders, requests; consoles by up to 2x
the scale); `--seconds` is how long each stream load runs. Writes `<out>/latest.json` and
`<out>/latest.md` and prints the table: each figure, its baseline, the ratio (figure /
baseline) and the goal's verdict. Exit status 1 if anything failed or was lost (a missed goal
is a figure, not a failure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import archive as archive_bench
from bench import (
    backend_load,
    channel_intake,
    console_apply,
    field_encryption,
    metrics_cost,
    order_page,
    proof_upload,
    search,
    webhook_lag,
)
from bench import day_report as day_report_bench
from bench import eta as eta_bench
from bench import low_stock as low_stock_bench
from bench import restock as restock_bench
from bench import rewind as rewind_bench
from bench import routes as routes_bench
from bench import ssh as ssh_bench
from bench import tracking as tracking_bench
from bench.common import (
    ROOT,
    postgres_reachable,
    redis_reachable,
    serving_process,
    temporary_postgres,
)
from bench.figures import Figure, goal, write_report
from bench.stream_load import NOMINAL, PEAK, Load, measure_bare, measure_freshline

BENCHMARKS = (
    "stream",
    "console",
    "memory",
    "backend",
    "scaleout",
    "intake",
    "peakday",
    "search",
    "privacy",
    "orderpage",
    "metrics",
    "proof",
    "webhooks",
    "archive",
    "tracking",
    "lowstock",
    "restock",
    "report",
    "eta",
    "routes",
    "rewind",
    "ssh",
)
PEAK_DAY = Load("peak day", 10_000, 360.0, 20, 180.0)
"""A million orders a day at its peak hour (seed 002): about 60 orders a second, each with its
six changes (created, paid, picked, assigned, out, signed), 10,000 riders every 15 s, 20
consoles."""
ON_REDIS = {"FRESHLINE_BUS_URL": "redis://127.0.0.1:6379/6"}
STREAM_ENV = {"FRESHLINE_AUTO_DISPATCH": "false"}


class Run:
    """Collects figures, raw results and trouble as the benchmarks go."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.figures: list[Figure] = []
        self.raw: dict[str, Any] = {}
        self.trouble: list[str] = []
        self.loads: dict[str, str] = {}

    def add(self, *figures: Figure) -> None:
        for f in figures:
            self.figures.append(f)
            print(f"  {f.name}: {f.value:.4g} {f.unit}", flush=True)

    def check(self, where: str, result: dict[str, Any]) -> None:
        """Record losses, gaps, closed connections, refused requests and console errors."""
        for key in ("lost", "gaps", "failure_count"):
            if result.get(key):
                self.trouble.append(f"{where}: {key} = {result[key]}")
        if result.get("closed"):
            self.trouble.append(f"{where}: connections closed: {result['closed'][:2]}")
        for mode in ("freshline", "bare"):
            console = result.get(f"console_{mode}")
            if console:
                for key in ("not_applied", "errors"):
                    if console.get(key):
                        self.trouble.append(f"{where}, {mode} console: {key} = {console[key]}")


# --- 1 and 2: the stream under load -------------------------------------------------------------


def stream_run(
    load: Load,
    urls_env: list[dict[str, str]],
    database: str,
    probes: bool,
    refresh_hz: float = 5.0,
) -> dict:
    """The load on fresh instances (one per entry of `urls_env`) sharing `database`."""
    with tempfile.TemporaryDirectory(prefix="freshline-bench-stream-") as folder:
        run_dir = Path(folder)
        servers = []
        with ExitStack() as stack:
            for n, env in enumerate(urls_env):
                url, process = stack.enter_context(
                    serving_process(database, run_dir / f"server-{n}", {**STREAM_ENV, **env})
                )
                servers.append((url, process))
            return asyncio.run(
                measure_freshline(
                    [u for u, _ in servers],
                    load,
                    run_dir,
                    probes=probes,
                    server_pids=[p.pid for _, p in servers],
                    refresh_hz=refresh_hz,
                )
            )


def bare_run(load: Load) -> dict:
    with tempfile.TemporaryDirectory(prefix="freshline-bench-bare-") as folder:
        return asyncio.run(measure_bare(load, Path(folder)))


def bench_stream(run: Run) -> None:
    scale, seconds = run.args.scale, run.args.seconds
    for nominal in (NOMINAL, PEAK):
        load = nominal.scaled(scale, seconds)
        run.loads[f"stream {load.name}"] = load.describe()
        print(f"1. stream, {load.name}: {load.describe()}", flush=True)
        with tempfile.TemporaryDirectory(prefix="freshline-bench-db-") as folder:
            database = f"sqlite+aiosqlite:///{folder}/bench.db"
            result = stream_run(load, [{}], database, True, run.args.refresh_hz)
        bare = bare_run(load)
        run.raw[f"stream_{load.name}"] = {"freshline": result, "bare": bare}
        run.check(f"stream {load.name}", result)
        if bare["lost"]:
            run.trouble.append(f"bare broadcast {load.name}: lost {bare['lost']}")
        limit = 50.0 if load.name == "nominal" else 100.0
        client = result["commit_to_client_ms"]
        console, bare_app = result["console_freshline"], result["console_bare"]
        lost = result["lost"] + result["gaps"] + console["not_applied"]
        run.add(
            Figure(
                "1 stream",
                f"commit -> client p99, {load.name}",
                client["p99"],
                "ms",
                "bare websockets broadcast p99",
                bare["send_to_client_ms"]["p99"],
                f"<= {limit:.0f} ms",
                goal(client["p99"], limit, at_most=True),
                f"p50 {client['p50']:.1f} ms; send -> client p99 "
                f"{result['send_to_client_ms']['p99']:.1f} ms; "
                f"{result['events_per_s']:.1f} events/s achieved",
            ),
            Figure(
                "1 stream",
                f"commit -> screen p99, {load.name}",
                console["commit_to_screen_ms"]["p99"],
                "ms",
                "bare Textual app p99",
                bare_app["commit_to_screen_ms"]["p99"],
                "<= 250 ms",
                goal(console["commit_to_screen_ms"]["p99"], 250.0, at_most=True),
                f"p50 {console['commit_to_screen_ms']['p50']:.1f} ms; redraw "
                f"{run.args.refresh_hz:g} Hz",
            ),
            Figure(
                "1 stream",
                f"events lost, {load.name}",
                lost,
                "",
                "bare broadcast lost",
                bare["lost"],
                "0",
                lost == 0,
                f"{result['changes']} changes x {result['subscribers']} raw subscribers, "
                "the console and the bare app",
            ),
        )
        if load.name == "nominal":
            run.add(
                Figure(
                    "2 console",
                    "console CPU at nominal load",
                    console["cpu_share"] * 100,
                    "% of a core",
                    "bare Textual app",
                    bare_app["cpu_share"] * 100,
                    "<= 30 %",
                    goal(console["cpu_share"] * 100, 30.0, at_most=True),
                    f"{console['messages']} messages applied",
                )
            )


# --- 2: apply rate ------------------------------------------------------------------------------


def bench_console(run: Run) -> None:
    seconds = max(1.0, min(5.0, run.args.seconds / 4))
    orders = max(100, round(2000 * min(1.0, run.args.scale)))
    print(f"2. console apply rate: {orders} orders on the board, {seconds:g} s each", flush=True)
    result = console_apply.measure(orders, seconds)
    run.raw["console_apply"] = result
    fresh, bare = result["freshline"], result["bare"]
    if fresh["errors"]:
        run.trouble.append(f"console apply: {fresh['errors']} errors")
    run.add(
        Figure(
            "2 console",
            "console apply rate",
            fresh["events_per_s"],
            "events/s",
            "bare Textual app",
            bare["events_per_s"],
            ">= 5,000 events/s",
            goal(fresh["events_per_s"], 5000.0, at_most=False),
            f"{fresh['ticks_per_s']:.1f} redraws/s (bare {bare['ticks_per_s']:.1f})"
            f" at {console_apply.REFRESH_HZ:g} Hz",
        )
    )


# --- 3: memory and cold start -------------------------------------------------------------------


def board(orders: int, seconds: float) -> dict[str, Any]:
    command = [
        sys.executable,
        str(ROOT / "bench" / "console_board.py"),
        *("--orders", str(orders), "--rate", "10", "--seconds", str(seconds), "--json"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise SystemExit(f"console_board.py --orders {orders} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_memory(run: Run) -> None:
    small, large = (round(n * min(1.0, run.args.scale * 2)) for n in (10_000, 20_000))
    seconds = max(0.5, min(3.0, run.args.seconds / 10))
    print(f"3. console memory and cold start: {small:,} and {large:,} orders", flush=True)
    board(0, seconds)  # a warm-up: the first process reads every module from disk
    empty, first, second = board(0, seconds), board(small, seconds), board(large, seconds)
    run.raw["console_board"] = {"empty": empty, str(small): first, str(large): second}
    run.add(
        Figure(
            "3 memory",
            f"console RSS, {large:,} orders",
            second["rss_mb"],
            "MB",
            "empty board",
            empty["rss_mb"],
            "<= 200 MB" if large == 20_000 else "",
            goal(second["rss_mb"], 200.0, at_most=True) if large == 20_000 else None,
        ),
        Figure(
            "3 memory",
            f"console RSS, {small:,} orders",
            first["rss_mb"],
            "MB",
            "empty board",
            empty["rss_mb"],
        ),
        Figure(
            "3 memory",
            f"cold start to first board, {small:,} orders",
            first["cold_start_s"],
            "s",
            "empty board",
            empty["cold_start_s"],
            "<= 2 s" if small == 10_000 else "",
            goal(first["cold_start_s"], 2.0, at_most=True) if small == 10_000 else None,
            f"of which store + first paint {first['first_paint_s']:.2f} s",
        ),
        Figure(
            "3 memory",
            f"cold start to first board, {large:,} orders",
            second["cold_start_s"],
            "s",
            "empty board",
            empty["cold_start_s"],
        ),
    )


# --- 4: the backend -----------------------------------------------------------------------------


def bench_backend(run: Run) -> None:
    scale = run.args.scale
    orders, queries, fixes = (max(16, round(n * scale)) for n in (400, 500, 20_000))
    run.loads["backend"] = (
        f"{orders} orders x 5 transitions, {queries} order queries, {fixes:,} fixes "
        f"in batches of {backend_load.BATCH}, {backend_load.CLIENTS} clients"
    )
    databases = [("SQLite", backend_load.measure_sqlite)]
    if run.args.postgres:
        databases.append(("PostgreSQL", backend_load.measure_postgres))
    for label, measure in databases:
        print(f"4. backend on {label}: {run.loads['backend']}", flush=True)
        result = measure(orders, queries, fixes)
        run.raw[f"backend_{label.lower()}"] = result
        api, raw = result["api"], result["raw"]
        for key in ("transitions", "query", "ingest"):
            if api[key]["failure_count"]:
                run.trouble.append(f"backend {label} {key}: {api[key]['failures']}")
        sqlite = label == "SQLite"
        peer = result["peer"]["transitions"]
        if peer["failure_count"]:
            run.trouble.append(f"backend {label} peer app: {peer['failures']}")
        ours = api["transitions"]
        wanted = 500.0 if sqlite else 400.0
        run.add(
            Figure(
                f"4 backend {label}",
                "HTTP transitions/s, 8 clients",
                ours["per_s"],
                "/s",
                "peer app (FastAPI + SQLAlchemy) transitions/s",
                peer["per_s"],
                f">= {wanted:.0f}/s, >= 0.8x the peer",
                goal(ours["per_s"], wanted, at_most=False)
                and goal(ours["per_s"], 0.8 * peer["per_s"], at_most=False),
                f"raw 1-row insert transactions/s: {raw['transitions']['per_s']:,.0f}",
            ),
            Figure(
                f"4 backend {label}",
                "server CPU per transition",
                ours["server_cpu_ms_each"],
                "ms",
                "peer app, same client",
                peer["server_cpu_ms_each"],
                "<= 2 ms" if sqlite else "",
                goal(ours["server_cpu_ms_each"], 2.0, at_most=True) if sqlite else None,
                "all of the server process's CPU over the transitions, divided by them",
            ),
            Figure(
                f"4 backend {label}",
                "transition p99, 8 clients",
                api["transitions"]["latency_ms"]["p99"],
                "ms",
                "raw insert p99",
                raw["transitions"]["latency_ms"]["p99"],
            ),
            Figure(
                f"4 backend {label}",
                "single order query p99",
                api["query"]["latency_ms"]["p99"],
                "ms",
                "raw SELECT by id p99",
                raw["query"]["latency_ms"]["p99"],
                "<= 20 ms",
                goal(api["query"]["latency_ms"]["p99"], 20.0, at_most=True),
            ),
            Figure(
                f"4 backend {label}",
                "positions ingested/s, batches of 100",
                api["ingest"]["per_s"],
                "/s",
                "raw batch inserts/s",
                raw["ingest"]["per_s"],
                ">= 2,000/s",
                goal(api["ingest"]["per_s"], 2000.0, at_most=False),
            ),
        )


# --- 6: intake, 7: peak day -------------------------------------------------------------------


def bench_intake(run: Run) -> None:
    orders = max(24, round(600 * run.args.scale))
    run.loads["intake"] = (
        f"{orders} orders each way, {channel_intake.CLIENTS} clients, as each platform sends "
        "them, signed; SQLite"
    )
    print(f"6. intake: {run.loads['intake']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="freshline-bench-intake-") as folder:
        url = f"sqlite+aiosqlite:///{folder}/intake.db"
        env = {"FRESHLINE_CHANNEL_RATE_PER_SECOND": "1000000", "FRESHLINE_AUTO_DISPATCH": "false"}
        with serving_process(url, Path(folder), env) as (base_url, _process):
            phases = asyncio.run(
                channel_intake.measure(base_url, orders, channel_intake.CLIENTS, rounds=3)
            )
    run.raw["intake"] = [p.summary() for p in phases]
    by_name = {p.name: p for p in phases}
    for phase in phases:
        if phase.failures:
            run.trouble.append(f"intake {phase.name}: {phase.failures[:2]}")
    gateway, baseline = by_name["gateway"], by_name["baseline: POST /orders"]
    paid, paid_baseline = by_name["gateway, paid"], by_name["baseline, paid: + pay"]
    run.add(
        Figure(
            "6 intake",
            "orders/s through the channel gateway",
            gateway.rate,
            "/s",
            "POST /orders as the channel's account",
            baseline.rate,
            ">= 200/s",
            goal(gateway.rate, 200.0, at_most=False),
        ),
        Figure(
            "6 intake",
            "paid orders/s through the gateway",
            paid.rate,
            "/s",
            "POST /orders, then pay",
            paid_baseline.rate,
        ),
    )


def bench_search(run: Run) -> None:
    each = max(200, round(20_000 * run.args.scale))
    queries = max(14, round(350 * run.args.scale))
    run.loads["search"] = (
        f"{each:,} open orders and {each:,} signed in the last day; {queries} mixed queries "
        "(name, street and rider typos, name parts, phone digits, ids; a merchant's too)"
    )
    print(f"8. search: {run.loads['search']}", flush=True)
    options = argparse.Namespace(open=each, signed=each, queries=queries, seed=1)
    databases: list[tuple[str, Any]] = []
    with ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="freshline-bench-search-"))
        databases.append(("SQLite", f"sqlite+aiosqlite:///{folder}/search.db"))
        if run.args.postgres:
            databases.append(("PostgreSQL", stack.enter_context(temporary_postgres())))
        for label, url in databases:
            result = asyncio.run(search.run(url, options, label))
            run.raw[f"search {label}"] = result
            new, old = result["new"], result["old"]
            run.add(
                Figure(
                    f"8 search {label}",
                    "search p99",
                    new["p99"],
                    "ms",
                    "substring search p99 (the search before)",
                    old["p99"],
                    f"<= {search.GOAL_P99_MS:g} ms",
                    goal(new["p99"], search.GOAL_P99_MS, at_most=True),
                ),
                Figure(
                    f"8 search {label}",
                    "CPU per search",
                    new["cpu_mean"],
                    "ms",
                    "substring search, CPU per query",
                    old["cpu_mean"],
                    note="this process: on SQLite the database too; PostgreSQL's is its own",
                ),
                Figure(
                    f"8 search {label}",
                    "typo queries finding their order",
                    new["typos_found"] / max(1, result["typo_queries"]),
                    "share",
                    "substring search",
                    old["typos_found"] / max(1, result["typo_queries"]),
                ),
            )


def bench_privacy(run: Run) -> None:
    rounds = 5 if run.args.scale >= 0.5 else 1
    args = argparse.Namespace(
        orders=max(field_encryption.WRITE_SAMPLE, round(300 * run.args.scale)),
        snapshot=max(50, round(2000 * run.args.scale)),
        rounds=rounds,
    )
    run.loads["privacy"] = (
        f"{args.orders} orders a round, snapshots of {args.snapshot}+ orders, {rounds} "
        "round(s), in this process; SQLite"
    )
    print(f"9. privacy: {run.loads['privacy']}", flush=True)
    report = asyncio.run(field_encryption.run(args))
    run.raw["privacy"] = report
    for what, label in (("write", "order taken"), ("snapshot", "snapshot")):
        figures = report[what]
        run.add(
            Figure(
                "9 privacy",
                f"CPU per {label}, fields encrypted",
                figures["sealed_cpu_s"] * 1000,
                "ms",
                "the same, stored plain",
                figures["plain_cpu_s"] * 1000,
                "<= 1.05x",
                goal(figures["ratio"], field_encryption.GOAL, at_most=True),
            )
        )


def bench_order_page(run: Run) -> None:
    args = argparse.Namespace(
        open=max(400, round(4000 * run.args.scale)),
        pages=200 if run.args.scale >= 0.5 else 20,
    )
    run.loads["order page"] = (
        f"{args.open} open orders (a quarter out for delivery), the DELIVERING lane's first "
        f"page read {args.pages} times each way, in this process; SQLite"
    )
    print(f"10. order page: {run.loads['order page']}", flush=True)
    report = asyncio.run(order_page.run(args))
    run.raw["order page"] = report
    if report["with_eta"] == 0:
        run.trouble.append("order page: no order on the page carried an ETA")
    run.add(
        Figure(
            "10 order page",
            "CPU per page, ETAs and riders",
            report["with"]["cpu_ms"],
            "ms",
            "the same page without them",
            report["without"]["cpu_ms"],
            f"<= {order_page.GOAL}x",
            goal(report["ratio"], order_page.GOAL, at_most=True),
        )
    )


def bench_metrics(run: Run) -> None:
    orders = max(metrics_cost.CLIENTS, round(100 * run.args.scale))
    rounds = 6 if run.args.scale >= 0.5 else 2
    run.loads["metrics"] = (
        f"{orders} orders a round and server, {rounds} rounds, 5 transitions each, "
        f"{metrics_cost.CLIENTS} clients; SQLite"
    )
    print(f"11. metrics: {run.loads['metrics']}", flush=True)
    result = metrics_cost.run(orders, rounds)
    run.raw["metrics"] = result
    for side in ("on", "off"):
        if result[side]["failure_count"]:
            run.trouble.append(f"metrics {side}: {result[side]['failures']}")
    run.add(
        Figure(
            "11 metrics",
            "server CPU per transition, metrics on",
            result["on"]["server_cpu_ms_each"],
            "ms",
            "the same server, metrics off",
            result["off"]["server_cpu_ms_each"],
            "<= 1.05x",
            goal(result["ratio"], metrics_cost.GOAL, at_most=True),
            "scraped once a round; both write JSON log lines",
        )
    )


def bench_proof(run: Run) -> None:
    args = argparse.Namespace(
        photos=max(2, round(20 * run.args.scale)), rounds=5 if run.args.scale >= 0.5 else 1
    )
    run.loads["proof"] = (
        f"{args.photos} photos of {proof_upload.SIZE[0]}x{proof_upload.SIZE[1]} a round, "
        f"{args.rounds} round(s), in this process; a temporary folder"
    )
    print(f"12. proof: {run.loads['proof']}", flush=True)
    report = proof_upload.run(args)
    run.raw["proof"] = report
    run.add(
        Figure(
            "12 proof",
            "CPU per proof photo kept, cleaned",
            report["cleaned_cpu_s"] * 1000,
            "ms",
            "the same photo stored as sent",
            report["raw_cpu_s"] * 1000,
            note=f"{report['sent_bytes']} bytes sent, {report['kept_bytes']} kept",
        )
    )


def bench_archive(run: Run) -> None:
    args = argparse.Namespace(
        days=90 if run.args.scale >= 0.5 else 10,
        orders_per_day=max(10, round(300 * run.args.scale)),
        rounds=3 if run.args.scale >= 0.5 else 1,
    )
    run.loads["archive"] = f"{args.days} days of {args.orders_per_day} orders, in this process"
    print(f"14. archive: {run.loads['archive']}", flush=True)
    report = asyncio.run(archive_bench.run(args))
    run.raw["archive"] = report
    run.add(
        Figure(
            "14 archive",
            "rows archived/s",
            report["archive_rows_per_s"],
            "rows/s",
            "plain pyarrow export of the same tables",
            report["baseline_rows_per_s"],
        )
    )
    run.add(
        Figure(
            "14 archive",
            f"KPI summary over {args.days} days, hot + archived",
            report["kpi_tiered_s"],
            "s",
            "the same over the 3 hot days",
            report["kpi_hot_s"],
            f"<= {archive_bench.GOAL_S:g} s",
            goal(report["kpi_tiered_s"], archive_bench.GOAL_S, at_most=True),
        )
    )
    run.add(
        Figure(
            "14 archive",
            "CPU per KPI summary, hot + archived",
            report["kpi_tiered_cpu_s"],
            "s",
            "the same days all in the database",
            report["kpi_all_in_database_cpu_s"],
        )
    )


def bench_tracking(run: Run) -> None:
    subscriptions = max(20, round(1000 * run.args.scale))
    seconds = max(1.0, min(5.0, run.args.seconds / 6))
    run.loads["tracking"] = (
        f"{subscriptions} live tracking subscriptions, 8 clients, 3 rounds of {seconds:g} s "
        "each way; SQLite"
    )
    print(f"15. tracking: {run.loads['tracking']}", flush=True)
    report = tracking_bench.run(subscriptions, seconds, clients=8, rounds=3)
    run.raw["tracking"] = report
    views, health = report["views"], report["health"]
    if views["failed"] or health["failed"] or report["live_at_end"] != subscriptions:
        run.trouble.append(f"tracking: {report}")
    run.add(
        Figure(
            "15 tracking",
            f"tracking views/s, {subscriptions} live subscriptions",
            views["per_s"],
            "/s",
            "GET /health/s, same server and sockets",
            health["per_s"],
        ),
        Figure(
            "15 tracking",
            "server CPU per tracking view",
            views["cpu_ms_each"],
            "ms",
            "server CPU per GET /health",
            health["cpu_ms_each"],
        ),
    )


def bench_low_stock(run: Run) -> None:
    args = argparse.Namespace(
        skus=500,
        orders=max(100, round(3000 * run.args.scale)),
        passes=20 if run.args.scale >= 0.5 else 3,
    )
    run.loads["lowstock"] = (
        f"{args.skus} SKUs in each of 6 warehouses, {args.orders} orders paid in the last hour, "
        f"{args.passes} passes each way, in this process; SQLite"
    )
    print(f"16. low stock: {run.loads['lowstock']}", flush=True)
    report = asyncio.run(low_stock_bench.run(args))
    run.raw["lowstock"] = report
    run.add(
        Figure(
            "16 low stock",
            "CPU per low_stock pass, one warehouse",
            report["warehouse_cpu_ms"],
            "ms",
            "the engine's pass over one order",
            report["order_cpu_ms"],
        ),
        Figure(
            "16 low stock",
            "CPU per low_stock pass, every warehouse",
            report["tick_rule_cpu_ms"],
            "ms",
            "every other rule's pass over everything",
            report["tick_others_cpu_ms"],
        ),
    )


def bench_restock(run: Run) -> None:
    args = argparse.Namespace(
        skus=500,
        days=14 if run.args.scale >= 0.5 else 7,
        orders_per_hour=max(20.0, 288.0 * run.args.scale),
        rounds=5 if run.args.scale >= 0.5 else 1,
    )
    run.loads["restock"] = (
        f"{args.skus} SKUs x 5 warehouses, {args.days} days of demand at "
        f"{args.orders_per_hour:g} orders/h at the peak; SQLite, in this process"
    )
    print(f"17. restock: {run.loads['restock']}", flush=True)
    report = asyncio.run(restock_bench.run(args))
    run.raw["restock"] = report
    run.add(
        Figure(
            "17 restock",
            "CPU per restock plan, 500 SKUs",
            report["plan_cpu_ms"],
            "ms",
            "raw driver read of the same history",
            report["raw_read_cpu_ms"],
        ),
        Figure(
            "17 restock",
            "CPU per forecast, rows already read",
            report["forecast_cpu_ms"],
            "ms",
            "raw driver read of the same history",
            report["raw_read_cpu_ms"],
        ),
    )


def bench_report(run: Run) -> None:
    args = argparse.Namespace(
        days=30 if run.args.scale >= 0.5 else 3,
        orders_per_hour=max(2.0, 72 * run.args.scale),
        seed=1,
        repeat=3 if run.args.scale >= 0.5 else 1,
    )
    run.loads["report"] = (
        f"{args.days} days of history at {args.orders_per_hour:g} orders/h all day, SQLite, "
        "in this process"
    )
    print(f"18. day report: {run.loads['report']}", flush=True)
    report = asyncio.run(day_report_bench.run(args))
    run.raw["report"] = report
    run.add(
        Figure(
            "18 report",
            f"day report on {args.days} days of history, computed and rendered",
            report["report_s"],
            "s",
            "raw SQL count of the day's orders and events",
            report["baseline_s"],
            f"<= {day_report_bench.GOAL_S:g} s",
            goal(report["report_s"], day_report_bench.GOAL_S, at_most=True),
            f"{report['orders_per_day']:.0f} orders a day; JSON, Markdown and PDF",
        ),
        Figure(
            "18 report",
            "CPU per day report",
            report["report_cpu_s"],
            "s",
            "CPU of the raw SQL count",
            report["baseline_cpu_s"],
        ),
        Figure(
            "18 report",
            "every day of the month, one report each",
            report["month_s"],
            "s",
            "raw SQL counts of the same days",
            report["month_baseline_s"],
        ),
    )


def bench_eta(run: Run) -> None:
    args = argparse.Namespace(
        train_days=max(2, round(30 * run.args.scale)),
        test_days=2 if run.args.scale >= 0.5 else 1,
        seed=1,
        orders_per_hour=72.0,
        rounds=200 if run.args.scale >= 0.5 else 60,
    )
    run.loads["eta"] = (
        f"{args.train_days} replayed days of the simulated city at {args.orders_per_hour:g} "
        f"orders/h at the peak to fit on, {args.test_days} held out; in this process"
    )
    print(f"19. eta: {run.loads['eta']}", flush=True)
    report = eta_bench.run(args)
    run.raw["eta"] = report
    days = f"{args.train_days} days"
    run.add(
        Figure(
            "19 eta",
            "ETA MAE on held-out days",
            report["mae_learned_min"],
            "min",
            "the straight line at the rider's pace",
            report["mae_straight_min"],
            f"<= {eta_bench.GOAL_RATIO:g}x",
            goal(
                report["mae_learned_min"] / report["mae_straight_min"],
                eta_bench.GOAL_RATIO,
                at_most=True,
            ),
            f"{report['held_out_examples']} examples",
        ),
        Figure(
            "19 eta",
            "ETA p90 absolute error on held-out days",
            report["p90_learned_min"],
            "min",
            "the straight line at the rider's pace",
            report["p90_straight_min"],
        ),
        Figure(
            "19 eta",
            "delay risk Brier score on held-out days",
            report["brier_learned"],
            "",
            "the straight line's late or not (0/1)",
            report["brier_straight"],
            note="calibration deciles in the raw report",
        ),
        Figure(
            "19 eta",
            "fitting CPU time",
            report["fit_cpu_s"],
            "s",
            "building the examples from the history (CPU)",
            report["examples_cpu_s"],
            note=f"{days}, {report['train_examples']} examples, {report['fit_s']:.1f} s wall",
        ),
        Figure(
            "19 eta",
            "peak memory of the fit",
            report["fit_peak_mb"],
            "MB",
            "the examples' feature matrix",
            report["matrix_mb"],
            note=days,
        ),
        Figure(
            "19 eta",
            "CPU per live estimate",
            report["estimate_cpu_ms"],
            "ms",
            "the straight line",
            report["straight_cpu_ms"],
            note="batches of 50 orders",
        ),
    )


def bench_ssh(run: Run) -> None:
    consoles = max(1, round(ssh_bench.CONSOLES * min(1.0, run.args.scale)))
    with tempfile.TemporaryDirectory(prefix="freshline-bench-ssh-") as folder:
        print(f"22. ssh: {consoles} consoles over SSH beside a local one", flush=True)
        result = asyncio.run(
            ssh_bench.measure(consoles, run.args.scale, run.args.seconds, Path(folder))
        )
    run.loads["ssh"] = f"{result['load']}; {consoles} consoles over SSH + 1 local, 200x60"
    run.raw["ssh"] = result
    missed = result["ssh_missed"] + result["local_missed"]
    if missed:
        run.trouble.append(f"ssh: {missed} probes never reached a screen")
    if result["failures"]:
        run.trouble.append(f"ssh: load failures {result['failures'][:2]}")
    ssh, local = result["ssh_commit_to_screen_ms"], result["local_commit_to_screen_ms"]
    run.add(
        Figure(
            "22 ssh",
            "commit -> screen p99 over SSH, nominal",
            ssh["p99"],
            "ms",
            "local console on a PTY p99",
            local["p99"],
            "<= 250 ms",
            goal(ssh["p99"], 250.0, at_most=True),
            f"p50 {ssh['p50']:.1f} ms (local {local['p50']:.1f}); {result['probes']} probes "
            f"x {consoles} consoles; {result['events_per_s']:.1f} events/s achieved",
        ),
        Figure(
            "22 ssh",
            "CPU per console over SSH, nominal",
            result["ssh_cpu_share_per_console"] * 100,
            "% of a core",
            "local console",
            result["local_cpu_share"] * 100,
            note="ssh-serve and every console it runs, divided by the consoles",
        ),
        Figure(
            "22 ssh",
            "probes missed over SSH",
            result["ssh_missed"],
            "",
            "missed by the local console",
            result["local_missed"],
            "0",
            result["ssh_missed"] == 0,
        ),
    )


def bench_routes(run: Run) -> None:
    scale = run.args.scale
    args = argparse.Namespace(
        seed=7,
        orders_per_hour=max(30.0, 300.0 * scale),
        riders=max(2, round(8 * scale)),
        hours=(8, 22) if scale >= 0.5 else (11, 13),
        solve_ms=20,
        limit_ms=100,
    )
    first, last = args.hours
    run.loads["routes"] = (
        f"seed {args.seed}, {args.orders_per_hour:g} orders/h at the peak, {first}:00-{last}:00, "
        f"{args.riders} riders at each of 6 warehouses; optimiser {args.solve_ms} ms a route "
        f"in the day, {args.limit_ms} ms at the peak; in this process"
    )
    print(f"20. routes: {run.loads['routes']}", flush=True)
    report = routes_bench.run(args)
    run.raw["routes"] = report
    today, optimised, peak = report["today"], report["optimised"], report["peak"]
    km_ratio = optimised["km_per_order"] / max(today["km_per_order"], 1e-9)
    run.add(
        Figure(
            "20 routes",
            "on-time share, optimised dispatch",
            optimised["on_time_pct"],
            "%",
            "today's ranking, same day",
            today["on_time_pct"],
            "higher than today's",
            optimised["on_time_pct"] > today["on_time_pct"],
            f"{optimised['delivered']} orders delivered of {optimised['orders']}",
        ),
        Figure(
            "20 routes",
            "p90 delivery minutes, optimised dispatch",
            optimised["p90_delivery_minutes"],
            "min",
            "today's ranking, same day",
            today["p90_delivery_minutes"],
        ),
        Figure(
            "20 routes",
            "km per order, optimised dispatch",
            optimised["km_per_order"],
            "km",
            "today's ranking, same day",
            today["km_per_order"],
            "<= 0.85x today's",
            goal(km_ratio, 0.85, at_most=True),
        ),
        Figure(
            "20 routes",
            "orders per rider-hour, optimised dispatch",
            optimised["orders_per_rider_hour"],
            "orders",
            "today's ranking, same day",
            today["orders_per_rider_hour"],
        ),
        Figure(
            "20 routes",
            "CPU per route optimisation at the peak",
            peak["cpu_ms_mean"],
            "ms",
            "the promise order of the same routes",
            peak["promise_order_cpu_ms"],
            "<= 200 ms",
            goal(peak["wall_ms_max"], 200.0, at_most=True),
            f"routes of up to {max(peak['stops'])} stops; slowest {peak['wall_ms_max']:g} ms "
            f"wall at a {args.limit_ms} ms limit",
        ),
        Figure(
            "20 routes",
            "event loop's longest stall, routes being planned",
            peak["loop_stall_ms_planning"],
            "ms",
            "its longest stall idle",
            peak["loop_stall_ms_idle"],
        ),
    )


def bench_rewind(run: Run) -> None:
    orders = max(500, round(rewind_bench.PEAK_DAY_ORDERS * run.args.scale))
    minutes = 60 if run.args.scale >= 0.5 else 10
    replays = 2  # a replay from the start of a peak day takes minutes: two tell its cost
    run.loads["rewind"] = (
        f"a peak day's log made on paper: {orders} orders (6 events each, a fifth late with an "
        f"alert), {minutes} random minutes rewound, {replays} of them also replayed"
    )
    print(f"21. rewind: {run.loads['rewind']}", flush=True)
    result = rewind_bench.run(orders, minutes, replays=replays)
    run.raw["rewind"] = result
    if result["pictures_differ"]:
        run.trouble.append(f"rewind: {result['pictures_differ']} minutes rebuilt differently")
    note = (
        f"{result['events']} events, {result['checkpoints']} checkpoints, up to "
        f"{result['board_orders_max']} orders on the board; worst {result['rewind_max_s']:.3f} s"
    )
    run.add(
        Figure(
            "21 rewind",
            "time to any minute, p99",
            result["rewind_p99_s"] * 1000,
            "ms",
            "replay from the start of the day, p99",
            result["replay_p99_s"] * 1000,
            f"<= {rewind_bench.GOAL_S * 1000:g} ms",
            goal(result["rewind_p99_s"], rewind_bench.GOAL_S, at_most=True),
            note,
        ),
        Figure(
            "21 rewind",
            "CPU per rewind",
            result["rewind_cpu_s"] * 1000,
            "ms",
            "CPU per replay from the start of the day",
            result["replay_cpu_s"] * 1000,
        ),
        Figure(
            "21 rewind",
            "tape memory",
            result["tape_mb"],
            "MB",
            "the same events held as objects",
            result["objects_mb"],
            "",
            None,
            f"reading the log into the tape took {result['load_cpu_s']:.1f} s of CPU",
        ),
    )


def bench_peakday(run: Run) -> None:
    """The seeds' million orders a day at its peak hour, with every order's transitions, the
    riders reporting, and the consoles watching, for `--peak-seconds` on each database."""
    load = PEAK_DAY.scaled(run.args.scale, run.args.peak_seconds)
    run.loads["peak day"] = load.describe() + " (raw subscribers; each order 6 changes)"
    databases: list[tuple[str, Any]] = [("SQLite", None)]
    if run.args.postgres:
        databases.append(("PostgreSQL", temporary_postgres))
    print(f"7. peak day: the bare broadcast at the same rates: {load.describe()}", flush=True)
    bare = bare_run(load)
    run.raw["peakday_bare"] = bare
    for label, make_database in databases:
        print(f"7. peak day on {label}: {load.describe()}", flush=True)
        with ExitStack() as stack:
            if make_database is None:
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="freshline-pd-"))
                database = f"sqlite+aiosqlite:///{folder}/peak.db"
            else:
                database = stack.enter_context(make_database())
            busy_before = machine_busy()
            result = stream_run(load, [{}], database, probes=False)
            busy = machine_busy(since=busy_before)
        result["machine_busy"] = busy
        run.raw[f"peakday_{label.lower()}"] = result
        run.check(f"peak day, {label}", result)
        changes = result["changes"]
        errors = result["failure_count"] / max(1, changes + result["failure_count"])
        run.add(
            Figure(
                f"7 peak day {label}",
                "commit -> client p99",
                result["commit_to_client_ms"]["p99"],
                "ms",
                "bare websockets broadcast p99",
                bare["send_to_client_ms"]["p99"],
                "<= 100 ms",
                goal(result["commit_to_client_ms"]["p99"], 100.0, at_most=True),
                f"{result['events_per_s']:.0f} changes/s and {result['fixes_per_s']:.0f} fixes/s "
                f"achieved (asked {load.events_per_s:g} and {load.riders / 15:.0f}); write "
                f"round-trip p99 {result['write_ms']['p99']:.1f} ms",
            ),
            Figure(
                f"7 peak day {label}",
                "events lost",
                result["lost"] + result["gaps"],
                "",
                "bare broadcast lost",
                bare["lost"],
                "0",
                result["lost"] + result["gaps"] == 0,
            ),
            Figure(
                f"7 peak day {label}",
                "requests refused or failed",
                errors * 100,
                "%",
                "changes made",
                changes,
                "0",
                result["failure_count"] == 0,
            ),
            Figure(
                f"7 peak day {label}",
                "CPU headroom left on the machine",
                (1 - busy) * 100,
                "% of its cores",
                "the server's own share (of one core)",
                result["server_cpu_share"][0] * 100,
                "",
                None,
                "the load generator and the subscribers run on the same machine",
            ),
        )


def machine_busy(since: tuple[float, float] | None = None) -> Any:
    """The machine's (busy, total) CPU ticks now; with `since`, the busy share in between."""
    with open("/proc/stat") as stat:
        fields = [float(f) for f in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    now = (sum(fields) - idle, sum(fields))
    if since is None:
        return now
    busy, total = now[0] - since[0], now[1] - since[1]
    return busy / total if total else math.nan


# --- 5: scale-out -------------------------------------------------------------------------------


def bench_scaleout(run: Run) -> None:
    orders = max(16, round(400 * run.args.scale))
    print(f"5. scale-out: writes of {orders} orders through one instance, then two", flush=True)
    writes = backend_load.measure_scaleout(orders, ON_REDIS)
    run.raw["scaleout_writes"] = writes
    one, two = writes["one"], writes["two"]
    for name, result in writes.items():
        for key in ("lost", "doubled", "gaps", "failure_count"):
            if result[key]:
                run.trouble.append(f"scale-out writes, {name} instance(s): {key} = {result[key]}")
    cpu_ratio = two["server_cpu_ms_each"] / one["server_cpu_ms_each"]
    run.add(
        Figure(
            "5 scale-out",
            "transitions/s, 8 clients over 2 instances",
            two["per_s"],
            "/s",
            "1 instance on PostgreSQL",
            one["per_s"],
            ">= 1 instance's",
            goal(two["per_s"], one["per_s"], at_most=False),
        ),
        Figure(
            "5 scale-out",
            "server CPU per transition, 2 instances summed",
            two["server_cpu_ms_each"],
            "ms",
            "1 instance",
            one["server_cpu_ms_each"],
            "<= 1.2x 1 instance",
            goal(cpu_ratio, 1.2, at_most=True),
        ),
        Figure(
            "5 scale-out",
            "events lost or doubled, either instance's stream",
            two["lost"] + two["doubled"] + two["gaps"],
            "",
            "1 instance",
            one["lost"] + one["doubled"] + one["gaps"],
            "0",
            two["lost"] + two["doubled"] + two["gaps"] == 0,
        ),
    )
    load = NOMINAL.scaled(run.args.scale, run.args.seconds)
    run.loads["scale-out"] = load.describe() + " (raw subscribers only)"
    results = {}
    for name, instances in (("one", [{}]), ("two", [ON_REDIS, ON_REDIS])):
        print(f"5. scale-out: {name} instance(s) on PostgreSQL: {load.describe()}", flush=True)
        with temporary_postgres() as url:
            results[name] = stream_run(load, instances, url, probes=False)
        run.check(f"scale-out, {name}", results[name])
    run.raw["scaleout"] = results
    one, two = results["one"], results["two"]
    p99 = two["commit_to_client_ms"]["p99"]
    run.add(
        Figure(
            "5 scale-out",
            "commit -> client p99, 2 instances, nominal",
            p99,
            "ms",
            "1 instance on PostgreSQL p99",
            one["commit_to_client_ms"]["p99"],
            "<= 50 ms",
            goal(p99, 50.0, at_most=True),
            f"p50 {two['commit_to_client_ms']['p50']:.1f} ms",
        ),
        Figure(
            "5 scale-out",
            "events lost, 2 instances",
            two["lost"] + two["gaps"],
            "",
            "1 instance",
            one["lost"] + one["gaps"],
            "0",
            two["lost"] + two["gaps"] == 0,
        ),
        Figure(
            "5 scale-out",
            "write round-trip p99, 2 instances",
            two["write_ms"]["p99"],
            "ms",
            "1 instance",
            one["write_ms"]["p99"],
        ),
    )


def bench_webhooks(run: Run) -> None:
    load = PEAK.scaled(run.args.scale, run.args.seconds)
    subscriptions = webhook_lag.SUBSCRIPTIONS
    run.loads["webhooks"] = f"{load.describe()}; {subscriptions} subscriptions to order.*; SQLite"
    print(f"13. webhooks: {run.loads['webhooks']}", flush=True)
    result = webhook_lag.run(load, subscriptions)
    figures = webhook_lag.summary(result, subscriptions)
    run.raw["webhooks"] = figures
    if figures["failure_count"]:
        run.trouble.append(f"webhooks: requests failed: {figures['failures'][:2]}")
    for key in ("deliveries_lost", "deliveries_out_of_order", "stream_lost"):
        if figures[key]:
            run.trouble.append(f"webhooks: {key} = {figures[key]}")
    run.add(
        Figure(
            "13 webhooks",
            "webhook delivery lag p99, 10 subscriptions, peak",
            figures["webhook_lag_p99_ms"],
            "ms",
            "the stream's commit -> client p99, same run",
            figures["stream_p99_ms"],
        ),
        Figure(
            "13 webhooks",
            "webhook send -> receiver p99, 10 subscriptions, peak",
            figures["webhook_send_to_receiver_p99_ms"],
            "ms",
            "the stream's send -> client p99, same run",
            figures["stream_send_to_client_p99_ms"],
        ),
        Figure(
            "13 webhooks",
            "webhook deliveries lost or out of order",
            figures["deliveries_lost"] + figures["deliveries_out_of_order"],
            "",
            "stream events lost, same run",
            figures["stream_lost"],
        ),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every load")
    parser.add_argument("--seconds", type=float, default=30.0, help="each stream load's length")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    parser.add_argument(
        "--no-postgres",
        dest="postgres",
        action="store_false",
        help="skip PostgreSQL (and so the scale-out)",
    )
    parser.add_argument(
        "--refresh-hz",
        type=float,
        default=5.0,
        help="the consoles' redraw rate in benchmark 1 (default 5, the console's own)",
    )
    parser.add_argument(
        "--peak-seconds",
        type=float,
        default=180.0,
        help="how long the peak day runs on each database (default 180)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    if args.scale <= 0 or not math.isfinite(args.scale) or args.seconds <= 0:
        parser.error("--scale and --seconds must be positive")
    if args.postgres and not postgres_reachable():
        sys.exit("PostgreSQL is not running on 127.0.0.1:5432 (make services, or --no-postgres)")
    if "scaleout" in args.only and args.postgres and not redis_reachable():
        sys.exit("Redis is not running on 127.0.0.1:6379 (make services, or --no-postgres)")
    run = Run(args)
    started = time.monotonic()
    steps = {
        "stream": bench_stream,
        "console": bench_console,
        "memory": bench_memory,
        "backend": bench_backend,
        "scaleout": bench_scaleout,
        "intake": bench_intake,
        "peakday": bench_peakday,
        "search": bench_search,
        "privacy": bench_privacy,
        "orderpage": bench_order_page,
        "metrics": bench_metrics,
        "proof": bench_proof,
        "webhooks": bench_webhooks,
        "archive": bench_archive,
        "tracking": bench_tracking,
        "lowstock": bench_low_stock,
        "restock": bench_restock,
        "report": bench_report,
        "eta": bench_eta,
        "routes": bench_routes,
        "rewind": bench_rewind,
        "ssh": bench_ssh,
    }
    for name in args.only:
        if name == "scaleout" and not args.postgres:
            continue
        steps[name](run)
    write_report(
        args.out,
        run.figures,
        loads=run.loads,
        trouble=run.trouble,
        raw=run.raw,
        settings={"scale": args.scale, "seconds": args.seconds},
        minutes=(time.monotonic() - started) / 60,
    )
    return 1 if run.trouble else 0


if __name__ == "__main__":
    sys.exit(main())
