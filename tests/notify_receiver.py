"""A notification gateway for the tests: a real HTTP server in a process of its own.

It checks each POST's signature (`backend_client/signing.py`) and takes each idempotency key
once: a new message is appended to `--log` (one JSON line, flushed to disk before the answer),
a repeat is answered 200 and noted in `--log`.dups. What it took survives its restarts: it
reads its log again when it starts. `--die-after N` makes it exit the moment it has written
its Nth new message, before answering: the answer the sender never gets.

    python -m tests.notify_receiver --port 8099 --secret s --log taken.jsonl [--die-after 3]
"""

from __future__ import annotations

import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from backend_client.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, matches


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--die-after", type=int, default=0)
    args = parser.parse_args()
    log: Path = args.log
    dups = log.with_suffix(log.suffix + ".dups")
    taken = set()
    if log.exists():
        taken = {json.loads(line)["key"] for line in log.read_text().splitlines() if line}
    new_here = 0

    def append(path: Path, record: dict[str, object]) -> None:
        with path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\n")
            file.flush()
            os.fsync(file.fileno())

    class Gateway(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(200, {"status": "ok"})

        def do_POST(self) -> None:
            nonlocal new_here
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            stamp = self.headers.get(TIMESTAMP_HEADER, "")
            claimed = self.headers.get(SIGNATURE_HEADER, "")
            if not stamp.isdigit() or not matches(args.secret, int(stamp), body, claimed):
                self._answer(401, {"detail": "bad signature"})
                return
            key = self.headers.get("Idempotency-Key", "")
            message = json.loads(body)
            if key in taken:
                append(dups, {"key": key})
                self._answer(200, {"duplicate": True})
                return
            append(
                log,
                {
                    "key": key,
                    "id": message["id"],
                    "order": message["order"],
                    "rule": message["rule"],
                    "to": message["to"],
                },
            )
            taken.add(key)
            new_here += 1
            if args.die_after and new_here >= args.die_after:
                os._exit(3)  # taken, and the answer is never sent
            self._answer(200, {"taken": True})

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

    # One request at a time: a key is taken once, whatever two senders do at the same moment.
    HTTPServer(("127.0.0.1", args.port), Gateway).serve_forever()


if __name__ == "__main__":
    main()
