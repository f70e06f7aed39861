"""The day report as a PDF (fpdf2): landscape A4, one table per section, headings repeated on
every page a table runs onto.

fpdf2's built-in Helvetica needs no font file, so the backend carries none; it covers Latin-1
only, and a character outside it (a name in another script) prints as `?` in the PDF. The
Markdown, CSV and JSON forms keep every character.
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import TableHeadingsDisplay

from backend.reports.render import sections, shown, title
from backend_client.models import DayReport

FONT = "Helvetica"
ENCODING = "latin-1"


def latin(text: str) -> str:
    """`text` as the core font can print it."""
    return text.encode(ENCODING, errors="replace").decode(ENCODING)


def pdf_bytes(report: DayReport) -> bytes:
    document = FPDF(orientation="landscape", format="A4")
    document.set_title(latin(title(report)))
    document.set_creator("Freshline")
    # A fixed creation date: the same report gives the same bytes (and no clock is read here).
    document.set_creation_date(report.computed_at)
    document.set_auto_page_break(auto=True, margin=12)
    document.add_page()
    document.set_font(FONT, style="B", size=14)
    document.multi_cell(0, 8, latin(title(report)), new_x="LMARGIN", new_y="NEXT")
    document.set_font(FONT, size=9)
    document.multi_cell(
        0,
        5,
        latin(
            f"From {report.start.isoformat()} to {report.end.isoformat()} (UTC); "
            f"computed at {report.computed_at.isoformat()}."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for section in sections(report):
        document.ln(4)
        document.set_font(FONT, style="B", size=11)
        document.cell(0, 7, latin(section.title), new_x="LMARGIN", new_y="NEXT")
        if not section.rows:
            document.set_font(FONT, size=8)
            document.cell(0, 5, "None.", new_x="LMARGIN", new_y="NEXT")
            continue
        document.set_font(FONT, size=6 if len(section.columns) > 10 else 8)
        with document.table(
            text_align="LEFT",
            line_height=4,
            repeat_headings=TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE,
        ) as table:
            heading = table.row()
            for name in section.columns:
                heading.cell(latin(name))
            for values in section.rows:
                row = table.row()
                for value in values:
                    row.cell(latin(shown(value)))
    return bytes(document.output())
