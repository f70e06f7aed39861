"""`python -m backend serve`: the backend on its own. Heavy imports happen inside the command
so `--help` answers fast. (`freshline serve` hands over to this, without importing it.)"""

from __future__ import annotations

import ipaddress
import socket
from typing import Annotated, Any

import typer

from backend.process import configure_logging, exit_when_stdin_closes

app = typer.Typer(
    name="python -m backend",
    help="The Freshline backend.",
    add_completion=False,
    no_args_is_help=True,
)


def is_loopback(host: str) -> bool:
    """True when `host` names only this machine (an address or a name resolving to loopback)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL (sqlite+aiosqlite:///file.db or postgresql+asyncpg://...).",
            envvar="FRESHLINE_DATABASE_URL",
        ),
    ] = None,
    demo: Annotated[
        bool | None,
        typer.Option(
            "--demo/--no-demo",
            help="Create the demo city and accounts (loopback only). "
            "Default: the `demo` setting (FRESHLINE_DEMO).",
            show_default=False,
        ),
    ] = None,
    exit_with_stdin: Annotated[
        bool, typer.Option(hidden=True, help="Shut down when stdin closes (a parent died).")
    ] = False,
) -> None:
    """Run the backend; the schema is upgraded on start."""
    import uvicorn

    from backend.app import create_app
    from backend.settings import Settings

    # Arguments beat the environment, which beats the settings file (`Settings`' sources).
    overrides: dict[str, Any] = {}
    if demo is not None:
        overrides["demo"] = demo
    if database_url:
        overrides["database_url"] = database_url
    settings = Settings(**overrides)
    if settings.demo and not is_loopback(host):
        typer.echo(
            f"refusing the demo on {host}: demo accounts have known passwords; "
            "bind a loopback address such as 127.0.0.1",
            err=True,
        )
        raise typer.Exit(2)
    configure_logging(settings.log_file)
    if exit_with_stdin:
        exit_when_stdin_closes()
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        ws_per_message_deflate=False,
        # X-Forwarded-For is believed only from `trusted_proxies`, by the app itself (none by
        # default); uvicorn's own default would believe any local peer.
        proxy_headers=False,
        # Our handler (file or stderr) takes uvicorn's records too; it must not install its own.
        log_config=None,
        log_level="info",
    )


@app.callback()
def backend() -> None:
    """The Freshline backend: `serve` runs it."""


def main() -> None:
    """`python -m backend`."""
    app()
