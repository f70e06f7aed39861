"""The console on a store filled by hand (no backend, a frozen clock), for tests that type at
it in a real terminal: `python -m tests.console.desk_app LOG_FILE`.

The board and the exception queue hold the snapshot tests' orders and alerts. Nothing prints:
the console draws on the terminal and logs to LOG_FILE.
"""

from __future__ import annotations

import sys
from pathlib import Path

from console.launch import log_to
from tests.console.test_snapshots import queue_app


def main() -> None:
    log_to(Path(sys.argv[1]))
    queue_app().run()


if __name__ == "__main__":
    main()
