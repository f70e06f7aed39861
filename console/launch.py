"""Starting the console: against a configured server, or inside the embedded demo.

The console draws on the terminal, so from here on nothing prints: logs go to a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend_client import FreshlineClient, FreshlineError, KeyringUnavailable, TokenStore, within
from console.config import ConsoleConfig
from console.embedded import EmbeddedBackend
from console.sign_in import NO_KEYRING, NO_SESSION, KnownUsers
from console.wall import WallSettings

log = logging.getLogger(__name__)


async def business_zone(server: str) -> tzinfo | None:
    """The backend's business time zone (`GET /health`): every console and wall on one backend
    shows its times and cuts its days there, wherever the machine is. None when the backend
    cannot be asked or does not say (an older one): then the machine's own zone."""
    try:
        async with FreshlineClient(server) as client:
            health = await within(5, client.health())
    except (FreshlineError, TimeoutError) as exc:
        log.info("no business time zone from %s (%r): the machine's zone", server, exc)
        return None
    if health.time_zone is None:
        return None
    try:
        return ZoneInfo(health.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("the backend's time zone %r is unknown here", health.time_zone)
        return None


def log_to(path: Path, level: int = logging.INFO) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


async def run_console(server: str, config: ConsoleConfig) -> None:
    """The console against `server`, with a stored token if there is one, else the login."""
    from console.app import FreshlineApp

    log_to(config.console_log)
    tokens = TokenStore(token_file=config.token_path)
    why = NO_SESSION
    try:
        token = await tokens.load(server)
    except KeyringUnavailable as exc:
        log.info("%s", exc)
        token, why = None, NO_KEYRING
    app = FreshlineApp(
        server=server,
        token=token,
        token_store=tokens,
        zone=await business_zone(server),
        theme=config.theme,
        refresh_hz=config.refresh_hz,
        users=KnownUsers(),
        sign_in_why=why,
        attention=config.attention_settings,
        looked_dir=config.looked_dir,
    )
    await app.run_async()


class Simulator:
    """The demo's simulator in a child process (so the console's loop stays free to draw); it
    stops when we close its stdin, or when we die."""

    def __init__(self, server: str, folder: Path, arguments: list[str]) -> None:
        self.server, self.folder, self.arguments = server, folder, arguments
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Simulator:
        log_file = (self.folder / "simulator.log").open("ab")
        with log_file:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "backend.sim",
                "--server",
                self.server,
                "--exit-with-stdin",
                *self.arguments,
                stdin=asyncio.subprocess.PIPE,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,
            )
        return self

    async def __aexit__(self, *_: object) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await within(10, process.wait())
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def simulate_in_front(server: str, folder: Path, arguments: list[str]) -> int:
    """The headless demo's simulator: `python -m backend.sim` in a child process that prints its
    status lines on our terminal; Ctrl-C or SIGTERM here stops it gracefully (it says what it
    did), and it stops by itself if we die. Its exit code."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "backend.sim",
        "--server",
        server,
        "--log-file",
        str(folder / "simulator.log"),
        "--exit-with-stdin",
        *arguments,
        stdin=asyncio.subprocess.PIPE,
        # Own session: a Ctrl-C reaches us alone, and we pass it on once.
        start_new_session=True,
    )
    loop = asyncio.get_running_loop()

    def pass_on(signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, pass_on, signum)
    try:
        return await process.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def run_demo_console(
    backend: EmbeddedBackend,
    simulator_arguments: list[str],
    config: ConsoleConfig,
    *,
    duration: float | None = None,
    progress: Callable[[str], None] = lambda step: None,
) -> None:
    """The console signed in as the demo dispatcher, with the simulator playing the city;
    `progress` is told each step until the console opens."""
    from console.app import FreshlineApp

    log_to(backend.folder / "console.log")
    progress("signing in as dispatcher")
    async with FreshlineClient(backend.url) as client:
        await client.login("dispatcher", "demo-dispatcher")
        token = client.token
    progress("starting the simulator, opening the console")
    async with Simulator(backend.url, backend.folder, simulator_arguments):
        app = FreshlineApp(
            server=backend.url,
            token=token,
            zone=await business_zone(backend.url),
            theme=config.theme,
            refresh_hz=config.refresh_hz,
            stop_after=duration,
            attention=config.attention_settings,
            keep_looked=False,  # a new city each run: nothing to come back to
        )
        await app.run_async()


# --- the wall -----------------------------------------------------------------------------------


class WallRefused(Exception):
    """The wall cannot start: it has no way to sign in without a keyboard."""


async def run_wall(server: str, config: ConsoleConfig, wall: WallSettings) -> int:
    """`freshline wall` against `server`: signs in by itself with the wall's password, or
    rides on a kept viewer token (FRESHLINE_TOKEN or `freshline login --user viewer`)."""
    from console.app import FreshlineApp

    log_to(config.console_log)
    token = None
    if wall.password is None:
        try:
            token = await TokenStore(token_file=config.token_path).load(server)
        except KeyringUnavailable as exc:
            log.info("%s", exc)
        if token is None:
            raise WallRefused(
                f"the wall signs in by itself as {wall.username}: set wall_password in the "
                "settings file or FRESHLINE_WALL_PASSWORD, or keep a token first with "
                f"`freshline login --server {server} --user {wall.username}`"
            )
    app = FreshlineApp(
        server=server,
        token=token,
        zone=await business_zone(server),
        theme=config.theme,
        refresh_hz=config.refresh_hz,
        wall=wall,
    )
    await app.run_async()
    return app.return_code or 0


async def run_demo_wall(
    backend: EmbeddedBackend,
    simulator_arguments: list[str],
    config: ConsoleConfig,
    wall: WallSettings,
) -> int:
    """The wall on the demo city, signed in as the demo's viewer."""
    from console.app import FreshlineApp

    log_to(backend.folder / "console.log")
    async with Simulator(backend.url, backend.folder, simulator_arguments):
        app = FreshlineApp(
            server=backend.url,
            zone=await business_zone(backend.url),
            theme=config.theme,
            refresh_hz=config.refresh_hz,
            wall=wall,
        )
        await app.run_async()
    return app.return_code or 0
