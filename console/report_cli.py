"""`freshline report`: the day report, fetched from the backend (which computes and renders it,
docs/reports.md) and written to a file or standard output. Heavy imports happen inside."""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from console.config import ConsoleConfig


class ReportFormat(StrEnum):
    MD = "md"
    CSV = "csv"
    PDF = "pdf"


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a day: give YYYY-MM-DD") from None


def report(
    day: Annotated[
        str | None,
        typer.Option(
            help="The business day, YYYY-MM-DD (default: today so far, in the business time zone).",
            show_default=False,
        ),
    ] = None,
    format: Annotated[
        ReportFormat, typer.Option("--format", help="md, csv or pdf.")
    ] = ReportFormat.MD,
    out: Annotated[
        Path | None,
        typer.Option(help="Write here (default: standard output).", show_default=False),
    ] = None,
    warehouse: Annotated[
        str | None,
        typer.Option(
            help="Only this warehouse (a merchant's is always their own).", show_default=False
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            help="The backend (also FRESHLINE_SERVER or the settings file).", show_default=False
        ),
    ] = None,
) -> None:
    """The day report: KPIs per channel and warehouse, alerts by rule and desk, claims paid,
    riders on time, the channels' reconciliation. Signs in with the token `freshline login`
    kept for the server."""
    from console.config import ConsoleConfig

    wanted = _day(day)
    config = ConsoleConfig(server=server) if server else ConsoleConfig()
    if not config.server:
        typer.echo("no server: give --server, set FRESHLINE_SERVER, or `freshline login`", err=True)
        raise typer.Exit(2)
    if out is None and format == ReportFormat.PDF and sys.stdout.isatty():
        typer.echo("a PDF goes to a file: give --out FILE (or pipe it)", err=True)
        raise typer.Exit(2)
    try:
        body = asyncio.run(_fetch(config, wanted, format, warehouse))
    except ReportRefused as refusal:
        typer.echo(str(refusal), err=True)
        raise typer.Exit(1) from None
    if out is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    out.write_bytes(body)
    typer.echo(f"wrote the {format} report to {out}", err=True)


class ReportRefused(Exception):
    """No report: not signed in, refused, or the server unreachable; the message says which."""


async def _fetch(
    config: ConsoleConfig, day: date | None, format: ReportFormat, warehouse: str | None
) -> bytes:
    from backend_client import FreshlineClient, FreshlineError
    from console.kept_token import NotSignedIn, kept_token

    assert config.server is not None
    server = config.server.rstrip("/")
    try:
        token = await kept_token(config, server)
    except NotSignedIn as exc:
        raise ReportRefused(str(exc)) from None
    async with FreshlineClient(server, token=token) as client:
        try:
            return await client.reports.day_file(format.value, day=day, warehouse_id=warehouse)
        except FreshlineError as exc:
            raise ReportRefused(f"no report from {server}: {exc}") from None
