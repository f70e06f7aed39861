"""`freshline ssh-serve` end to end: a real backend, the real command, an SSH client whose
terminal is a screen in memory. A registered key sees the board (at the size it asked for, and
again after a resize), an unknown key is refused, a revoked key's open session is cut off, a
read-only key gets the wall, and nothing but a console is served."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from tests.backend.ssh_support import ssh_key_pair
from tests.console.ssh_support import (
    SshServe,
    backend_with_gateway,
    connect,
    register_key,
    revoke_key,
    ssh_console,
    ssh_serving,
)
from tests.console.terminal import Tmux
from tests.servers import Server

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


async def test_a_registered_key_sees_the_board_and_a_resize_reaches_it(
    backend: Server, serve: SshServe
):
    private, _ = register_key(backend, "dispatcher")
    async with ssh_console(serve.port, private, columns=120, rows=40) as console:
        # The board, full width: its tabs spelled out, its lanes.
        await console.shows("2 Exceptions")
        await console.shows("New")
        assert b"38;5;" in console.screen.raw  # TERM=xterm-256color: 256 colours
        # Narrower: the console is told (SIGWINCH through the PTY) and lays out again.
        console.resize(90, 25)
        await console.shows("2 Exc ")
        assert "2 Exceptions" not in console.screen.text()
        # Keys reach it: `3` is the riders screen.
        await console.type("3")
        await console.shows("Riders")
    # The session's end revokes its token (logged by ssh-serve).


async def test_colour_depth_follows_the_client_terminal(backend: Server, serve: SshServe):
    private, _ = register_key(backend, "supervisor")
    async with (
        ssh_console(serve.port, private, term="xterm", columns=100, rows=30) as sixteen,
        ssh_console(
            serve.port, private, columns=100, rows=30, env={"COLORTERM": "truecolor"}
        ) as true,
    ):
        await asyncio.gather(sixteen.shows("Board"), true.shows("Board"))
        assert b"38;2;" in true.screen.raw  # 24-bit colour
        assert b"38;5;" not in sixteen.screen.raw and b"38;2;" not in sixteen.screen.raw


async def test_an_unknown_key_is_refused(serve: SshServe):
    private, _ = ssh_key_pair()
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(serve.port, private)


async def test_a_revoked_key_is_cut_off(backend: Server, serve: SshServe):
    private, key = register_key(backend, "support")
    async with ssh_console(serve.port, private) as console:
        await console.shows("Board")
        revoke_key(backend, key["id"])
        await console.ends(within=30)
        assert "key was revoked" in console.screen.text()
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(serve.port, private)


async def test_a_read_only_key_gets_the_wall(backend: Server, serve: SshServe):
    private, _ = register_key(backend, "viewer", read_only=True)
    async with ssh_console(serve.port, private, columns=120, rows=40) as wall:
        await wall.shows("KPI")


async def test_no_shell_no_command_no_session_without_a_terminal(backend: Server, serve: SshServe):
    private, _ = register_key(backend, "dispatcher")
    async with await connect(serve.port, private) as conn:
        with pytest.raises(asyncssh.ChannelOpenError):  # no command runs, ever
            await conn.run("cat /etc/passwd")
    async with await connect(serve.port, private) as conn:
        plain = await conn.run(check=False, encoding=None)  # a shell, but no PTY asked for
        assert plain.exit_status == 2
        assert b"connect with a terminal" in (plain.stdout or b"")


def openssh_or_fail() -> str:
    found = shutil.which("ssh")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("OpenSSH's ssh client is needed (make system: openssh-client)")
        pytest.skip("ssh is not installed")
    return found


def test_openssh_client_in_a_real_terminal_sees_the_board(
    backend: Server, serve: SshServe, tmp_path: Path
):
    # Debian's OpenSSH client in tmux: a user's terminal, a user's ssh, no password typed.
    ssh = openssh_or_fail()
    private, _ = register_key(backend, "dispatcher")
    key_file = tmp_path / "id_ed25519"
    key_file.write_text(private)
    key_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRESHLINE_", "SSH_"))}
    terminal = Tmux(env | {"TERM": "xterm-256color", "HOME": str(tmp_path)}, 110, 32)
    command = (
        f"{ssh} -tt -p {serve.port} -i {key_file} -o IdentitiesOnly=yes -o BatchMode=yes "
        f"-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={tmp_path / 'known_hosts'} "
        "desk@127.0.0.1; sleep 60"
    )
    terminal.open(command)
    try:
        terminal.wait_for(lambda: "2 Exceptions" in terminal.text(), "the board", within=60)
        terminal.run("resize-window", "-t", terminal.session, "-x", "90", "-y", "24")
        terminal.wait_for(lambda: "2 Exc " in terminal.text(), "the narrow board", within=30)
        terminal.keys("q")  # quit: the console ends, and so does the session
        terminal.wait_for(lambda: "Connection to 127.0.0.1 closed" in terminal.text(), "the end")
        # The host key was pinned: the next connection checks it.
        assert (tmp_path / "known_hosts").read_text().strip()
    finally:
        terminal.close()
