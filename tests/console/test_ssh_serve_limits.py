"""`freshline ssh-serve`'s limits, end to end: a stalled client does not slow another, idle
sessions end, connections are limited per address, and it refuses to start without its secret
or with a host key others can read; the host key is made once."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from console.ssh.gateway import Gateway, ServeSettings
from console.ssh.host_key import load_or_create
from tests.backend.ssh_support import ssh_key_pair
from tests.console.ssh_support import (
    SECRET,
    SshServe,
    backend_with_gateway,
    connect,
    register_key,
    ssh_console,
    ssh_serving,
)
from tests.servers import FRESHLINE, Server, clean_env
from tests.support import eventually

# Real servers and real consoles in child processes.
pytestmark = [pytest.mark.slow, pytest.mark.long(50)]


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with backend_with_gateway(tmp_path_factory.mktemp("ssh-backend")) as server:
        yield server


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory, backend: Server) -> Iterator[SshServe]:
    folder = tmp_path_factory.mktemp("ssh-serve")
    with ssh_serving(folder, backend, "--connections-per-minute", "1000") as serving:
        yield serving


async def test_connections_are_limited_per_address(backend: Server, tmp_path: Path):
    private, _ = register_key(backend, "dispatcher")
    with ssh_serving(tmp_path, backend, "--connections-per-minute", "2") as limited:
        for _ in range(2):
            conn = await connect(limited.port, private)
            conn.close()
            await conn.wait_closed()
        with pytest.raises((asyncssh.DisconnectError, ConnectionError)):
            await connect(limited.port, private)


async def test_an_idle_session_ends_and_a_busy_one_does_not(backend: Server, tmp_path: Path):
    # The gateway in this process, on a clock the test moves: idle means no key for this long.
    now = [1000.0]
    settings = ServeSettings(
        server=backend.base_url,
        gateway_secret=SECRET,
        port=0,
        host_key=tmp_path / "host_key",
        log_dir=tmp_path / "logs",
        idle_seconds=600,
        check_seconds=3600,  # no round of its own: the test calls check()
    )
    gateway = Gateway(settings, load_or_create(settings.host_key), monotonic=lambda: now[0])
    await gateway.start()
    idle_key, _ = register_key(backend, "dispatcher")
    busy_key, _ = register_key(backend, "supervisor")
    try:
        async with (
            ssh_console(gateway.port, idle_key) as idle,
            ssh_console(gateway.port, busy_key) as busy,
        ):
            await asyncio.gather(idle.shows("Board"), busy.shows("Board"))
            now[0] += 599
            await busy.type("2")  # a key: busy is not idle
            await busy.shows("Exceptions")
            await eventually(
                lambda: all(
                    s.last_input == now[0]
                    for s in gateway.sessions
                    if s.key.username == "supervisor"
                ),
                "the key to be counted",
            )
            now[0] += 2
            await gateway.check()
            await idle.ends()
            assert "idle for 10 minutes" in idle.screen.text()
            assert not busy.screen.closed and len(gateway.sessions) == 1
    finally:
        await gateway.close()


async def test_a_stalled_client_does_not_slow_another(backend: Server, serve: SshServe):
    private, _ = register_key(backend, "dispatcher")
    async with (
        ssh_console(serve.port, private, columns=200, rows=60) as stalled,
        ssh_console(serve.port, private, columns=200, rows=60) as other,
    ):
        await asyncio.gather(stalled.shows("Board"), other.shows("Board"))
        # The stalled client stops reading: its SSH window fills, ssh-serve stops reading its
        # console's PTY, and that console alone waits to draw.
        stalled.process.channel.pause_reading()
        for n in range(40):  # every resize is a whole new picture to send
            stalled.process.change_terminal_size(200 - n % 2 * 40, 60)
        received = len(stalled.screen.raw)
        # Meanwhile the other console answers its keys as ever.
        for screen, shows in (("3", "Riders"), ("2", "Exceptions"), ("1", "New")):
            await other.type(screen)
            await other.shows(shows, within=20)
        assert len(stalled.screen.raw) == received
        # Reading again, the stalled client gets the console's latest picture.
        stalled.process.channel.resume_reading()
        stalled.resize(160, 60)
        await stalled.shows("Board")


def test_ssh_serve_refuses_to_start_without_its_secret_or_with_an_open_host_key(
    tmp_path: Path,
) -> None:
    env = clean_env(tmp_path)
    command = [FRESHLINE, "ssh-serve", "--server", "http://127.0.0.1:9", "--port", "0"]
    no_secret = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert no_secret.returncode == 2
    assert "FRESHLINE_SSH_GATEWAY_SECRET" in no_secret.stderr
    short = env | {"FRESHLINE_SSH_GATEWAY_SECRET": "short"}
    assert subprocess.run(command, env=short, capture_output=True, timeout=60).returncode == 2

    key = tmp_path / "host_key"
    key.write_bytes(load_or_create(tmp_path / "made").export_private_key("openssh"))
    key.chmod(0o644)
    secret = env | {"FRESHLINE_SSH_GATEWAY_SECRET": SECRET}
    opened = subprocess.run(
        [*command, "--host-key", str(key)], env=secret, capture_output=True, text=True, timeout=60
    )
    assert opened.returncode == 2 and "can be read by others" in opened.stderr


def test_the_host_key_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "host_key"
    made = load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create(path).get_fingerprint() == made.get_fingerprint()


async def test_a_client_cycling_through_keys_is_stopped_after_six(backend: Server, serve: SshServe):
    private, _ = register_key(backend, "dispatcher")
    strangers = [asyncssh.import_private_key(ssh_key_pair()[0]) for _ in range(6)]
    good = asyncssh.import_private_key(private)
    with pytest.raises(asyncssh.PermissionDenied):  # the right key, seventh: never asked
        await asyncssh.connect(
            "127.0.0.1",
            serve.port,
            username="desk",
            client_keys=[*strangers, good],
            known_hosts=None,
            agent_path=None,
        )
    conn = await connect(serve.port, private)  # first: let in
    conn.close()
    await conn.wait_closed()
