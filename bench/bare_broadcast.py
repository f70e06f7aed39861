"""The baseline of commit -> client: a bare `websockets` server broadcasting messages shaped and
sized like Freshline's events and positions, at the same rates, on loopback.

    python bench/bare_broadcast.py --port P --events-per-s R --positions-per-s F

A subscriber sends `{"type": "hello", ...}` and gets a welcome; a control connection sends
`{"type": "start", "seconds": S}`, and is answered `done` when S seconds of broadcasting are
over. Each event carries `sent` (`time.monotonic()` just before it went out; the clock is the
machine's, shared by every process), so a subscriber's latency is its arrival time minus that.
Prints `{"events": N}` as its last line when done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import websockets

EVENT = {
    "type": "bare",
    "prev_seq": 0,
    "seq": 0,
    "kind": "order.transition",
    "order_id": 0,
    "rider_id": 3,
    "warehouse_id": "WH-CY",
    "from_state": "PICKING",
    "to_state": "DELIVERING",
    "actor": "dispatcher",
    "role": "dispatcher",
    "client_addr": "127.0.0.1",
    "at": "2026-11-22T10:41:07.123456+00:00",
    "reason": None,
    "payload": {"action": "dispatch", "version": 5, "channel": "app", "zone": "Chaoyang"},
}
POSITION = {
    "type": "position",
    "rider_id": 3,
    "warehouse_id": "WH-CY",
    "lat": 39.931234,
    "lng": 116.451234,
    "at": "2026-11-22T10:41:00.123456+00:00",
}


async def main(port: int, events_per_s: float, positions_per_s: float) -> None:
    subscribers: set = set()
    sent = 0

    async def broadcast(seconds: float) -> None:
        nonlocal sent
        started = time.monotonic()
        end = started + seconds

        async def events() -> None:
            nonlocal sent
            n = 0
            while (due := started + n / events_per_s) < end:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                n += 1
                message = EVENT | {"id": n, "seq": n, "prev_seq": n - 1, "order_id": n}
                message["sent"] = time.monotonic()
                websockets.broadcast(subscribers, json.dumps(message))
                sent = n

        async def positions() -> None:
            tick = 0
            while (due := started + tick) < end:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                tick += 1
                for rider in range(round(positions_per_s)):
                    websockets.broadcast(subscribers, json.dumps(POSITION | {"rider_id": rider}))

        await asyncio.gather(events(), positions())

    async def handler(connection) -> None:
        first = json.loads(await connection.recv())
        if first["type"] == "start":
            await broadcast(first["seconds"])
            await asyncio.sleep(0.2)
            await connection.send("done")
            print(json.dumps({"events": sent}), flush=True)
            return
        await connection.send(json.dumps({"type": "welcome", "last_seq": 0}))
        subscribers.add(connection)
        try:
            async for _ in connection:  # heartbeats
                pass
        finally:
            subscribers.discard(connection)

    async with websockets.serve(handler, "127.0.0.1", port, compression=None):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--events-per-s", type=float, required=True)
    parser.add_argument("--positions-per-s", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.events_per_s, args.positions_per_s))
