"""What a Freshline process started from the command line sets up for itself: where its logs go,
and stopping when the parent that started it dies (the demo's backend and simulator).

Standard library only: the backend (`python -m backend`) and the simulator (`python -m
backend.sim`) both use it, and the simulator imports nothing else of the backend.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading


def configure_logging(
    log_file: str | None, *, level: int = logging.INFO, log_format: str = "plain"
) -> None:
    """Everything the process logs (uvicorn's records too) goes to `log_file`, else stderr:
    one JSON object a line (`json`) or text (`plain`), each stamped with the request it was
    logged in (`backend/observability/logs.py`)."""
    from backend.observability.logs import RequestFields, formatter_for

    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler()
    )
    handler.setFormatter(formatter_for(log_format))
    handler.addFilter(RequestFields())
    logging.basicConfig(level=level, handlers=[handler], force=True)


def exit_when_stdin_closes() -> None:
    """A child of the demo: when the parent's pipe closes (it died), shut down gracefully."""

    def watch() -> None:
        # The raw descriptor, not sys.stdin's buffer: a process ending by itself must not find
        # this thread holding the buffer's lock at shutdown (a fatal error).
        while os.read(sys.stdin.fileno(), 4096):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
