"""One console on its own PTY, in a child process, pumped to and from an SSH channel.

Flow control both ways, per session, so one slow or stuck client never slows the others:
- screen output: read from the PTY only while the channel takes it; when the channel's buffer
  is over its mark (the client is slow, its window is full) we stop reading, the PTY fills and
  that console alone waits to draw (Textual keeps only the latest picture; nothing piles up);
- key input: written to the PTY as the console reads it; a console not reading makes the
  channel stop reading from the client once `INPUT_LIMIT` bytes wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import signal
import struct
import sys
import termios
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from backend_client import within

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
INPUT_LIMIT = 64 * 1024
"""Bytes of key input kept for a console that is not reading before the client is paused."""
STOP_GRACE = 3.0
"""Seconds a console has to quit after SIGHUP before SIGKILL."""


@dataclass(frozen=True, slots=True)
class TermSize:
    columns: int
    rows: int
    pixel_width: int = 0
    pixel_height: int = 0


def set_size(fd: int, size: TermSize) -> None:
    """TIOCSWINSZ: the kernel tells the PTY's foreground process (the console) by SIGWINCH."""
    packed = struct.pack(
        "HHHH",
        max(1, min(size.rows, 1000)),
        max(1, min(size.columns, 1000)),
        size.pixel_width,
        size.pixel_height,
    )
    fcntl.ioctl(fd, termios.TIOCSWINSZ, packed)


class Sink(Protocol):
    """Where the screen output goes (the SSH channel), and who stops sending keys."""

    def write(self, data: bytes) -> None: ...

    def pause_input(self) -> None: ...

    def resume_input(self) -> None: ...


class PtyConsole:
    """A child process on a new PTY; `output` is given what it draws, `write` feeds it keys."""

    def __init__(
        self,
        arguments: list[str],
        environment: Mapping[str, str],
        size: TermSize,
        sink: Sink,
        *,
        on_exit: Callable[[int], None],
    ) -> None:
        self.arguments, self.environment, self.size = arguments, dict(environment), size
        self.sink, self.on_exit = sink, on_exit
        self.process: asyncio.subprocess.Process | None = None
        self._master = -1
        self._pending = bytearray()
        self._reading = False
        self._writing = False
        self._input_paused = False
        self._eof = False
        self.bytes_out = 0

    async def start(self) -> None:
        master, slave = os.openpty()
        try:
            set_size(slave, self.size)
            os.set_blocking(master, False)
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "console.ssh.child",
                *self.arguments,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=self.environment,
                start_new_session=True,  # its own session: the PTY becomes its terminal
                close_fds=True,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self._master = master
        self.resume_output()
        asyncio.get_running_loop().create_task(self._wait(), name="ssh-console-wait")

    async def _wait(self) -> None:
        assert self.process is not None
        code = await self.process.wait()
        # What it drew last is still in the PTY: give it to the client before closing.
        while not self._eof and self._reading:
            if not self._read_once():
                break
        self._close_master()
        self.on_exit(code)

    # --- output: PTY -> channel ----------------------------------------------------------

    def pause_output(self) -> None:
        """The channel is full: stop reading the PTY (the console then waits to draw)."""
        if self._reading and self._master >= 0:
            asyncio.get_running_loop().remove_reader(self._master)
        self._reading = False

    def resume_output(self) -> None:
        if not self._reading and self._master >= 0 and not self._eof:
            asyncio.get_running_loop().add_reader(self._master, self._read_once)
            self._reading = True

    def _read_once(self) -> bool:
        try:
            data = os.read(self._master, READ_CHUNK)
        except BlockingIOError:
            return False
        except OSError as exc:  # EIO: the child closed its side
            if exc.errno != errno.EIO:
                log.info("reading the console's PTY: %r", exc)
            data = b""
        if not data:
            self._eof = True
            self.pause_output()
            return False
        self.bytes_out += len(data)
        self.sink.write(data)
        return True

    # --- input: channel -> PTY -----------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._master < 0:
            return
        self._pending += data
        self._flush()

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending and self._master >= 0:
            try:
                written = os.write(self._master, self._pending)
            except BlockingIOError:
                break
            except OSError as exc:
                log.info("writing to the console's PTY: %r", exc)
                self._pending.clear()
                break
            del self._pending[:written]
        if self._pending and not self._writing and self._master >= 0:
            loop.add_writer(self._master, self._flush)
            self._writing = True
        elif not self._pending and self._writing:
            loop.remove_writer(self._master)
            self._writing = False
        if len(self._pending) >= INPUT_LIMIT and not self._input_paused:
            self._input_paused = True
            self.sink.pause_input()
        elif len(self._pending) < INPUT_LIMIT // 2 and self._input_paused:
            self._input_paused = False
            self.sink.resume_input()

    def resize(self, size: TermSize) -> None:
        self.size = size
        if self._master >= 0:
            set_size(self._master, size)

    # --- the end -------------------------------------------------------------------------

    def _close_master(self) -> None:
        if self._master < 0:
            return
        loop = asyncio.get_running_loop()
        if self._reading:
            loop.remove_reader(self._master)
        if self._writing:
            loop.remove_writer(self._master)
        self._reading = self._writing = False
        os.close(self._master)
        self._master = -1

    async def stop(self) -> None:
        """Hang up: SIGHUP to the console's process group, SIGKILL if it lingers."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGHUP)
        try:
            await within(STOP_GRACE, process.wait())
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
