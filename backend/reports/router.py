"""Route: the day report, as JSON or a file (Markdown, CSV, PDF)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from backend.auth.deps import CanReadReports
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.errors import Forbidden, NotFound
from backend.inventory.models import WarehouseRow
from backend.reports.pdf import pdf_bytes
from backend.reports.reads import report_session
from backend.reports.render import csv_bytes, markdown
from backend.reports.service import day_report, day_window
from backend.responses import PROTECTED, Responses, errors
from backend_client.models import NO_CONTROL_CHARS, Day, DayReport, Role

router = APIRouter(prefix="/reports", tags=["reports"], responses=PROTECTED)


class ReportFormat(StrEnum):
    JSON = "json"
    MD = "md"
    CSV = "csv"
    PDF = "pdf"


MEDIA_TYPES = {
    ReportFormat.MD: "text/markdown; charset=utf-8",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.PDF: "application/pdf",
}
ANSWERS: Responses = {
    200: {
        "content": {
            "text/markdown": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "JSON by default; Markdown, CSV or PDF with `format` (docs/reports.md).",
    },
    **errors({404: "No such warehouse."}),
}


@router.get("/day", response_model=DayReport, responses=ANSWERS)
async def day(
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanReadReports,
    day: Annotated[
        Day | None,
        Query(description="The business day (YYYY-MM-DD); default: today, so far."),
    ] = None,
    format: Annotated[
        ReportFormat, Query(description="`json` (default), `md`, `csv` or `pdf`.")
    ] = ReportFormat.JSON,
    warehouse_id: Annotated[
        str | None,
        Query(
            max_length=40,
            pattern=NO_CONTROL_CHARS,
            description="Only this warehouse (a merchant's report is always their own).",
        ),
    ] = None,
) -> DayReport | Response:
    """One business day (midnight to midnight in the business time zone): KPIs per warehouse
    and channel, alerts by rule and by the desk that acknowledged them, claims paid, each
    rider's on-time record, and the channels' reconciliation."""
    now = clock.now()
    zone = settings.zone
    day = day or now.astimezone(zone).date()
    if principal.role == Role.MERCHANT:
        if principal.warehouse_id is None:  # never the whole city to a store account
            raise Forbidden("this merchant account names no warehouse")
        if warehouse_id is not None and warehouse_id != principal.warehouse_id:
            raise Forbidden(f"a merchant of {principal.warehouse_id} sees its own report only")
        warehouse_id = principal.warehouse_id
    start, end = day_window(day, zone, now)  # a day not yet begun: 422 before any reading
    async with report_session(db, settings, start, min(end, now)) as session:
        if warehouse_id is not None and await session.get(WarehouseRow, warehouse_id) is None:
            raise NotFound(f"no warehouse {warehouse_id}")
        report = await day_report(
            session,
            day=day,
            zone=zone,
            zone_name=settings.time_zone,
            now=now,
            warehouse_id=warehouse_id,
        )
    if format == ReportFormat.JSON:
        return report
    match format:
        case ReportFormat.MD:
            body = markdown(report).encode("utf-8")
        case ReportFormat.CSV:
            body = csv_bytes(report)
        case _:
            body = pdf_bytes(report)
    scope = f"-{warehouse_id}" if warehouse_id else ""
    name = f"freshline-day-{day.isoformat()}{scope}.{format}"
    return Response(
        body,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
