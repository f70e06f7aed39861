"""Webhook delivery lag at the peak load with 10 subscriptions, beside the stream's own
commit -> client latency measured in the same run (benchmark 10).

    .venv/bin/python bench/webhook_lag.py [--scale 1] [--seconds 30] [--subscriptions 10]

A real `freshline serve --demo` (temporary SQLite) takes the peak load of `stream_load.py`
(riders' fixes, order changes through REST, paced); `--subscriptions` subscriptions to
`order.*` post every order event to a receiver in its own process (a minimal HTTP/1.1 server
on asyncio that answers 200 and notes when each delivery arrived, by the system-wide monotonic
clock), while raw WebSocket subscribers on `orders` note when the same events reach them. For
every change the driver notes when its answer arrived (the commit happened before it):

- webhook lag = arrival at the receiver - answer, per subscription and change;
- the baseline, commit -> client = arrival on the stream - answer, in the same run.

Both can be negative (the event beat the answer), which makes their ratio meaningless when
the stream's is: so both are given from the request's sending too (send -> receiver beside
send -> client), always positive. Also: deliveries lost (a change some
subscription never got within the grace period) and the server's CPU per change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, cpu_seconds, free_port, percentile, post, serving_process, stop
from bench.stream_load import GRACE_S, PEAK, Load, drive, prepare
from bench.stream_watchers import Subscriber

SUBSCRIPTIONS = 10
STREAM_SUBSCRIBERS = 3


# --- The receiver (its own process) -------------------------------------------------------------


async def _serve_deliveries(port: int, out: Path) -> None:
    """Answer every POST 200 and note (path, arrival, body); dump them to `out` on SIGTERM."""
    got: list[tuple[str, float, bytes]] = []

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *headers = head.decode("latin-1").split("\r\n")
                length = 0
                for header in headers:
                    name, _, value = header.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                method, path = line.split(" ")[:2]
                if method == "POST":
                    got.append((path, time.monotonic(), body))
                    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                else:  # GET: how many arrived so far
                    count = str(len(got)).encode()
                    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (
                        len(count),
                        count,
                    )
                writer.write(answer)
                await writer.drain()

    server = await asyncio.start_server(connection, "127.0.0.1", port)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await stopping.wait()
    rows = []
    for path, at, body in got:
        for delivery in json.loads(body)["deliveries"]:
            event = delivery["event"]
            version = event["payload"].get("version")
            rows.append([path, at, event["order_id"], version, event["seq"]])
    await asyncio.to_thread(out.write_text, json.dumps(rows))
    # Gone at once: open keep-alive connections need no goodbye, and the notes are written.
    server.close()
    os._exit(0)


@contextlib.contextmanager
def receiver(run_dir: Path) -> Any:
    """The receiver in its own process; yields (its base URL, where its notes will be)."""
    port, out = free_port(), run_dir / "deliveries.json"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "webhook_lag.py"), "--receiver", str(port), str(out)],
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                stop(process)
                raise SystemExit("the webhook receiver did not start") from None
            time.sleep(0.05)  # polling: not listening yet
    try:
        yield url, out, process
    finally:
        stop(process)


# --- One run ------------------------------------------------------------------------------------


async def _lagging(http: httpx.AsyncClient, admin: dict[str, str]) -> int:
    answer = await http.get("/api/v1/webhooks", headers=admin)
    answer.raise_for_status()
    return sum(hook["lag"] for hook in answer.json())


async def measure_hooks(
    base_url: str, pid: int, receiver_url: str, load: Load, subscriptions: int
) -> dict[str, Any]:
    city = await prepare(base_url, load.riders)
    admin = city.tokens["admin"]
    token = city.tokens["dispatcher"]["Authorization"].split()[1]
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        for n in range(subscriptions):
            body = {"url": f"{receiver_url}/hook/{n}", "kinds": ["order.*"]}
            await post(http, admin, "/webhooks", body)
        ws = base_url.replace("http", "ws", 1) + "/api/v1/stream"
        streams = [Subscriber(ws, token, ["orders"]) for _ in range(STREAM_SUBSCRIBERS)]
        async with contextlib.AsyncExitStack() as stack:
            for stream in streams:
                await stack.enter_async_context(stream)
            cpu_before = cpu_seconds(pid)
            driven = await drive([base_url], city, load, {})
            cpu_after = cpu_seconds(pid)
            keys = [(c.order_id, c.version) for c in driven.changes]
            deadline = time.monotonic() + GRACE_S
            # Caught up: every subscription's cursor at the log's head, every stream event in.
            while time.monotonic() < deadline and (  # noqa: ASYNC110
                await _lagging(http, admin)
                or any(k not in s.arrivals for s in streams for k in keys)
            ):
                await asyncio.sleep(0.1)  # polling the catch-up, not waiting for an event
    answered = {(c.order_id, c.version): c.answered for c in driven.changes}
    sent = {(c.order_id, c.version): c.sent for c in driven.changes}
    to_client = [s.arrivals[k] - answered[k] for s in streams for k in keys if k in s.arrivals]
    from_send = [s.arrivals[k] - sent[k] for s in streams for k in keys if k in s.arrivals]
    return {
        "keys": keys,
        "answered": answered,
        "sent": sent,
        "to_client": to_client,
        "send_to_client": from_send,
        "stream_lost": sum(1 for s in streams for k in keys if k not in s.arrivals),
        "changes": len(keys),
        "seconds": driven.seconds,
        "failures": driven.failures[:5],
        "failure_count": len(driven.failures),
        "server_cpu_s": cpu_after - cpu_before,
    }


def lags(result: dict[str, Any], notes: list[list[Any]], subscriptions: int) -> dict[str, Any]:
    """Each change's delivery lag on each subscription, and what never arrived."""
    first: dict[tuple[str, int, int], float] = {}
    order: dict[str, list[int]] = {}
    for path, at, order_id, version, seq in notes:
        first.setdefault((path, order_id, version), at)
        order.setdefault(path, []).append(seq)
    answered, sent = result["answered"], result["sent"]
    delivered, from_send, lost = [], [], 0
    for n in range(subscriptions):
        for key in result["keys"]:
            at = first.get((f"/hook/{n}", *key))
            if at is None:
                lost += 1
            else:
                delivered.append(at - answered[key])
                from_send.append(at - sent[key])
    out_of_order = sum(1 for seqs in order.values() for a, b in itertools.pairwise(seqs) if b < a)
    return {"lag": delivered, "send_lag": from_send, "lost": lost, "out_of_order": out_of_order}


def run(load: Load, subscriptions: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="freshline-bench-hooks-") as folder:
        run_dir = Path(folder)
        url = f"sqlite+aiosqlite:///{run_dir / 'hooks.db'}"
        env = {"FRESHLINE_AUTO_DISPATCH": "false"}
        with (
            receiver(run_dir) as (receiver_url, notes_file, process),
            serving_process(url, run_dir / "server", env) as (base_url, server),
        ):
            result = asyncio.run(
                measure_hooks(base_url, server.pid, receiver_url, load, subscriptions)
            )
            stop(process)
            notes = json.loads(notes_file.read_text())
    result |= lags(result, notes, subscriptions)
    return result


def summary(result: dict[str, Any], subscriptions: int) -> dict[str, Any]:
    lag, stream = result["lag"], result["to_client"]
    changes = max(1, result["changes"])
    return {
        "subscriptions": subscriptions,
        "changes": result["changes"],
        "events_per_s": result["changes"] / result["seconds"] if result["seconds"] else 0.0,
        "webhook_lag_p50_ms": percentile(lag, 50) * 1000,
        "webhook_lag_p99_ms": percentile(lag, 99) * 1000,
        "stream_p50_ms": percentile(stream, 50) * 1000,
        "stream_p99_ms": percentile(stream, 99) * 1000,
        "webhook_send_to_receiver_p99_ms": percentile(result["send_lag"], 99) * 1000,
        "stream_send_to_client_p99_ms": percentile(result["send_to_client"], 99) * 1000,
        "deliveries_lost": result["lost"],
        "deliveries_out_of_order": result["out_of_order"],
        "stream_lost": result["stream_lost"],
        "server_cpu_ms_per_change": result["server_cpu_s"] * 1000 / changes,
        "failures": result["failures"],
        "failure_count": result["failure_count"],
    }


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--receiver":
        asyncio.run(_serve_deliveries(int(sys.argv[2]), Path(sys.argv[3])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the peak load")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the load runs")
    parser.add_argument("--subscriptions", type=int, default=SUBSCRIPTIONS)
    args = parser.parse_args()
    load = PEAK.scaled(args.scale, args.seconds)
    print(f"webhook lag: {load.describe()}, {args.subscriptions} subscriptions", flush=True)
    figures = summary(run(load, args.subscriptions), args.subscriptions)
    print(json.dumps(figures, indent=2))
    return 1 if figures["deliveries_lost"] or figures["deliveries_out_of_order"] else 0


if __name__ == "__main__":
    sys.exit(main())
