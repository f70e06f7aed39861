"""The riders screen's staffing table: per zone, riders on shift / online now, and for the next
hours riders planned / needed, `!` where planned fall short (`GET /staffing`)."""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text

from backend_client.models.staffing import Staffing, StaffingHour
from widgets.live_text import LiveText

NAME_WIDTH = 10
CELL = 7


def _cell(hour: StaffingHour) -> tuple[str, str]:
    """`2/3!` (planned/needed, short) and its style; planned as a whole number when it is."""
    planned = f"{hour.riders_planned:g}"
    if hour.short > 0:
        return f"{planned}/{hour.riders_needed}!", "bold reverse"
    return f"{planned}/{hour.riders_needed}", ""


def staffing_text(staffing: Staffing, zone: tzinfo | None, *, hours: int) -> Text:
    """The table as the terminal shows it; shortage reads by `!` and reverse, not colour."""
    text = Text()
    shown = staffing.zones[0].hours[:hours] if staffing.zones else []
    text.append(f"{'zone':<{NAME_WIDTH}} {'on/online':>9}", style="bold")
    for slot in shown:
        text.append(f"{slot.starts_at.astimezone(zone):%H:%M}".rjust(CELL), style="bold")
    for row in staffing.zones:
        text.append("\n")
        text.append(f"{row.zone[:NAME_WIDTH]:<{NAME_WIDTH}} ")
        on_now = f"{row.planned_now}/{row.online_now}"
        text.append(f"{on_now:>9}", style="bold" if row.online_now < row.planned_now else "")
        for slot in row.hours[:hours]:
            cell, style = _cell(slot)
            text.append(" " * (CELL - len(cell)))
            text.append(cell, style=style)
    return text


class StaffingTable(LiveText):
    """Planned against online and needed, per zone; empty until the first answer."""

    DEFAULT_CSS = """
    StaffingTable { height: auto; padding: 0 1; border-top: solid $primary-background; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("staffing…", id=id)
        self.staffing: Staffing | None = None
        """The backend's latest answer."""

    def show_staffing(self, staffing: Staffing, zone: tzinfo | None, *, hours: int) -> None:
        self.staffing = staffing
        self.show(staffing_text(staffing, zone, hours=hours))
