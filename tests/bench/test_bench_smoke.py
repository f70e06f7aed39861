"""`make bench` cannot rot: every benchmark runs for about a second at a tiny scale, through the
same `bench/run.py`, and must produce its figures with nothing lost and nothing refused. No
timing is asserted: these are not timed tests (issue 10), the figures of a busy CI machine mean
nothing."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backend.test_stream_instances import require_redis
from tests.conftest import require_postgres

# slow: every benchmark, at a tiny scale (minutes).
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

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
    "7 peak day SQLite": {
        "commit -> client p99",
        "events lost",
        "requests refused or failed",
        "CPU headroom left on the machine",
    },
}


def test_every_benchmark_produces_its_figures_beside_its_baseline(tmp_path: Path) -> None:
    require_postgres()
    require_redis()
    command = [sys.executable, str(ROOT / "bench" / "run.py"), "--scale", "0.02"]
    command += ["--seconds", "1", "--peak-seconds", "1", "--out", str(tmp_path)]
    # The bound catches a hang, not slowness: about 2 min alone, twice that on a loaded machine.
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=900, cwd=ROOT, check=False
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    report = json.loads((tmp_path / "latest.json").read_text())
    assert report["trouble"] == []
    figures = {(f["benchmark"], f["name"]): f for f in report["figures"]}
    for benchmark, names in EXPECTED.items():
        for name in names:
            assert (benchmark, name) in figures, (benchmark, name, sorted(figures))
    assert {b for b, _ in figures} >= {
        "4 backend PostgreSQL",
        "7 peak day PostgreSQL",
        "8 search PostgreSQL",
    }
    for figure in figures.values():
        assert math.isfinite(figure["value"]), figure
        assert figure["baseline"], figure  # every figure beside a baseline
        assert figure["baseline_value"] is not None and math.isfinite(figure["baseline_value"])
    for lost in ("events lost, nominal", "events lost, peak"):
        assert figures["1 stream", lost]["value"] == 0
    assert figures["5 scale-out", "events lost, 2 instances"]["value"] == 0
    table = (tmp_path / "latest.md").read_text()
    assert "| 1 stream | commit -> client p99, nominal |" in table
