"""The `freshline` command. Heavy imports happen inside each command so each starts fast."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import signal
import socket
import sys
import threading
from datetime import datetime, time
from typing import Annotated

import typer

app = typer.Typer(
    name="freshline",
    help="Real-time order tracking for fresh-grocery delivery.",
    add_completion=False,
)


@app.callback(invoke_without_command=True)
def freshline(
    context: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(
            help="The backend to watch (also FRESHLINE_SERVER or the settings file). "
            "None: the demo.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Real-time order tracking for fresh-grocery delivery: the console. With no server
    configured: the demo (a local backend with a simulated city, and the console on it)."""
    if context.invoked_subcommand is not None:
        return
    from console.config import ConsoleConfig

    config = ConsoleConfig(**({"server": server} if server else {}))
    if config.server:
        from console.launch import run_console

        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            typer.echo(
                f"the console for {config.server} needs a terminal to draw on "
                "(for scripts: `freshline simulate`, or the REST API)",
                err=True,
            )
            raise typer.Exit(2)

        asyncio.run(run_console(config.server.rstrip("/"), config))
        return
    context.invoke(demo)


@app.command()
def login(
    server: Annotated[str, typer.Option(envvar="FRESHLINE_SERVER", help="The backend.")],
    user: Annotated[str, typer.Option(help="Your user name.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="Asked for when not given.")
    ],
) -> None:
    """Sign in and keep the token (in the OS keyring, or the opted-in token file)."""
    from backend_client import FreshlineClient, FreshlineError, KeyringUnavailable, TokenStore
    from console.config import ConsoleConfig

    async def sign_in() -> str:
        async with FreshlineClient(server.rstrip("/")) as client:
            answer = await client.login(user, password)
            store = TokenStore(token_file=ConsoleConfig().token_path)
            where = await store.save(client.server, answer.access_token)
            return f"signed in to {client.server} as {user} ({answer.role}); token kept in {where}"

    try:
        typer.echo(asyncio.run(sign_in()))
    except KeyringUnavailable as exc:
        typer.echo(f"signed in, but the token cannot be kept: {exc}", err=True)
        raise typer.Exit(1) from None
    except FreshlineError as exc:
        typer.echo(f"cannot sign in: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def logout(
    server: Annotated[str, typer.Option(envvar="FRESHLINE_SERVER", help="The backend.")],
) -> None:
    """Revoke the stored token on the server and forget it here."""
    from backend_client import FreshlineClient, FreshlineError, KeyringUnavailable, TokenStore
    from console.config import ConsoleConfig

    async def sign_out() -> str:
        server_url = server.rstrip("/")
        store = TokenStore(token_file=ConsoleConfig().token_path)
        try:
            token = await store.load(server_url)
        except KeyringUnavailable:
            token = None
        if token:
            async with FreshlineClient(server_url, token=token) as client:
                try:
                    await client.logout()
                except FreshlineError as exc:
                    logging.getLogger(__name__).info("revoke failed: %r", exc)
        await store.forget(server_url)
        return f"signed out of {server_url}" if token else f"no token was kept for {server_url}"

    typer.echo(asyncio.run(sign_out()))


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
    if exit_with_stdin:
        _exit_when_stdin_closes()
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        ws_per_message_deflate=False,
        # Our handler (file or stderr) takes uvicorn's records too; it must not install its own.
        log_config=None,
        log_level="info",
    )


def _configure_logging(log_file: str | None, *, level: int = logging.INFO) -> None:
    """Everything the service logs (uvicorn's records too) goes to `log_file`, else stderr."""
    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler()
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def _exit_when_stdin_closes() -> None:
    """The embedded demo's backend: when the parent's pipe closes, shut down gracefully."""

    def watch() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# --- the simulator and the demo -----------------------------------------------------------------

Seed = Annotated[int, typer.Option(help="Same seed, same orders and incidents.")]
OrdersPerHour = Annotated[
    float, typer.Option(min=0.1, help="Orders per hour at the peak of the day's curve.")
]
Riders = Annotated[
    int | None,
    typer.Option(min=1, help="Riders on shift; beyond the city's 24, more are registered."),
]
Flat = Annotated[bool, typer.Option(help="Ignore the time of day: the peak rate all day.")]
Trouble = Annotated[
    float, typer.Option(min=0, help="Multiply every incident rate (0: a perfect day).")
]
Desk = Annotated[
    bool,
    typer.Option("--desk/--no-desk", help="Also play support and dispatch answering incidents."),
]
Duration = Annotated[float | None, typer.Option(min=0.1, help="Stop after this many real seconds.")]


@app.command()
def simulate(
    server: Annotated[
        str, typer.Option(envvar="FRESHLINE_SERVER", help="The backend to drive.")
    ] = "http://127.0.0.1:8765",
    seed: Seed = 1,
    speed: Annotated[
        float | None,
        typer.Option(help="Refuse to run unless the backend's clock runs at this speed."),
    ] = None,
    duration: Duration = None,
    riders: Riders = None,
    orders_per_hour: OrdersPerHour = 72.0,
    flat: Flat = False,
    trouble: Trouble = 1.0,
    desk: Desk = True,
    exit_with_stdin: Annotated[
        bool, typer.Option(hidden=True, help="Stop when stdin closes (a parent died).")
    ] = False,
) -> None:
    """Drive a backend through its public API as the demo city's channels, stores, riders
    and desk (its demo accounts must exist: `freshline serve --demo`)."""
    from backend.sim.runner import SimConfig

    _configure_logging(None, level=logging.WARNING)
    if exit_with_stdin:
        _exit_when_stdin_closes()
    config = SimConfig(
        server=server,
        seed=seed,
        speed=speed,
        duration=duration,
        riders=riders,
        orders_per_hour=orders_per_hour,
        flat=flat,
        trouble=trouble,
        desk=desk,
    )
    raise typer.Exit(asyncio.run(_simulate(config)))


@app.command()
def demo(
    seed: Seed = 1,
    speed: Annotated[
        float, typer.Option(min=0.1, max=1000, help="Simulated seconds per real second.")
    ] = 1.0,
    start: Annotated[
        str, typer.Option(help="Beijing time of day the simulated clock starts at (HH:MM).")
    ] = "11:30",
    headless: Annotated[
        bool,
        typer.Option(help="No console: a status line every few seconds (servers, scripts)."),
    ] = False,
    keep: Annotated[bool, typer.Option(help="Keep the demo's database and logs.")] = False,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Backend port (default: a free one).")
    ] = None,
    duration: Duration = None,
    riders: Riders = None,
    orders_per_hour: OrdersPerHour = 72.0,
    trouble: Trouble = 1.0,
    desk: Desk = True,
    tour: Annotated[
        bool,
        typer.Option(
            help="Start busy: 15x, from 11:45, 240 orders/h at the peak, 5x trouble (options "
            "given beside it win). Something happens in the first minute."
        ),
    ] = False,
) -> None:
    """A local backend on a free loopback port with a temporary database, and the simulator
    playing the city against it. Ctrl-C stops everything and removes the data. With
    `--no-desk`, incidents wait for you at the console (nobody else answers them)."""
    from backend.sim.demand import BEIJING
    from backend.sim.runner import SimConfig
    from console.tour import DemoPace, pace

    chosen = pace(DemoPace(speed, start, orders_per_hour, trouble), tour=tour)
    speed, start = chosen.speed, chosen.start
    orders_per_hour, trouble = chosen.orders_per_hour, chosen.trouble

    try:
        hour, minute = (int(part) for part in start.split(":"))
        local = datetime.combine(datetime.now(BEIJING).date(), time(hour, minute), BEIJING)
    except ValueError:
        raise typer.BadParameter("expected HH:MM, e.g. 11:30", param_hint="--start") from None
    config = SimConfig(
        server="",
        seed=seed,
        speed=speed,
        duration=duration,
        riders=riders,
        orders_per_hour=orders_per_hour,
        trouble=trouble,
        desk=desk,
    )
    if not headless and not (sys.stdin.isatty() and sys.stdout.isatty()):
        typer.echo("no terminal to draw on: running headless (--headless)", err=True)
        headless = True
    run = _demo if headless else _demo_console
    raise typer.Exit(asyncio.run(run(config, start=local, port=port, keep=keep)))


async def _demo_console(config, *, start: datetime, port: int | None, keep: bool) -> int:
    from console.config import ConsoleConfig
    from console.embedded import BackendFailed, EmbeddedBackend, PortInUse
    from console.launch import run_demo_console

    arguments = [
        f"--seed={config.seed}",
        f"--speed={config.speed!r}",
        f"--orders-per-hour={config.orders_per_hour!r}",
        f"--trouble={config.trouble!r}",
    ]
    arguments += [f"--riders={config.riders}"] if config.riders else []
    arguments += [] if config.desk else ["--no-desk"]
    backend = EmbeddedBackend(
        speed=config.speed, start=start, port=port, keep=keep, on_progress=_progress
    )
    try:
        async with backend:
            await run_demo_console(
                backend, arguments, ConsoleConfig(), duration=config.duration, progress=_progress
            )
    except PortInUse as refused:
        typer.echo(f"Freshline demo: {refused}", err=True)
        return 2
    except BackendFailed as failure:
        typer.echo(f"the demo backend did not start: {failure}", err=True)
        return 1
    if keep:
        typer.echo(f"kept the demo's data in {backend.folder}")
    return 0


async def _demo(config, *, start: datetime, port: int | None, keep: bool) -> int:
    from dataclasses import replace

    from console.embedded import BackendFailed, EmbeddedBackend, PortInUse

    backend = EmbeddedBackend(
        speed=config.speed, start=start, port=port, keep=keep, on_progress=_progress
    )
    _configure_logging(str(backend.folder / "simulator.log"))
    try:
        async with backend:
            typer.echo(
                f"Freshline demo: backend on {backend.url} (sign in as dispatcher / "
                f"demo-dispatcher); simulated clock from {start:%H:%M} Beijing time at "
                f"{config.speed:g}x. Ctrl-C stops."
            )
            code = await _simulate(replace(config, server=backend.url))
    except PortInUse as refused:
        typer.echo(f"Freshline demo: {refused}", err=True)
        return 2
    except BackendFailed as failure:
        typer.echo(f"the demo backend did not start: {failure}", err=True)
        return 1
    if keep:
        typer.echo(f"kept the demo's data in {backend.folder}")
    return code


def _progress(step: str) -> None:
    """The demo's start-up, step by step, before the console takes the terminal."""
    typer.echo(f"Freshline demo: {step}")


async def _simulate(config) -> int:
    from backend.sim.runner import Simulator, SimulatorError
    from backend_client import FreshlineError

    simulator = Simulator(config, on_status=typer.echo)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, simulator.stop)
    try:
        stats = await simulator.run()
    except (SimulatorError, FreshlineError) as exc:
        typer.echo(f"the simulator cannot run: {exc}", err=True)
        return 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    typer.echo(stats.summary())
    return 0


# --- the wall (console/wall_cli.py) -------------------------------------------------------------

from console.wall_cli import wall  # noqa: E402  (registered after the other commands)

app.command()(wall)


def main() -> None:
    """Entry point of the `freshline` console script."""
    app()


if __name__ == "__main__":
    main()
