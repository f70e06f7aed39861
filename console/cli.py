"""The `freshline` command. Heavy imports happen inside each command so each starts fast."""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Annotated

import typer

app = typer.Typer(
    name="freshline",
    help="Real-time order tracking for fresh-grocery delivery.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def freshline() -> None:
    """Real-time order tracking for fresh-grocery delivery."""


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
) -> None:
    """Run the backend; the schema is upgraded on start."""
    import uvicorn

    from backend.app import create_app
    from backend.settings import Settings

    overrides: dict[str, object] = {}
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
    _configure_logging(settings.log_file)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        ws_per_message_deflate=False,
        # Our handler (file or stderr) takes uvicorn's records too; it must not install its own.
        log_config=None,
        log_level="info",
    )


def _configure_logging(log_file: str | None) -> None:
    """Everything the service logs (uvicorn's records too) goes to `log_file`, else stderr."""
    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler()
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def main() -> None:
    """Entry point of the `freshline` console script."""
    app()


if __name__ == "__main__":
    main()
