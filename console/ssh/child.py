"""The child process of one SSH session: the PTY becomes its controlling terminal (so a resize
reaches it as SIGWINCH), then it is the `freshline` console, or `freshline wall`.

Run as `python -m console.ssh.child [wall]` with the PTY on stdin/stdout/stderr, in a session
of its own (`start_new_session=True`); the server and token come from the environment.
"""

from __future__ import annotations

import fcntl
import sys
import termios


def main() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    from console.cli import main as freshline

    sys.argv = ["freshline", *sys.argv[1:]]
    freshline()


if __name__ == "__main__":
    main()
