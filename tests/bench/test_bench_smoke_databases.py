"""The benchmark smoke test's database part (`test_bench_smoke.PARTS`): the backend, the peak
day and search, each on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.test_bench_smoke import run_part

# slow: benchmarks at a tiny scale (a minute or so).
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.long(32)]


def test_the_database_benchmarks_produce_their_figures(tmp_path: Path) -> None:
    run_part("databases", tmp_path)
