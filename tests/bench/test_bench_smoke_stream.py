"""The benchmark smoke test's stream part (`test_bench_smoke.PARTS`): the stream at nominal and
peak load with the console, the console's apply rate, its memory and cold start."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.test_bench_smoke import run_part

# slow: benchmarks at a tiny scale (a minute or so).
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.long(28)]


def test_the_stream_and_console_benchmarks_produce_their_figures(tmp_path: Path) -> None:
    run_part("stream", tmp_path)
