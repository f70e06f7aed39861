"""The commands against a real backend (`freshline serve --demo` on a loopback port): a burst
`:assign N li-fang<Enter>` typed at the console assigns the order, and `freshline act` (the
installed script) does what the console's commands do, as the signed-in user, with the same
refusals: exit 2 for a wrong command, 1 for one the account or the server refuses."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from backend_client.models import OrderState
from console.app import FreshlineApp
from screens.board import BoardScreen
from tests.console.conftest import until
from tests.console.test_command_line import burst
from tests.console.test_console_live import notes_of
from tests.servers import FRESHLINE, clean_env
from tests.stream_support import Actors, LiveServer, ago

pytestmark = pytest.mark.slow  # a real backend per test

LI_FANG = 1
"""The demo city's rider 1 (WH-CY, Chaoyang)."""
WH_CY = (39.9334, 116.455)


async def act(
    backend: LiveServer, tmp_path: Path, user: str, *words: str
) -> tuple[int, dict[str, Any], str]:
    """`freshline act --json WORDS` as `user`: (exit status, the JSON answer, standard error)."""
    assert FRESHLINE is not None, "the freshline console script is not installed (pip install -e .)"
    env = clean_env(tmp_path, FRESHLINE_PASSWORD=f"demo-{user}")
    arguments = [FRESHLINE, "act", "--server", backend.base_url, "--user", user, "--json", *words]
    done = await asyncio.to_thread(
        subprocess.run,
        arguments,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, json.loads(done.stdout), done.stderr


async def test_a_burst_typed_at_the_console_assigns_the_order(
    backend: LiveServer, actors: Actors
) -> None:
    order = await actors.picking()
    await actors.online(LI_FANG)
    app = FreshlineApp(server=backend.base_url, token=await actors.token("dispatcher"))
    async with app.run_test(size=(120, 36)) as pilot:
        notes = notes_of(app)
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, BoardScreen)
                and order.id in app.store.orders
                and LI_FANG in app.store.riders
            ),
            "the board with the order and the riders",
        )
        burst(app, f":assign {order.id} li-fang")
        await until(pilot, lambda: any("given to Li Fang" in n for n in notes), "the answer")
        await until(
            pilot, lambda: app.store.orders[order.id].rider_id == LI_FANG, "the stream's change"
        )
    dispatcher = await actors("dispatcher")
    assert (await dispatcher.orders.get(order.id)).rider_id == LI_FANG
    assigned = [e for e in backend.log() if e["kind"] == "order.assigned"][-1]
    assert (assigned["order_id"], assigned["actor"]) == (order.id, "dispatcher")  # audited


async def test_act_does_what_the_console_does_as_the_user_and_refuses_with_the_reason(
    backend: LiveServer, actors: Actors, tmp_path: Path
) -> None:
    order = await actors.picking()
    untouched = await actors.picking()
    await actors.online(LI_FANG)
    await actors.position(LI_FANG, *WH_CY, ago(5))
    before = len(backend.log())
    gate = asyncio.Semaphore(4)

    async def refused(user: str, words: tuple[str, ...], code: int, reason: str) -> None:
        async with gate:
            status, answer, _ = await act(backend, tmp_path, user, *words)
        assert (status, answer["ok"]) == (code, False), (words, answer)
        assert reason in answer["reason"], (words, answer)

    wrong, denied = 2, 1  # the words themselves: tests/console/test_command_words.py
    await asyncio.gather(
        *(
            refused(user, words, code, reason)
            for user, words, code, reason in (
                ("viewer", ("assign", str(untouched.id), "li-fang"), denied, "not for this"),
                ("dispatcher", ("assign", str(untouched.id), "nobody"), wrong, "no rider called"),
                ("dispatcher", ("cancel", str(untouched.id), "called"), wrong, "Add --yes"),
                ("dispatcher", ("orders", "late"), wrong, "works on the console only"),
                ("dispatcher", ("frobnicate",), wrong, "there is no command `frobnicate`"),
                ("dispatcher", ("reassign", str(untouched.id)), wrong, "to whom?"),
                ("dispatcher", ("move", "li-fang", "Atlantis"), wrong, "no zone `Atlantis`"),
                ("dispatcher", ("sign", str(untouched.id), "--yes"), denied, "PICKING"),  # 409
                ("dispatcher", ("assign", "999999", "li-fang"), denied, "no order 999999"),
            )
        )
    )
    assert len(backend.log()) == before  # nothing was written
    dispatcher = await actors("dispatcher")
    assert (await dispatcher.orders.get(untouched.id)).rider_id is None

    code, answer, _ = await act(backend, tmp_path, "dispatcher", "order", str(order.id),
                                "reassign", "--best")  # fmt: skip
    assert code == 0, answer
    assert answer["ok"] is True and answer["command"] == "reassign"
    assert answer["rider_id"] == LI_FANG and answer["rider"] == "Li Fang"
    assert answer["answer"].startswith(f"Order {order.id} given to Li Fang")
    assert (await dispatcher.orders.get(order.id)).rider_id == LI_FANG
    assigned = [e for e in backend.log() if e["kind"] == "order.assigned"][-1]
    assert (assigned["order_id"], assigned["actor"]) == (order.id, "dispatcher")  # audited

    # The lifecycle as on the console: the dispatcher sends it out for delivery.
    code, answer, _ = await act(backend, tmp_path, "dispatcher", "dispatch", str(order.id))
    assert code == 0, answer
    assert answer["status"] == OrderState.DELIVERING
