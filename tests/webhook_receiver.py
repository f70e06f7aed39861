"""A webhook receiver for the tests: a real HTTP server that keeps what it accepted.

`python -m tests.webhook_receiver PORT FILE` serves until killed. Each delivery of a POST is
written to FILE (one JSON line: delivery id, seq, and the request's signature headers and
body) and flushed to disk before the 200, once per delivery id: a repeat (the backend did not
hear our 200 before we were killed) is noted in `FILE.repeats`, not written again. Restarted
on the same FILE, it knows what it accepted before, as a receiver that drops repeats by id
would.

In-process, `Receiver` runs the same handler on a thread, answering `status` (200 unless told).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from backend_client.signing import WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER


def repeats(file: Path) -> list[str]:
    """The ids delivered again after they were accepted, in the order they came."""
    path = Path(f"{file}.repeats")
    return path.read_text().split() if path.exists() else []


def accepted(file: Path) -> list[dict[str, Any]]:
    """Every delivery accepted so far, in the order it arrived."""
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]


class Store:
    """What the receiver accepted, on disk and in memory."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.seen = {record["id"] for record in accepted(file)}
        self.status = 200
        self.lock = threading.Lock()

    def take(self, headers: Any, body: bytes) -> int:
        with self.lock:
            if self.status != 200:
                return self.status
            batch = json.loads(body)
            with open(self.file, "a") as out, open(f"{self.file}.repeats", "a") as repeats:
                for delivery in batch["deliveries"]:
                    if delivery["id"] in self.seen:
                        repeats.write(delivery["id"] + "\n")
                        continue
                    record = {
                        "id": delivery["id"],
                        "seq": delivery["seq"],
                        "timestamp": headers.get(WEBHOOK_TIMESTAMP_HEADER),
                        "signature": headers.get(WEBHOOK_SIGNATURE_HEADER),
                        "body": body.decode(),
                    }
                    out.write(json.dumps(record) + "\n")
                    self.seen.add(delivery["id"])
                out.flush()
                os.fsync(out.fileno())
            return 200


def handler_for(store: Store) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = store.take(self.headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:  # quiet: the file is the record
            return

    return Handler


class Receiver:
    """The receiver on a thread of the test process, on a free loopback port."""

    def __init__(self, file: Path) -> None:
        self.store = Store(file)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self.store))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[dict[str, Any]]:
        return accepted(self.store.file)


def main() -> None:
    port, file = int(sys.argv[1]), Path(sys.argv[2])
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(Store(file)))
    server.serve_forever()


if __name__ == "__main__":
    main()
