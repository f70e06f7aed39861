"""`bench/edge_headers.py` runs end to end at a tiny load and reports its figures beside the
baseline (no timing is asserted: the figures are the machine's)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a benchmark run

ROOT = Path(__file__).resolve().parents[2]


def test_the_headers_benchmark_reports_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "edge_headers.py"), "--answers", "200"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    for label in ("bare ASGI answer", "behind SecurityHeaders", "GET /health, the whole app"):
        line = next(line for line in done.stdout.splitlines() if line.startswith(label))
        assert float(re.findall(r"([\d.]+) us CPU", line)[0]) > 0, line
