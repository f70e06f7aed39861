"""The `freshline` command. Heavy imports happen inside each command so each starts fast."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from dataclasses import dataclass
from datetime import datetime, time
from typing import Annotated, NoReturn

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
    ca_file: Annotated[
        str | None,
        typer.Option(
            help="Trust this CA's PEM bundle for https:// servers instead of the public CAs "
            "(also FRESHLINE_CA_FILE or the settings file's ca_file).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Real-time order tracking for fresh-grocery delivery: the console. With no server
    configured: the demo (a local backend with a simulated city, and the console on it)."""
    if context.invoked_subcommand in ("serve", "simulate", "ssh-serve"):
        if ca_file:  # the simulator's clients read it from there
            os.environ["FRESHLINE_CA_FILE"] = ca_file
        return
    from console.config import ConsoleConfig, trust_ca

    trust_ca(ca_file or ConsoleConfig().ca_file)
    if context.invoked_subcommand is not None:
        return

    config = ConsoleConfig(server=server) if server else ConsoleConfig()
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


# --- the backend and the simulator: their own modules ---------------------------------------

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
"""Every argument (`--help` too) goes to the module handed over to."""


def hand_over(module: str, arguments: list[str]) -> NoReturn:
    """Become `python -m <module> *arguments`: the console package starts the backend and the
    simulator without importing them, and the process (its id, its signals) is theirs."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", module, *arguments])


@app.command(context_settings=PASS_THROUGH, add_help_option=False)
def serve(context: typer.Context) -> None:
    """Run the backend: `python -m backend serve` (`freshline serve --help` for its options)."""
    hand_over("backend", ["serve", *context.args])


@app.command(context_settings=PASS_THROUGH, add_help_option=False)
def archive(context: typer.Context) -> None:
    """Move closed orders and old rider fixes to the Parquet archive, drop expired days:
    `python -m backend archive` (`freshline archive --help` for its options)."""
    hand_over("backend", ["archive", *context.args])


@app.command(context_settings=PASS_THROUGH, add_help_option=False)
def model(context: typer.Context) -> None:
    """Fit and list the learned ETA's models: `python -m backend model` (`freshline model
    --help` for its commands)."""
    hand_over("backend", ["model", *context.args])


@app.command(context_settings=PASS_THROUGH, add_help_option=False)
def simulate(context: typer.Context) -> None:
    """Drive a backend through its public API as the demo city: `python -m backend.sim`
    (`freshline simulate --help` for its options)."""
    hand_over("backend.sim", context.args)


# --- the demo -------------------------------------------------------------------------------------

Seed = Annotated[int, typer.Option(help="Same seed, same orders and incidents.")]
OrdersPerHour = Annotated[
    float, typer.Option(min=0.1, help="Orders per hour at the peak of the day's curve.")
]
Riders = Annotated[
    int | None,
    typer.Option(min=1, help="Riders on shift; beyond the city's 24, more are registered."),
]
Trouble = Annotated[
    float, typer.Option(min=0, help="Multiply every incident rate (0: a perfect day).")
]
Desk = Annotated[
    bool,
    typer.Option("--desk/--no-desk", help="Also play support and dispatch answering incidents."),
]
Duration = Annotated[float | None, typer.Option(min=0.1, help="Stop after this many real seconds.")]


@dataclass(frozen=True)
class DemoRun:
    """One demo: the backend's clock and port, and what the simulator is told."""

    speed: float
    start: datetime
    port: int | None
    keep: bool
    duration: float | None
    simulator_arguments: list[str]


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
    from console.embedded import DEMO_ZONE
    from console.tour import DemoPace, pace

    chosen = pace(DemoPace(speed, start, orders_per_hour, trouble), tour=tour)
    try:
        hour, minute = (int(part) for part in chosen.start.split(":"))
        local = datetime.combine(datetime.now(DEMO_ZONE).date(), time(hour, minute), DEMO_ZONE)
    except ValueError:
        raise typer.BadParameter("expected HH:MM, e.g. 11:30", param_hint="--start") from None
    arguments = [
        f"--seed={seed}",
        f"--speed={chosen.speed!r}",
        f"--orders-per-hour={chosen.orders_per_hour!r}",
        f"--trouble={chosen.trouble!r}",
    ]
    arguments += [f"--riders={riders}"] if riders else []
    arguments += [] if desk else ["--no-desk"]
    run = DemoRun(chosen.speed, local, port, keep, duration, arguments)
    if not headless and not (sys.stdin.isatty() and sys.stdout.isatty()):
        typer.echo("no terminal to draw on: running headless (--headless)", err=True)
        headless = True
    raise typer.Exit(asyncio.run(_demo(run) if headless else _demo_console(run)))


async def _demo_console(run: DemoRun) -> int:
    from console.config import ConsoleConfig
    from console.embedded import BackendFailed, EmbeddedBackend, PortInUse
    from console.launch import run_demo_console

    backend = EmbeddedBackend(
        speed=run.speed, start=run.start, port=run.port, keep=run.keep, on_progress=_progress
    )
    try:
        async with backend:
            await run_demo_console(
                backend,
                run.simulator_arguments,
                ConsoleConfig(),
                duration=run.duration,
                progress=_progress,
            )
    except PortInUse as refused:
        typer.echo(f"Freshline demo: {refused}", err=True)
        return 2
    except BackendFailed as failure:
        typer.echo(f"the demo backend did not start: {failure}", err=True)
        return 1
    if run.keep:
        typer.echo(f"kept the demo's data in {backend.folder}")
    return 0


async def _demo(run: DemoRun) -> int:
    from console.embedded import BackendFailed, EmbeddedBackend, PortInUse
    from console.launch import simulate_in_front

    backend = EmbeddedBackend(
        speed=run.speed, start=run.start, port=run.port, keep=run.keep, on_progress=_progress
    )
    arguments = list(run.simulator_arguments)
    arguments += [f"--duration={run.duration!r}"] if run.duration is not None else []
    try:
        async with backend:
            typer.echo(
                f"Freshline demo: backend on {backend.url} (sign in as dispatcher / "
                f"demo-dispatcher); simulated clock from {run.start:%H:%M} Beijing time at "
                f"{run.speed:g}x. Ctrl-C stops."
            )
            code = await simulate_in_front(backend.url, backend.folder, arguments)
    except PortInUse as refused:
        typer.echo(f"Freshline demo: {refused}", err=True)
        return 2
    except BackendFailed as failure:
        typer.echo(f"the demo backend did not start: {failure}", err=True)
        return 1
    if run.keep:
        typer.echo(f"kept the demo's data in {backend.folder}")
    return code


def _progress(step: str) -> None:
    """The demo's start-up, step by step, before the console takes the terminal."""
    typer.echo(f"Freshline demo: {step}")


# --- the wall (console/wall_cli.py) -------------------------------------------------------------

from console.wall_cli import wall  # noqa: E402  (registered after the other commands)

app.command()(wall)

# --- the shift handover digest (console/handover_cli.py) -----------------------------------------

from console.handover_cli import handover  # noqa: E402  (registered after the other commands)

app.command()(handover)
# --- the day report (console/report_cli.py) -----------------------------------------------------

from console.report_cli import report  # noqa: E402  (registered after the other commands)

app.command()(report)

# --- the console's commands from a script (console/act_cli.py) ----------------------------------

from console.act_cli import PASS_THROUGH as ACT_WORDS  # noqa: E402
from console.act_cli import act  # noqa: E402  (registered after the other commands)

app.command(context_settings=ACT_WORDS)(act)


# --- the console over SSH (console/ssh_cli.py) ----------------------------------------------------

from console.ssh_cli import ssh_serve  # noqa: E402  (registered after the other commands)

app.command(name="ssh-serve")(ssh_serve)
# --- the stream as lines (console/tail_cli.py) --------------------------------------------------

from console.tail_cli import tail  # noqa: E402  (registered after the other commands)

app.command()(tail)


def main() -> None:
    """Entry point of the `freshline` console script."""
    app()


if __name__ == "__main__":
    main()
