"""`freshline handover`: the shift handover digest printed as Markdown (or JSON), for the
terminal, a chat or a script. Heavy imports happen inside, so the command starts fast."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from console.config import ConsoleConfig


class DigestFormat(StrEnum):
    MD = "md"
    JSON = "json"


def _instant(value: str | None) -> datetime | None:
    """`--since` as an aware instant; a time without its offset is refused, not guessed."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            "expected an ISO 8601 time with its offset, e.g. 2026-11-22T14:00+08:00"
        ) from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give the offset too, e.g. 2026-11-22T14:00+08:00")
    return moment


def handover(
    server: Annotated[
        str | None,
        typer.Option(
            help="The backend (also FRESHLINE_SERVER or the settings file).", show_default=False
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="From this instant (ISO 8601 with its offset); default: the start of the shift "
            "under way, by the server's shift_starts.",
            show_default=False,
        ),
    ] = None,
    hours: Annotated[
        float | None,
        typer.Option(
            min=0.01, max=168, help="Over the last this many hours instead.", show_default=False
        ),
    ] = None,
    output: Annotated[
        DigestFormat, typer.Option("--format", help="md: Markdown; json: the API's answer.")
    ] = DigestFormat.MD,
    user: Annotated[
        str | None,
        typer.Option(
            help="Sign in as this account for this one call (password from FRESHLINE_PASSWORD, "
            "else asked); default: the token `freshline login` kept.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """What the next shift must know: open criticals (and warnings), who acknowledged what,
    returns and claims waiting, riders still out, orders in flight and late, and the KPIs
    against the shift before."""
    from console.config import ConsoleConfig

    moment = _instant(since)
    if moment is not None and hours is not None:
        raise typer.BadParameter("give --since or --hours, not both", param_hint="--hours")
    config = ConsoleConfig(server=server) if server else ConsoleConfig()
    if not config.server:
        typer.echo("no server: give --server, or set FRESHLINE_SERVER", err=True)
        raise typer.Exit(2)
    password = None
    if user is not None:
        password = os.environ.get("FRESHLINE_PASSWORD") or typer.prompt(
            f"password for {user}", hide_input=True
        )
    raise typer.Exit(
        asyncio.run(
            _print(config, config.server.rstrip("/"), moment, hours, output, user, password)
        )
    )


async def _print(
    config: ConsoleConfig,
    server: str,
    since: datetime | None,
    hours: float | None,
    output: DigestFormat,
    user: str | None,
    password: str | None,
) -> int:
    from backend_client import FreshlineClient, FreshlineError
    from console.handover_words import markdown
    from console.kept_token import NotSignedIn, kept_token

    token = None
    if user is None:
        try:
            token = await kept_token(config, server)
        except NotSignedIn as exc:
            typer.echo(f"{exc}, or give --user", err=True)
            return 1
    try:
        async with FreshlineClient(server, token=token) as client:
            if user is not None and password is not None:
                await client.login(user, password)
            digest = await client.handover.digest(since=since, hours=hours)
    except FreshlineError as exc:
        typer.echo(f"no handover digest: {exc}", err=True)
        return 1
    if output == DigestFormat.JSON:
        typer.echo(digest.model_dump_json(indent=2))
    else:
        typer.echo(markdown(digest), nl=False)
    return 0
