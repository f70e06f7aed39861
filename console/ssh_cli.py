"""`freshline ssh-serve`: the console served over SSH (console/ssh/, docs/ssh.md). Heavy imports
happen inside, so the command starts fast."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from platformdirs import user_data_dir, user_log_dir

if TYPE_CHECKING:
    from console.ssh.gateway import ServeSettings

SECRET_VARIABLE = "FRESHLINE_SSH_GATEWAY_SECRET"


def ssh_serve(
    server: Annotated[
        str,
        typer.Option(envvar="FRESHLINE_SERVER", help="The backend the consoles watch."),
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free one).")
    ] = 2222,
    host_key: Annotated[
        Path | None,
        typer.Option(
            help="The host key file (made once, 0600, when missing; default: in the user "
            "data directory).",
            show_default=False,
        ),
    ] = None,
    log_dir: Annotated[
        Path | None,
        typer.Option(help="Where each account's console logs.", show_default=False),
    ] = None,
    idle_minutes: Annotated[
        float, typer.Option(min=1, max=24 * 60, help="End a console nobody typed at this long.")
    ] = 30.0,
    connections_per_minute: Annotated[
        int, typer.Option(min=1, max=10_000, help="New connections one address may make a minute.")
    ] = 10,
    max_sessions: Annotated[
        int, typer.Option(min=1, max=10_000, help="Consoles served at once, in all.")
    ] = 50,
    check_seconds: Annotated[
        float,
        typer.Option(
            min=0.2, max=300, help="How often the backend is asked which keys still count."
        ),
    ] = 2.0,
) -> None:
    """Serve the console over SSH: each connection signed in by its public key (registered by
    an admin, `POST /api/v1/ssh-keys`) gets its own console as that key's account; read-only
    keys get the wall. No shell, no Unix account, no password. The backend's gateway secret
    comes from FRESHLINE_SSH_GATEWAY_SECRET (the same value as the backend's setting)."""
    from console.ssh.gateway import ServeSettings

    secret = os.environ.get(SECRET_VARIABLE, "")
    if len(secret) < 32:
        typer.echo(
            f"ssh-serve needs {SECRET_VARIABLE}: the backend's ssh_gateway_secret, "
            "32 characters or more (e.g. `openssl rand -hex 32`)",
            err=True,
        )
        raise typer.Exit(2)
    settings = ServeSettings(
        server=server.rstrip("/"),
        gateway_secret=secret,
        host=host,
        port=port,
        host_key=host_key or Path(user_data_dir("freshline")) / "ssh_host_ed25519_key",
        log_dir=log_dir or Path(user_log_dir("freshline")) / "ssh",
        idle_seconds=idle_minutes * 60,
        connections_per_minute=connections_per_minute,
        max_sessions=max_sessions,
        check_seconds=check_seconds,
    )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per check is noise
    raise typer.Exit(asyncio.run(_serve(settings)))


async def _serve(settings: ServeSettings) -> int:
    from console.ssh.gateway import Gateway
    from console.ssh.host_key import HostKeyUnsafe, load_or_create

    try:
        key = load_or_create(settings.host_key)
    except (HostKeyUnsafe, OSError, ValueError) as exc:
        typer.echo(f"ssh-serve: {exc}", err=True)
        return 2
    gateway = Gateway(settings, key)
    try:
        await gateway.start()
    except OSError as exc:
        typer.echo(f"ssh-serve cannot listen on {settings.host}:{settings.port}: {exc}", err=True)
        await gateway.backend.aclose()
        return 2
    # One line a script can wait for: where, and the fingerprint users check on first connect.
    typer.echo(
        f"ssh-serve listening on {settings.host}:{gateway.port}, host key "
        f"{key.get_fingerprint('sha256')}, consoles on {settings.server}",
        err=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):
                loop.remove_signal_handler(signum)
        await gateway.close()
    return 0
