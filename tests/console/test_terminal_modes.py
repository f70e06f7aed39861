"""The board as a real terminal shows it: sizes, NO_COLOR and 16 colours (tmux, a sample store,
a frozen clock; see `tests/console/terminal.py`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.console.terminal import Cell, Terminal, find, sample_console

ETA = re.compile(r"~\d\d:\d\d")


def lane_box(screen: list[str], title: str) -> list[str]:
    """The rows inside a lane's border, read off the screen."""
    for top, line in enumerate(screen):
        start = line.find(f"╭─ {title}  ")
        if start < 0:
            continue
        end = line.find("╮", start)
        rows = []
        for row in screen[top + 1 :]:
            if row[start : start + 1] == "╰":
                break
            rows.append(row[start + 1 : end])
        return rows
    raise AssertionError(f"no lane {title!r} on the screen:\n" + "\n".join(screen))


def row_of(terminal: Terminal, order_id: int) -> list[Cell]:
    return find(terminal.cells(), f"{order_id} ")


@pytest.mark.parametrize("size", [(120, 40), (200, 50), (250, 50)], ids=str)
def test_the_delivering_lane_shows_its_etas_from_120_columns(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    with sample_console(tmp_path, "board", *size) as terminal:
        terminal.wait_for(lambda: "Delivering  4" in terminal.text(), "the delivering lane")
        rows = [r for r in lane_box(terminal.screen(), "Delivering") if r.strip()]
        assert len(rows) == 4
        assert all(ETA.search(row) for row in rows), "\n".join(rows)
        # The rider who carries it, too.
        assert all(
            any(n in row for n in ("Guo Hua", "Hu Bin", "Ma Jun", "Zhou Tao")) for row in rows
        )
