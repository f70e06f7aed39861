"""The command registry alone (no Textual, no server): how lines are read, what is refused and
why (nothing sent), what completes, and how the commands that change something talk to the API
(a stand-in transport that records every request)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from backend_client import FreshlineClient
from backend_client.models import OrderState, Role
from console.command_line import (
    REGISTRY,
    Arg,
    Command,
    CommandDenied,
    CommandRefused,
    Kind,
    Parsed,
    Registry,
    Session,
    Words,
    complete,
    parse,
    slug,
)
from console.commands import COMMANDS
from tests.console.sample_apps import queue_app
from tests.console.samples import me_as, order

WORDS = Words(
    zone_names=["Chaoyang", "Haidian", "Wangjing"],
    rider_names={1: "Li Fang", 2: "Li Na", 3: "Zhang Lei", 4: "Zhang Leilei"},
    order_ids=[8, 80, 81, 9],
    alert_ids=[12],
)
DISPATCHER = me_as(Role.DISPATCHER, "dispatcher")


def read(line: str, *, me: Any = DISPATCHER, console: bool = True) -> Parsed:
    return parse(line, REGISTRY, WORDS, me, console=console)


@pytest.mark.parametrize(
    ("line", "name", "values", "flags"),
    [
        (":assign 8 li-fang", "assign", {"order": 8, "rider": 1}, set()),
        ("assign #8 #3", "assign", {"order": 8, "rider": 3}, set()),
        ("assign 8 Li-Fang", "assign", {"order": 8, "rider": 1}, set()),
        ("assign 8 zhang-lei", "assign", {"order": 8, "rider": 3}, set()),  # exact beats start
        ("assign 8 zhang-leil", "assign", {"order": 8, "rider": 4}, set()),
        ("ass 8 li-n", "assign", {"order": 8, "rider": 2}, set()),
        ("order 8 reassign --best", "reassign", {"order": 8}, {"best"}),
        (
            "order 8 cancel 'customer called' --yes",
            "cancel",
            {"order": 8, "reason": "customer called"},
            {"yes"},
        ),
        (
            "cancel 8 customer called twice",
            "cancel",
            {"order": 8, "reason": "customer called twice"},
            set(),
        ),
        ("orders zone=haidian late", "orders", {"zone": "Haidian"}, {"late"}),
        ("orders --zone Haidian --late", "orders", {"zone": "Haidian"}, {"late"}),
        ("orders late wang", "orders", {"search": "wang"}, {"late"}),
        ("riders silent", "riders", {}, {"silent"}),
        ("alerts mine", "alerts", {}, {"mine"}),
        (
            "alerts faults severity=critical zone=wangjing",
            "alerts",
            {"severity": "critical", "zone": "Wangjing"},
            {"faults"},
        ),
        ("order 8", "order", {"order": 8}, set()),
        (
            "snooze 12 30 back at noon",
            "snooze",
            {"alert": 12, "minutes": 30, "note": "back at noon"},
            set(),
        ),
        ("alert 12 ack on my way", "ack", {"alert": 12, "note": "on my way"}, set()),
        ("rider li-fang move haid", "move", {"rider": 1, "zone": "Haidian"}, set()),
        ("ack", "ack", {}, set()),  # bare: the alert under the cursor
    ],
)
def test_lines_are_read_into_checked_values(
    line: str, name: str, values: dict[str, object], flags: set[str]
) -> None:
    parsed = read(line)
    assert (parsed.command.name, parsed.values, set(parsed.flags)) == (name, values, flags)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "type a command"),
        (":", "type a command"),
        ("frobnicate", "there is no command `frobnicate`; `help` lists them all"),
        ("asign 8 li-fang", "did you mean `assign`"),
        ("re 8", "`re` could be `reassign`, `report-out-of-stock`, `restock`"),
        ("assign", "`assign` needs an order id: assign ORDER RIDER"),
        ("assign 8", "`assign` needs a rider: assign ORDER RIDER"),
        ("assign eight li-fang", "`eight` is not an order id"),
        ("assign 0 li-fang", "`0` is not an order id"),
        ("assign -3 li-fang", "`-3` is not an order id"),
        ("assign 99999999999999 li-fang", "is not an order id"),
        ("assign 8 li", "`li` could be li-fang (#1), li-na (#2): say which"),
        ("assign 8 nobody", "there is no rider called `nobody`"),
        ("assign 8 li-fan-x", "did you mean `li-fang`?"),
        ("assign 8 #99", "there is no rider #99"),
        ("assign 8 li-fang extra", "`extra` is one word too many"),
        ("assign 8 li-fang --bogus", "`assign` has no switch `--bogus`"),
        ("assign 8 li-fang colour=red", "`assign` has no option `colour=`"),
        ("reassign 8", "to whom? `reassign 8 RIDER`, or `--best`"),
        ("reassign 8 li-fang --best", "give a rider or --best, not both"),
        ("cancel 8", "`cancel` needs a reason"),
        ("cancel 8 'unclosed", "a quote is not closed"),
        ("snooze 12", "`snooze` needs a number (minutes)"),
        ("snooze 12 0", "minutes must be from 1 to 1440, not 0"),
        ("snooze 12 soon", "minutes must be a whole number, not `soon`"),
        ("snooze 12 99999", "minutes must be from 1 to 1440, not 99999"),
        (
            "orders zone=Atlantis",
            "there is no zone `Atlantis` (zones: Chaoyang, Haidian, Wangjing)",
        ),
        ("orders zone=Haidan", "did you mean Haidian?"),
        ("orders zone=Haidian zone=Chaoyang", "`zone=` is given twice"),
        ("orders --zone", "`--zone` needs a value"),
        (
            "orders colour=red",
            "`orders` has no option `colour=` (it takes: zone=, channel=, warehouse=)",
        ),
        ("alerts severity=loud", "severity is one of critical, warning, info; not `loud`"),
        ("order 8 frobnicate", "`frobnicate` is one word too many"),
        ("move li-fang", "`move` needs a zone"),
        ("ack 12 " + "x" * 501, "note is longer than 500 characters"),
    ],
)
def test_bad_lines_are_refused_with_a_reason(line: str, reason: str) -> None:
    with pytest.raises(CommandRefused) as refused:
        read(line)
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    ("role", "line", "reason"),
    [
        (Role.VIEWER, "assign 8 li-fang", "reassigning riders is for dispatchers and supervisors"),
        (Role.VIEWER, "cancel 8 no", "a viewer account watches"),
        (Role.VIEWER, "ack 12", "a viewer account watches"),
        (Role.SUPPORT, "move li-fang Haidian", "moving riders between zones is for dispatchers"),
        (Role.DISPATCHER, "approve", "returns and claims are decided by support"),
    ],
)
def test_what_the_account_may_not_do_is_refused_before_anything_is_sent(
    role: Role, line: str, reason: str
) -> None:
    with pytest.raises(CommandDenied) as denied:
        read(line, me=me_as(role))
    assert f"is not for this account: {reason}" in denied.value.reason


def test_act_takes_only_what_changes_something_and_needs_the_words_a_cursor_gives() -> None:
    assert read("reassign 8 --best", console=False).command.name == "reassign"
    for line, reason in (
        ("orders late", "works on the console only"),
        ("zoom-in", "works on the console only"),
        ("ack", "`ack` needs its arguments here: ack ALERT [NOTE...]"),
        ("reassign", "`reassign` needs its arguments here"),
    ):
        with pytest.raises(CommandRefused) as refused:
            read(line, console=False)
        assert reason in refused.value.reason


def test_final_actions_ask_first_and_others_do_not() -> None:
    for line, asks in (("cancel 8 no", True), ("sign 8", True), ("dispatch 8", False)):
        parsed = read(line)
        question = parsed.command.confirm(parsed) if parsed.command.confirm else None
        assert bool(question) == asks, line
    assert read("sign 8 --yes").flag("yes")
    with pytest.raises(CommandRefused, match="no switch `--yes`"):
        read("assign 8 li-fang --yes")  # nothing to answer


@pytest.mark.parametrize(
    ("line", "candidates", "completed"),
    [
        ("as", ["assign"], "as" + "sign "),
        (
            "re",
            [
                "reassign",
                "restock",
                "report-out-of-stock",
                "report-exception",
                "resume",
                "resume-webhook",
                "reject",
                "resolve",
                "reload",
            ],
            "re",
        ),
        ("assign 8", ["8", "80", "81"], "assign 8"),
        ("assign 8 l", ["li-fang", "li-na"], "assign 8 li-"),
        ("assign 8 zhang-leil", ["zhang-leilei"], "assign 8 zhang-leilei "),
        ("assign 8 ", ["li-fang", "li-na", "zhang-lei", "zhang-leilei"], "assign 8 "),
        ("orders zone=h", ["zone=Haidian"], "orders zone=Haidian "),
        ("orders --zone=w", ["--zone=Wangjing"], "orders --zone=Wangjing "),
        ("orders z", ["zone="], "orders zone="),
        ("riders si", ["silent"], "riders silent "),
        ("alerts --m", ["--mine"], "alerts --mine "),
        ("alerts severity=c", ["severity=critical"], "alerts severity=critical "),
        ("order 8 canc", ["cancel"], "order 8 cancel "),
        (
            "order 8 reassign ",
            ["li-fang", "li-na", "zhang-lei", "zhang-leilei", "best"],
            "order 8 reassign ",
        ),
        ("snooze 1", ["12"], "snooze 12 "),
        ("cancel 8 because", [], "cancel 8 because"),  # free text: nothing to offer
        ("frobnicate ", [], "frobnicate "),
    ],
)
def test_completion_offers_what_may_come_next(
    line: str, candidates: list[str], completed: str
) -> None:
    completion = complete(line, REGISTRY, WORDS)
    assert sorted(completion.candidates) == sorted(candidates)
    assert completion.line == completed


def test_slugs_read_names_without_quotes_or_capitals() -> None:
    assert slug("Li Fang") == "li-fang"
    assert slug("  O'Brien  Jr. ") == "o-brien-jr"


def test_a_new_command_is_one_entry_and_parses_and_completes_like_the_others() -> None:
    """What the saved views add: `view save NAME`, `view NAME`."""
    said: list[str] = []

    async def view(desk: Any, parsed: Parsed) -> str | None:
        said.append(parsed.word("name"))
        return None

    registry = Registry()
    registry.add(
        Command(
            "view",
            "Open a saved view, or save this one",
            args=(
                Arg("name", Kind.WORD, "the view"),
                Arg("as", Kind.WORD, "save: its name", required=False),
            ),
            show=view,
        )
    )
    parsed = parse("view save my-zones", registry, WORDS)
    assert parsed.values == {"name": "save", "as": "my-zones"}
    assert complete("vi", registry, WORDS).line == "view "
    with pytest.raises(ValueError, match="two commands"):
        registry.add(Command("view", "again", show=view))
    with pytest.raises(ValueError, match="does nothing"):
        registry.add(Command("idle", "nothing"))


def test_every_command_is_in_the_palette_and_every_change_is_guarded() -> None:
    assert len(COMMANDS) == len(REGISTRY)
    names = REGISTRY.names()
    assert len(names) == len(set(names))
    for command in REGISTRY:
        if command.send is not None:
            assert command.guard is not None, command.name  # the server checks too


# --- through the API --------------------------------------------------------------------------


class Recorder:
    """A stand-in server: answers from `routes`, records every request."""

    def __init__(self, routes: dict[tuple[str, str], tuple[int, Any]]) -> None:
        self.routes = routes
        self.sent: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        body = json.loads(request.content) if request.content else None
        self.sent.append((request.method, path, body))
        status, answer = self.routes.get((request.method, path), (404, {"detail": "Not Found"}))
        return httpx.Response(status, json=answer)


def session(recorder: Recorder, seen: tuple[int, str] | None = None) -> Session:
    client = FreshlineClient("http://freshline.test", token="t",
                             transport=httpx.MockTransport(recorder), retries=0)  # fmt: skip
    return Session(client, DISPATCHER, seen_order=lambda order_id: seen, via="a test")


def wire(state: OrderState, rider_id: int | None = None, version: int = 4) -> dict[str, Any]:
    answer = order(8, state, 20, rider_id).model_dump(mode="json")
    return answer | {"id": 8, "version": version}


async def test_assign_sends_the_version_the_console_shows_and_resumes_a_stopped_order() -> None:
    recorder = Recorder(
        {
            ("GET", "/riders/1"): (
                200,
                {
                    "id": 1,
                    "name": "Li Fang",
                    "phone": "139****0001",
                    "status": "online",
                    "warehouse_id": "WH-CY",
                    "capacity": 4,
                    "active_orders": 0,
                    "cold_chain": True,
                    "last_lat": None,
                    "last_lng": None,
                    "last_fix_at": None,
                },
            ),
            ("POST", "/orders/8/assign"): (200, wire(OrderState.DELIVERING, 1, 5)),
        }
    )
    parsed = read("assign 8 li-fang")
    assert parsed.command.send is not None
    answer = await parsed.command.send(session(recorder, (3, "EXCEPTION")), parsed)
    assert answer.text == "Order 8 given to Li Fang and resumed the delivery."
    sent = [s for s in recorder.sent if s[0] == "POST"]
    assert sent == [
        (
            "POST",
            "/orders/8/assign",
            {"rider_id": 1, "version": 3, "reason": "assigned from a test", "resume": True},
        )
    ]


async def test_a_stale_version_is_refused_in_the_servers_words_and_not_retried() -> None:
    recorder = Recorder(
        {
            ("POST", "/orders/8/transitions"): (
                409,
                {"detail": "order 8 changed since version 3", "changed_by": "support"},
            )
        }
    )
    parsed = read("dispatch 8")
    assert parsed.command.send is not None
    with pytest.raises(CommandRefused) as refused:
        await parsed.command.send(session(recorder, (3, "PICKING")), parsed)
    assert refused.value.reason == "order 8: order 8 changed since version 3 (changed by support)"
    assert len(recorder.sent) == 1


async def test_reassign_best_refuses_when_nobody_can_take_it() -> None:
    recorder = Recorder({("GET", "/orders/8/rider-suggestions"): (200, [])})
    parsed = read("reassign 8 --best")
    assert parsed.command.send is not None
    with pytest.raises(CommandRefused, match="nobody can take order 8 now"):
        await parsed.command.send(session(recorder, (3, "PICKING")), parsed)
    assert [s[0] for s in recorder.sent] == ["GET"]  # nothing written


def request(state: str, version: int) -> dict[str, Any]:
    return {
        "id": 9, "kind": "claim", "state": state, "order_id": 1004, "warehouse_id": "WH-CY",
        "reason": "squashed", "items": [], "amount_cents": 890, "opened_by": "rider-1",
        "opened_at": "2026-12-05T04:00:00Z", "decided_by": None, "decided_at": None,
        "decision_reason": None, "version": version,
    }  # fmt: skip


async def test_reject_decides_the_request_behind_the_alert_from_its_own_version() -> None:
    alert = queue_app().store.alerts.alerts[4].model_dump(mode="json")  # claim 9, order 1004
    recorder = Recorder(
        {
            ("GET", "/alerts/4"): (200, alert),
            ("GET", "/requests/9"): (200, request("pending", 2)),
            ("POST", "/requests/9/reject"): (200, request("rejected", 3)),
        }
    )
    parsed = read("alert 4 reject photos show no damage", me=me_as(Role.SUPPORT, "support"))
    assert parsed.command.send is not None and parsed.command.confirm is not None
    assert "Money moves" in (parsed.command.confirm(parsed) or "")
    answer = await parsed.command.send(session(recorder), parsed)
    assert answer.text == "Rejected: the claim of order 1004 (8.90), alert 4."
    assert recorder.sent[-1] == (
        "POST", "/requests/9/reject", {"version": 2, "reason": "photos show no damage"}
    )  # fmt: skip
    with pytest.raises(CommandRefused, match="`reject` needs a reason: reject ALERT REASON"):
        read("reject 4", me=me_as(Role.SUPPORT, "support"))
