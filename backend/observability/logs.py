"""Log lines: one JSON object per line (`log_format = "json"`), or the plain text of old.

Every record is stamped with the request it was logged in (`RequestFields`): its id, the
caller and role, the order its path names; fields that do not apply are left out. uvicorn's
access line becomes structured too (`client`, `method`, `path`, `status`), its path already
redacted (`backend/log_redaction.py` rewrites the record's arguments before any handler sees
it, and this formatter reads them after). Standard library only: `backend/process.py` sets it
up for the simulator as well.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from backend.observability.context import current

CONTEXT_FIELDS = ("request_id", "user", "role", "order_id")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ACCESS_LOGGER = "uvicorn.access"


class RequestFields(logging.Filter):
    """Stamps each record with the fields of the request under way (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current()
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):  # given by the caller (`extra=`): theirs stands
                setattr(record, name, None if context is None else getattr(context, name))
        return True


class JsonLines(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.name == ACCESS_LOGGER:
            line.update(_access_fields(record.args))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def _access_fields(args: Any) -> dict[str, Any]:
    """uvicorn's `'%s - "%s %s HTTP/%s" %d'` arguments as fields."""
    if isinstance(args, tuple) and len(args) == 5:
        client, method, path, http_version, status = args
        return {
            "client": client,
            "method": method,
            "path": path,
            "http_version": http_version,
            "status": status,
        }
    return {}


class PlainLines(logging.Formatter):
    """The plain format, with the request id after the level when there is one."""

    def __init__(self) -> None:
        super().__init__(PLAIN_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        if request_id is None:
            return text
        head, _, rest = text.partition(f" {record.name}: ")
        return f"{head} [{request_id}] {record.name}: {rest}"


def formatter_for(log_format: str) -> logging.Formatter:
    """`json` or `plain`."""
    if log_format == "json":
        return JsonLines()
    if log_format == "plain":
        return PlainLines()
    raise ValueError(f"unknown log format {log_format!r}: json or plain")
