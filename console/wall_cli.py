"""`freshline wall`: the console as a wall display (see console/wall.py). Heavy imports happen
inside, so the command starts fast."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, time
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from console.config import ConsoleConfig
    from console.wall import WallSettings


def wall(
    server: Annotated[
        str | None,
        typer.Option(
            help="The backend (also FRESHLINE_SERVER or the settings file). None: the demo city.",
            show_default=False,
        ),
    ] = None,
    rotate: Annotated[
        float | None,
        typer.Option(
            min=3,
            max=3600,
            help="Seconds per screen (default: the wall_rotate_seconds setting, 20).",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="The viewer account (default: the wall_user setting, viewer).",
            show_default=False,
        ),
    ] = None,
    speed: Annotated[
        float, typer.Option(min=0.1, max=1000, help="The demo only: simulated seconds per second.")
    ] = 1.0,
) -> None:
    """A wall display: signs in as a read-only viewer, rotates through the KPIs and the board
    summary, needs no keyboard, reconnects by itself and says when its numbers are stale.
    With no server configured: on the demo city."""
    from console.config import ConsoleConfig
    from console.wall import WallSettings

    config = ConsoleConfig(server=server) if server else ConsoleConfig()
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        typer.echo("the wall needs a terminal to draw on", err=True)
        raise typer.Exit(2)
    settings = WallSettings(
        rotate_seconds=rotate or config.wall_rotate_seconds,
        username=user or config.wall_user,
        password=config.wall_password.get_secret_value() if config.wall_password else None,
    )
    if config.server:
        from console.launch import WallRefused, run_wall

        try:
            code = asyncio.run(run_wall(config.server.rstrip("/"), config, settings))
        except WallRefused as refusal:
            typer.echo(str(refusal), err=True)
            raise typer.Exit(2) from None
        raise typer.Exit(code)
    raise typer.Exit(asyncio.run(_wall_demo(config, settings, speed)))


async def _wall_demo(config: ConsoleConfig, settings: WallSettings, speed: float) -> int:
    from dataclasses import replace

    from console.embedded import DEMO_ZONE, BackendFailed, EmbeddedBackend
    from console.launch import run_demo_wall
    from console.wall import DEMO_VIEWER

    start = datetime.combine(datetime.now(DEMO_ZONE).date(), time(11, 30), DEMO_ZONE)
    backend = EmbeddedBackend(speed=speed, start=start)
    typer.echo(f"Freshline wall on the demo city: starting a backend on {backend.url} …")
    try:
        async with backend:
            settings = replace(
                settings, username=DEMO_VIEWER["username"], password=DEMO_VIEWER["password"]
            )
            return await run_demo_wall(backend, [f"--speed={speed!r}"], config, settings)
    except BackendFailed as failure:
        typer.echo(f"the demo backend did not start: {failure}", err=True)
        return 1
