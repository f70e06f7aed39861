"""The board as a real terminal shows it: sizes, NO_COLOR and 16 colours (tmux, a sample store,
a frozen clock; see `tests/console/terminal.py`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.console.terminal import Cell, Terminal, find, sample_console

# A real terminal (tmux) per test: `make test` runs these, the inner loop does not.
pytestmark = pytest.mark.slow

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


def test_without_colour_late_rows_are_louder_than_normal_ones(tmp_path: Path) -> None:
    """NO_COLOR turns the theme to greys, where red comes out darker than the text: late rows
    must read through reverse and bold instead, warnings through bold."""
    with sample_console(tmp_path, "board", 120, 40, NO_COLOR="1") as terminal:
        terminal.wait_for(lambda: "Delivering  4" in terminal.text(), "the delivering lane")
        late, warning, normal = (
            row_of(terminal, 1010),
            row_of(terminal, 1009),
            row_of(terminal, 1008),
        )
        assert all(c.reverse and c.bold for c in late), late
        assert all(c.bold and not c.reverse for c in warning), warning
        assert not any(c.bold or c.reverse for c in normal), normal
        # Nothing about lateness is dimmer than an ordinary row.
        assert late[0].fg == normal[0].fg == warning[0].fg
        assert not any(c.dim for c in late + warning)


def test_without_colour_the_strip_tells_alarms_from_the_lane_in_focus(tmp_path: Path) -> None:
    with sample_console(tmp_path, "board", 120, 40, NO_COLOR="1") as terminal:
        terminal.wait_for(lambda: "Delivering  4" in terminal.text(), "the delivering lane")
        cells = terminal.cells()
        strip = next(line for line in cells if "Picking 3" in "".join(c.char for c in line))
        text = "".join(c.char for c in strip)
        alarms = [strip[i] for i in range(len(text)) if text.startswith("!!", i)]
        assert len(alarms) == 5 and all(c.reverse and c.bold for c in alarms)
        # The focused lane is pointed at and underlined, not reversed like an alarm.
        focused = find(cells, "New 4")
        assert "▸New 4" in text
        assert all(c.underline and not c.reverse for c in focused)
        # A lane with late orders keeps its name legible: the text's own colour, not a grey.
        picking, plain = find(cells, "Picking 3"), find(cells, "Out of stock 1")
        assert picking[0].fg == plain[0].fg


def test_the_faults_only_box_reads_differently_on_and_off_without_colour(
    tmp_path: Path,
) -> None:
    with sample_console(tmp_path, "queue", 120, 30, NO_COLOR="1") as terminal:
        terminal.keys("2")
        terminal.wait_for(lambda: "Alerts  5 " in terminal.text(), "the exception queue")
        off = next(line for line in terminal.screen() if "faults only" in line)
        terminal.keys("f")
        terminal.wait_for(lambda: "Alerts  3 of 5" in terminal.text(), "faults only")
        on = next(line for line in terminal.screen() if "faults only" in line)
        box = slice(0, on.index("faults only"))
        assert on[box] != off[box], (off, on)


def test_in_16_colours_late_rows_and_counts_stand_out(tmp_path: Path) -> None:
    with sample_console(tmp_path, "board", 120, 40, TERM="xterm-16color") as terminal:
        terminal.wait_for(lambda: "Delivering  4" in terminal.text(), "the delivering lane")
        late, normal = row_of(terminal, 1010), row_of(terminal, 1008)
        assert late[0].bold and late[0].fg != normal[0].fg
        assert late[0].fg in {"31", "91"}  # red, the nearest of the 16 to the theme's late
        alarm = find(terminal.cells(), "!!1")
        assert all(c.reverse and c.bold for c in alarm)
        assert not any(c.reverse for c in find(terminal.cells(), "New 4"))
