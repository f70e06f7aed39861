"""`python -m backend.sim`: the simulator on its own, driving a backend through its public API
only (`freshline simulate` and the demo hand over to this). Heavy imports happen inside, so
`--help` answers fast."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from backend.process import configure_logging, exit_when_stdin_closes

if TYPE_CHECKING:
    from backend.sim.runner import SimConfig

app = typer.Typer(name="python -m backend.sim", add_completion=False)


@app.command()
def simulate(
    server: Annotated[
        str, typer.Option(envvar="FRESHLINE_SERVER", help="The backend to drive.")
    ] = "http://127.0.0.1:8765",
    seed: Annotated[int, typer.Option(help="Same seed, same orders and incidents.")] = 1,
    speed: Annotated[
        float | None,
        typer.Option(help="Refuse to run unless the backend's clock runs at this speed."),
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0.1, help="Stop after this many real seconds.")
    ] = None,
    riders: Annotated[
        int | None,
        typer.Option(min=1, help="Riders on shift; beyond the city's 24, more are registered."),
    ] = None,
    orders_per_hour: Annotated[
        float, typer.Option(min=0.1, help="Orders per hour at the peak of the day's curve.")
    ] = 72.0,
    flat: Annotated[
        bool, typer.Option(help="Ignore the time of day: the peak rate all day.")
    ] = False,
    trouble: Annotated[
        float, typer.Option(min=0, help="Multiply every incident rate (0: a perfect day).")
    ] = 1.0,
    desk: Annotated[
        bool,
        typer.Option(
            "--desk/--no-desk", help="Also play support and dispatch answering incidents."
        ),
    ] = True,
    ca_file: Annotated[
        str | None,
        typer.Option(
            envvar="FRESHLINE_CA_FILE",
            help="Trust this CA's PEM bundle for an https:// backend instead of the public CAs.",
        ),
    ] = None,
    log_file: Annotated[
        str | None, typer.Option(hidden=True, help="Log here instead of stderr (the demo).")
    ] = None,
    exit_with_stdin: Annotated[
        bool, typer.Option(hidden=True, help="Stop when stdin closes (a parent died).")
    ] = False,
) -> None:
    """Drive a backend through its public API as the demo city's channels, stores, riders
    and desk (its demo accounts must exist: `python -m backend serve --demo`)."""
    from backend.sim.runner import SimConfig

    configure_logging(log_file, level=logging.INFO if log_file else logging.WARNING)
    if ca_file:  # every client of the simulator reads it there (FreshlineClient's default)
        os.environ["FRESHLINE_CA_FILE"] = ca_file
    if exit_with_stdin:
        exit_when_stdin_closes()
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
    raise typer.Exit(asyncio.run(run(config)))


async def run(config: SimConfig) -> int:
    """One run until its duration ends or SIGINT/SIGTERM stops it gracefully; then what it
    did. 1 when it cannot run against that backend (said why)."""
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


if __name__ == "__main__":
    app()
