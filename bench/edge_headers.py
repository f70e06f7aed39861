"""What the security headers cost an answer, in CPU microseconds, beside what an answer costs.

    .venv/bin/python bench/edge_headers.py            # 20,000 answers a case, best of 5

Three cases, each driven straight through ASGI in one process (no sockets, so nothing but the
code is measured), CPU time (`time.process_time`) per answer:

- bare: a minimal ASGI app answering a small JSON body (the baseline);
- headers: the same app behind `SecurityHeaders` (the middleware's own cost is the difference);
- app: `GET /api/v1/health` through the whole Freshline app (its cheapest answer, middleware
  included): the share the headers take of a real answer. A write costs far more than this
  (a transaction), so its share there is smaller still.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from asgi_lifespan import LifespanManager

from backend.app import create_app
from backend.edge.headers import SecurityHeaders
from backend.settings import Settings

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b'{"status":"ok"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def scope_for(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8765),
    }


async def per_answer_us(app: Asgi, path: str, answers: int, repeats: int) -> float:
    """Best of `repeats` runs of `answers` answers: CPU microseconds an answer."""
    scope = scope_for(path)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(answers):
            await app(dict(scope), receive, send)
        best = min(best, time.process_time() - started)
    assert set(statuses) == {200}, set(statuses)
    return best / answers * 1e6


async def main(answers: int, repeats: int) -> None:
    baseline = await per_answer_us(bare, "/", answers, repeats)
    headed = await per_answer_us(SecurityHeaders(bare), "/", answers, repeats)
    with tempfile.TemporaryDirectory(prefix="freshline-bench-edge-") as folder:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}",
            auto_dispatch=False,
            alerts=False,
        )
        app = create_app(settings)
        async with LifespanManager(app) as manager:
            whole = await per_answer_us(manager.app, "/api/v1/health", answers // 4, repeats)
    cost = headed - baseline
    print(f"answers a case: {answers} (the app: {answers // 4}), best of {repeats}")
    print(f"bare ASGI answer:            {baseline:7.2f} us CPU")
    print(f"behind SecurityHeaders:      {headed:7.2f} us CPU  (x{headed / baseline:.2f} bare)")
    print(f"the headers' own cost:       {cost:7.2f} us CPU an answer")
    print(f"GET /health, the whole app:  {whole:7.2f} us CPU  (headers: {cost / whole:.1%} of it)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.answers, args.repeats))
