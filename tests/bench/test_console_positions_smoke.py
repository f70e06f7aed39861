"""`bench/console_positions.py` runs end to end at a tiny load and reports every figure beside
its baseline (no timing is asserted: the figures are the machine's)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a benchmark run

ROOT = Path(__file__).resolve().parents[2]


def test_the_board_positions_benchmark_reports_its_figures() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "console_positions.py"),
            "--riders",
            "300",
            "--events",
            "5",
            "--seconds",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.splitlines()[-1])
    for app in ("bare", "console"):
        assert figures[app]["messages"] > 0
        assert all(math.isfinite(v) for v in figures[app].values())
