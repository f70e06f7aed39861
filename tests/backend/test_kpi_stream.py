"""The stream's `kpi` topic against a real `freshline serve`: a summary pushed every few seconds
to desk roles (at once to a newcomer), following what happens, filtered like the subscription,
and refused to scoped roles."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend_client.models import KpiMessage, KpiSummary
from tests.stream_support import (
    Actors,
    Subscriber,
    connect,
    live_server,
    make_demo_database,
    recv_json,
    send_hello,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kpi-stream-template") / "f.db"
    asyncio.run(make_demo_database(path))
    return path


def summaries(subscriber: Subscriber) -> list[dict]:
    return [m["summary"] for m in subscriber.messages if m["type"] == "kpi"]


async def test_kpi_summaries_are_pushed_to_the_desk_and_follow_the_city(
    tmp_path: Path, template: Path
) -> None:
    async with (
        live_server(tmp_path, template, kpi_push_seconds=0.5, kpi_push_window_minutes=30) as server,
        Actors(server.base_url) as actors,
    ):
        url = server.ws_url
        viewer = await Subscriber.open(url, await actors.token("viewer"), ["kpi"])
        desk = await Subscriber.open(
            url, await actors.token("dispatcher"), ["orders", "kpi"], zone="Chaoyang"
        )
        try:
            assert viewer.welcome["topics"] == ["kpi"]
            # A newcomer is greeted at once, not at the next round.
            await viewer.wait_for(lambda s: bool(summaries(s)), 2.0, "the first summary")
            first = summaries(viewer)[0]
            window = KpiSummary.model_validate(first).window
            assert (window.end - window.start).total_seconds() == 30 * 60
            assert first["current"]["orders"] == 0

            await actors.paid("WH-CY")  # Chaoyang
            await actors.paid("WH-HD")  # Haidian
            await viewer.wait_for(
                lambda s: summaries(s)[-1]["current"]["orders"] == 2, 5.0, "two orders counted"
            )
            await desk.wait_for(
                lambda s: bool(summaries(s)) and summaries(s)[-1]["current"]["orders"] == 1,
                5.0,
                "the Chaoyang order alone",
            )
            assert summaries(desk)[-1]["window"]["zone"] == "Chaoyang"
            assert desk.events, "orders and kpi on one connection"
            assert not viewer.events, "the kpi topic carries no events"
            # Every few seconds, whether or not anything happened.
            count = len(summaries(viewer))
            await viewer.wait_for(lambda s: len(summaries(s)) >= count + 2, 3.0, "more rounds")
        finally:
            await viewer.aclose()
            await desk.aclose()

        # Scoped roles may not have it (as REST's kpi:read).
        ws = await connect(url, await actors.token("merchant-wh-cy"))
        await send_hello(ws, ["kpi"])
        message = await recv_json(ws)
        assert (message["type"], message["code"]) == ("error", 4403)
        await ws.close()

        # The stream hands each summary out, typed.
        received: list[KpiSummary] = []
        client = await actors("supervisor")
        consumer = client.stream(["kpi"])

        async def read() -> None:
            async for message in consumer:
                if isinstance(message, KpiMessage):
                    received.append(message.summary)

        task = asyncio.create_task(read())
        try:
            for _ in range(100):
                if received:
                    break
                await asyncio.sleep(0.05)
            assert received and received[-1].current.orders == 2
        finally:
            consumer.stop()
            await asyncio.wait_for(task, 5)
