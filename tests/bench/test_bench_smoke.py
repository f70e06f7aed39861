"""`make bench` cannot rot: every benchmark runs for about a second at a tiny scale, through the
same `bench/run.py`, and must produce its figures with nothing lost and nothing refused. No
timing is asserted: these are not timed tests (issue 10), the figures of a busy CI machine mean
nothing.

The run is cut in parts (`PARTS`), each its own `bench/run.py --only ...` in its own test file,
so that `make test`'s workers share them (`--dist loadfile` gives a file to one worker): this
file runs every benchmark no other part names, and checks that the parts cover every benchmark
and every group of `EXPECTED` between them. A new benchmark needs only its `EXPECTED` keys: it
runs here until a part of its own is worth it.
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backend.test_stream_instances import require_redis
from tests.conftest import require_postgres

# slow: every benchmark, at a tiny scale (minutes).
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.long(40)]

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "1 stream": {
        "commit -> client p99, nominal",
        "commit -> screen p99, nominal",
        "events lost, nominal",
        "commit -> client p99, peak",
        "commit -> screen p99, peak",
        "events lost, peak",
    },
    "2 console": {"console apply rate", "console CPU at nominal load"},
    "3 memory": {"console RSS, 400 orders", "console RSS, 800 orders"},
    "4 backend SQLite": {
        "HTTP transitions/s, 8 clients",
        "server CPU per transition",
        "transition p99, 8 clients",
        "single order query p99",
        "positions ingested/s, batches of 100",
    },
    "5 scale-out": {
        "commit -> client p99, 2 instances, nominal",
        "events lost, 2 instances",
        "transitions/s, 8 clients over 2 instances",
        "server CPU per transition, 2 instances summed",
        "events lost or doubled, either instance's stream",
    },
    "6 intake": {"orders/s through the channel gateway", "paid orders/s through the gateway"},
    "8 search SQLite": {"search p99", "CPU per search", "typo queries finding their order"},
    "10 order page": {"CPU per page, ETAs and riders"},
    "14 archive": {
        "rows archived/s",
        "KPI summary over 10 days, hot + archived",
        "CPU per KPI summary, hot + archived",
    },
    "9 privacy": {
        "CPU per order taken, fields encrypted",
        "CPU per snapshot, fields encrypted",
    },
    "11 metrics": {"server CPU per transition, metrics on"},
    "12 proof": {"CPU per proof photo kept, cleaned"},
    "13 webhooks": {
        "webhook delivery lag p99, 10 subscriptions, peak",
        "webhook send -> receiver p99, 10 subscriptions, peak",
        "webhook deliveries lost or out of order",
    },
    "15 tracking": {
        "tracking views/s, 20 live subscriptions",
        "server CPU per tracking view",
    },
    "16 low stock": {
        "CPU per low_stock pass, one warehouse",
        "CPU per low_stock pass, every warehouse",
    },
    "17 restock": {
        "CPU per restock plan, 500 SKUs",
        "CPU per forecast, rows already read",
    },
    "18 report": {
        "day report on 3 days of history, computed and rendered",
        "CPU per day report",
        "every day of the month, one report each",
    },
    "19 eta": {
        "ETA MAE on held-out days",
        "ETA p90 absolute error on held-out days",
        "delay risk Brier score on held-out days",
        "fitting CPU time",
        "peak memory of the fit",
        "CPU per live estimate",
    },
    "22 ssh": {
        "commit -> screen p99 over SSH, nominal",
        "CPU per console over SSH, nominal",
        "probes missed over SSH",
    },
    "20 routes": {
        "on-time share, optimised dispatch",
        "p90 delivery minutes, optimised dispatch",
        "km per order, optimised dispatch",
        "orders per rider-hour, optimised dispatch",
        "CPU per route optimisation at the peak",
        "event loop's longest stall, routes being planned",
    },
    "21 rewind": {"time to any minute, p99", "CPU per rewind", "tape memory"},
    "7 peak day SQLite": {
        "commit -> client p99",
        "events lost",
        "requests refused or failed",
        "CPU headroom left on the machine",
    },
}


def benchmarks() -> tuple[str, ...]:
    """`bench/run.py`'s BENCHMARKS, its `--only` choices, read without importing it (which
    imports every benchmark, Textual and pyarrow with them: seconds of a worker's CPU)."""
    tree = ast.parse((ROOT / "bench" / "run.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "BENCHMARKS" for t in node.targets
        ):
            steps: tuple[str, ...] = ast.literal_eval(node.value)
            return steps
    raise AssertionError("bench/run.py has no BENCHMARKS")


POSTGRESQL_TWINS = {"4 backend PostgreSQL", "7 peak day PostgreSQL", "8 search PostgreSQL"}
"""Groups measured on PostgreSQL too, beside the SQLite ones `EXPECTED` names."""
PARTS: dict[str, tuple[tuple[str, ...], set[str]]] = {
    # The stream at nominal and peak load feeds "2 console" too (its CPU at nominal load).
    "stream": (("stream", "console", "memory"), {"1 stream", "2 console", "3 memory"}),
    "databases": (
        ("backend", "peakday", "search"),
        {"4 backend SQLite", "7 peak day SQLite", "8 search SQLite"} | POSTGRESQL_TWINS,
    ),
}
"""Part -> the `bench/run.py --only` steps it runs and the figure groups they must produce; the
part "rest" (this file) runs every other step and must produce every other group."""


def part(name: str) -> tuple[tuple[str, ...], set[str]]:
    """The steps a part runs and the groups it must produce ("rest": all the others)."""
    if name != "rest":
        return PARTS[name]
    named = {step for steps, _ in PARTS.values() for step in steps}
    groups = {group for _, groups in PARTS.values() for group in groups}
    return (
        tuple(step for step in benchmarks() if step not in named),
        set(EXPECTED) - groups,
    )


def run_part(name: str, out: Path) -> None:
    """`bench/run.py --only <the part's steps>` at a tiny scale; fails unless every figure the
    part owes is there, finite, beside a finite baseline, with nothing lost or refused."""
    require_postgres()
    require_redis()
    steps, groups = part(name)
    command = [sys.executable, str(ROOT / "bench" / "run.py"), "--scale", "0.02"]
    command += ["--seconds", "1", "--peak-seconds", "1", "--out", str(out), "--only", *steps]
    # The bound catches a hang, not slowness: about 2 min alone, twice that on a loaded machine.
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=900, cwd=ROOT, check=False
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    report = json.loads((out / "latest.json").read_text())
    assert report["trouble"] == []
    figures = {(f["benchmark"], f["name"]): f for f in report["figures"]}
    for benchmark, names in EXPECTED.items():
        if benchmark not in groups:
            continue
        for figure_name in names:
            assert (benchmark, figure_name) in figures, (benchmark, figure_name, sorted(figures))
    assert {b for b, _ in figures} >= groups, sorted(groups - {b for b, _ in figures})
    for figure in figures.values():
        assert math.isfinite(figure["value"]), figure
        assert figure["baseline"], figure  # every figure beside a baseline
        assert figure["baseline_value"] is not None and math.isfinite(figure["baseline_value"])
    if "1 stream" in groups:
        for lost in ("events lost, nominal", "events lost, peak"):
            assert figures["1 stream", lost]["value"] == 0
        table = (out / "latest.md").read_text()
        assert "| 1 stream | commit -> client p99, nominal |" in table
    if "5 scale-out" in groups:
        assert figures["5 scale-out", "events lost, 2 instances"]["value"] == 0


def test_the_parts_share_out_every_benchmark_and_every_expected_group() -> None:
    steps = [step for name in (*PARTS, "rest") for step in part(name)[0]]
    assert sorted(steps) == sorted(benchmarks())  # each step in exactly one part
    for name in (*PARTS, "rest"):
        assert part(name)[0], f"part {name} runs nothing"
    groups = [group for name in (*PARTS, "rest") for group in part(name)[1]]
    assert len(groups) == len(set(groups)), groups  # each group owed by one part
    assert set(groups) == set(EXPECTED) | POSTGRESQL_TWINS


def test_every_other_benchmark_produces_its_figures_beside_its_baseline(tmp_path: Path) -> None:
    run_part("rest", tmp_path)
