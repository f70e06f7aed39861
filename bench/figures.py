"""What a benchmark reports: figures beside their baselines, the goals' verdicts, the machine
they were measured on, and the table and files `run.py` writes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU model, cores, load, Python."""
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "load": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }


# --- Reporting ----------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure beside its baseline, and the goal it is held to (if any).

    `higher_is_better` says which way the ratio reads; `ratio` is always figure / baseline."""

    benchmark: str
    name: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    goal: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0) or math.isnan(self.baseline_value):
            return None
        return self.value / self.baseline_value

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ratio": self.ratio}


def goal(value: float, limit: float, *, at_most: bool) -> bool | None:
    if math.isnan(value):
        return None
    return value <= limit if at_most else value >= limit


def number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if float(value).is_integer() and abs(value) < 100:
        return f"{value:.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: ""}[met]


def table(figures: list[Figure]) -> list[list[str]]:
    """Rows by benchmark (in their run order within one), a heading row first."""
    rows = [["benchmark", "figure", "value", "baseline", "baseline value", "ratio", "goal", ""]]
    for f in sorted(figures, key=lambda f: f.benchmark.split()[0]):
        rows.append(
            [
                f.benchmark,
                f.name,
                f"{number(f.value)} {f.unit}".strip(),
                f.baseline,
                number(f.baseline_value),
                number(f.ratio),
                f.goal,
                verdict(f.met),
            ]
        )
    return rows


def text_table(figures: list[Figure]) -> str:
    rows = table(figures)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def markdown_table(figures: list[Figure]) -> str:
    rows = table(figures)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def write_report(
    out: Path,
    figures: list[Figure],
    *,
    loads: dict[str, str],
    trouble: list[str],
    raw: dict[str, Any],
    settings: dict[str, Any],
    minutes: float,
) -> None:
    """`latest.json` (everything) and `latest.md` (the table) in `out`; the table printed."""
    out.mkdir(parents=True, exist_ok=True)
    about = machine() | settings
    about["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    about["minutes"] = round(minutes, 1)
    report = {
        "machine": about,
        "loads": loads,
        "figures": [f.as_dict() for f in figures],
        "trouble": trouble,
        "raw": raw,
    }
    (out / "latest.json").write_text(json.dumps(report, indent=1, default=str))
    lines = [
        f"Measured {about['date']} on {about['cpu']} ({about['cores']} cores), load average "
        f"{' / '.join(map(str, about['load']))} at the end; "
        + ", ".join(f"--{k} {v:g}" for k, v in settings.items())
        + f"; {about['minutes']} min.",
        "",
        *[f"- {k}: {v}" for k, v in loads.items()],
        "",
        markdown_table(figures),
        "",
        *[f"- trouble: {t}" for t in trouble],
    ]
    (out / "latest.md").write_text("\n".join(lines).rstrip() + "\n")
    print()
    print(text_table(figures))
    print()
    print(lines[0])
    for t in trouble:
        print(f"TROUBLE: {t}")
    print(f"written: {out / 'latest.json'}, {out / 'latest.md'}")
