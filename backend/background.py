"""Loops a backend instance runs beside its requests (the auto-dispatch sweep, the alert
engine): started with the app, cancelled when it stops."""

from __future__ import annotations

import asyncio

from backend_client import cancel_and_wait


class BackgroundLoop:
    """`_run()` as a task of its own between `start()` and `stop()`."""

    name = "background"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError
