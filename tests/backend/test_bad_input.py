"""Bad input on every POST: a JSON `{"detail": ...}` 4xx, never a 500, and nothing changes.

Each test runs on SQLite and on PostgreSQL. A test loops over many cases on one app and reports
every case that went wrong at once (`Cases.done`), so one run shows the whole picture.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.support import Api, customer

JSON = {"Content-Type": "application/json"}
MAX_BODY = 1_000_000  # the default max_body_bytes
BIG_IDS = [99999999999, 2**31, 2**63, 2**64]


# --- helpers ------------------------------------------------------------------------------------


@dataclass
class Target:
    """One POST endpoint: who calls it, where, and a body it accepts."""

    name: str
    user: str
    path: str
    body: dict[str, Any]
    ok: int = 200


class Cases:
    """Sends bad requests, checks each answer and that the event log did not move."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.problems: list[str] = []
        self.events: int | None = None

    async def send(
        self,
        label: str,
        user: str | None,
        path: str,
        statuses: tuple[int, ...] = (422,),
        *,
        method: str = "POST",
        **kwargs: Any,
    ) -> httpx.Response | None:
        before = self.events if self.events is not None else await self.api.event_count()
        try:
            if user is None:
                response = await self.api.client.request(method, f"/api/v1{path}", **kwargs)
            else:
                headers = {**await self.api.auth(user), **kwargs.pop("headers", {})}
                response = await self.api.client.request(
                    method, f"/api/v1{path}", headers=headers, **kwargs
                )
        except Exception as exc:  # the app crashed: under a real server this is a 500
            self.problems.append(f"{label}: server error {type(exc).__name__}: {exc}"[:400])
            self.events = None
            return None
        after = self.events = await self.api.event_count()
        if response.status_code not in statuses:
            self.problems.append(
                f"{label}: expected {statuses}, got {response.status_code} {response.text[:300]}"
            )
        elif response.status_code < 400:
            pass
        elif not response.headers.get("content-type", "").startswith("application/json"):
            self.problems.append(f"{label}: error is not JSON: {response.text[:200]}")
        elif "detail" not in response.json():
            self.problems.append(f"{label}: error has no detail: {response.text[:200]}")
        if after != before:
            self.problems.append(f"{label}: the event log grew from {before} to {after}")
        return response

    async def post_raw(
        self, label: str, target: Target, raw: bytes, statuses: tuple[int, ...] = (422,)
    ) -> None:
        await self.send(
            f"{target.name} {label}", target.user, target.path, statuses, content=raw, headers=JSON
        )

    async def post_json(
        self, label: str, target: Target, body: Any, statuses: tuple[int, ...] = (422,)
    ) -> None:
        # Encoded here, escaping non-ASCII, so that even a lone surrogate can be sent.
        await self.post_raw(label, target, json.dumps(body).encode(), statuses)

    def done(self) -> None:
        if self.problems:
            count = len(self.problems)
            pytest.fail(f"{count} bad answer(s):\n" + "\n".join(self.problems), pytrace=False)


async def snapshot(api: Api) -> dict[str, Any]:
    """Everything a bad request could have touched."""
    orders = await api.get("admin", "/orders", params={"limit": 500})
    users = await api.get("admin", "/users")
    riders = await api.get("admin", "/riders")
    stock = await api.get("admin", "/warehouses/WH-CY/stock")
    for response in (orders, users, riders, stock):
        assert response.status_code == 200, response.text
    return {
        "events": await api.event_count(),
        "orders": orders.json(),
        "users": users.json(),
        "riders": riders.json(),
        "stock": stock.json(),
    }


def order_body(**overrides: Any) -> dict[str, Any]:
    return {
        "external_id": "BAD-INPUT-1",
        "customer": customer(),
        "items": [{"sku": "VEG-BOKCHOY", "quantity": 2}],
        **overrides,
    }


async def targets(api: Api) -> list[Target]:
    """The seven JSON POST endpoints, with an order paid and rider 1 online to act on."""
    order = await api.create_order()
    order = await api.act("channel-app", order, "pay")
    await api.rider_online(1)
    now = api.clock.now().isoformat()
    oid, version = order["id"], order["version"]
    return [
        Target("create", "channel-app", "/orders", order_body(), 201),
        Target(
            "transition",
            "dispatcher",
            f"/orders/{oid}/transitions",
            {"action": "start_picking", "version": version},
        ),
        Target(
            "assign", "dispatcher", f"/orders/{oid}/assign", {"rider_id": 1, "version": version}
        ),
        Target("status", "rider-1", "/riders/1/status", {"status": "break"}),
        Target(
            "positions",
            "rider-1",
            "/riders/1/positions",
            {"points": [{"lat": 39.93, "lng": 116.45, "at": now}]},
        ),
        Target(
            "stock",
            "admin",
            "/warehouses/WH-CY/stock/VEG-BOKCHOY/adjust",
            {"delta": 5, "reason": "recount"},
        ),
        Target(
            "users",
            "admin",
            "/users",
            {"username": "new-viewer", "password": "long-enough-1", "role": "viewer"},
            201,
        ),
    ]


def by_name(all_targets: list[Target]) -> dict[str, Target]:
    return {t.name: t for t in all_targets}


def replace_value(body: dict[str, Any], path: tuple[Any, ...], literal: str) -> bytes:
    """The body as JSON text with the value at `path` replaced by a raw literal (NaN, ...)."""
    marker = "__REPLACE_ME__"
    copy = json.loads(json.dumps(body))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = marker
    return json.dumps(copy).replace(f'"{marker}"', literal).encode()


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


def cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def current_body(api: Api, target: Target) -> dict[str, Any]:
    """The target's body with the order's current version (earlier targets may have moved it)."""
    body = dict(target.body)
    if "version" in body:
        order = await api.get("admin", target.path.rsplit("/", 1)[0])
        body["version"] = order.json()["version"]
    return body


async def assert_baseline_works(api: Api, all_targets: list[Target]) -> None:
    """The unmodified bodies are accepted, so the refusals above were about the bad input."""
    for target in all_targets:
        response = await api.post(target.user, target.path, json=await current_body(api, target))
        assert response.status_code == target.ok, (target.name, response.text)


# --- malformed JSON -----------------------------------------------------------------------------


async def test_malformed_json_is_refused_on_every_post(api: Api) -> None:
    all_targets = await targets(api)
    before = await snapshot(api)
    cases = Cases(api)
    for target in all_targets:
        text = json.dumps(target.body)
        await cases.post_raw("truncated", target, text[: len(text) // 2].encode())
        await cases.post_raw("not JSON", target, b"this is not json")
        await cases.post_raw("array of the body", target, f"[{text}]".encode())
        await cases.post_raw("null", target, b"null")
        await cases.post_raw("empty body", target, b"")
        await cases.post_raw("empty object", target, b"{}")
        await cases.send(
            f"{target.name} JSON sent as text/plain",
            target.user,
            target.path,
            content=text.encode(),
            headers={"Content-Type": "text/plain"},
        )
    stock = by_name(all_targets)["stock"]
    text = json.dumps(stock.body)
    for label, raw in [
        ("truncated by one", text[:-1].encode()),
        ("single quotes", text.replace('"', "'").encode()),
        ("trailing comma", (text[:-1] + ",}").encode()),
        ("two objects", (text + text).encode()),
        ("array", b"[1, 2, 3]"),
        ("string", b'"hello"'),
        ("number", b"42"),
        ("true", b"true"),
    ]:
        await cases.post_raw(label, stock, raw)
    # Bodies that cannot even be decoded: FastAPI answers 400 for those.
    await cases.post_raw("invalid UTF-8", stock, b'{"a": "\xff\xfe"}', (400, 422))
    await cases.post_raw("nested 100k deep", stock, b"[" * 100_000, (400, 422))
    await cases.send(
        "stock JSON sent as a form",
        stock.user,
        stock.path,
        content=text.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    cases.done()
    assert await snapshot(api) == before
    await assert_baseline_works(api, all_targets)


async def test_values_json_or_a_database_cannot_hold_are_422(api: Api) -> None:
    """NaN, infinities, NUL characters and lone surrogates: 422 on both databases, never 500.

    Python's json reads NaN, Infinity and 1e400 (= inf), and \\ud800 (a lone surrogate) that
    UTF-8 cannot encode; PostgreSQL cannot store NUL in text. The contract has to be the same on
    both databases, so such values are refused up front.
    """
    all_targets = by_name(await targets(api))
    before = await snapshot(api)
    cases = Cases(api)
    where: list[tuple[str, tuple[Any, ...]]] = [
        ("create", ("customer", "lat")),
        ("create", ("items", 0, "quantity")),
        ("transition", ("version",)),
        ("assign", ("rider_id",)),
        ("status", ("status",)),
        ("positions", ("points", 0, "lat")),
        ("positions", ("points", 0, "speed_kmh")),
        ("stock", ("delta",)),
        ("users", ("password",)),
    ]
    for name, path in where:
        target = all_targets[name]
        for literal in ("NaN", "Infinity", "-Infinity", "1e400"):
            raw = replace_value(target.body, path, literal)
            await cases.post_raw(f"{'.'.join(map(str, path))}={literal}", target, raw)
    create, stock = all_targets["create"], all_targets["stock"]
    transition, users = all_targets["transition"], all_targets["users"]
    cancel = {"action": "cancel", "version": transition.body["version"]}
    texts = [("NUL", "a\x00b", "a%00b"), ("lone surrogate", "a\ud800b", "a%ED%A0%80b")]
    for label, text, quoted in texts:
        await cases.post_json(f"reason with {label}", stock, {**stock.body, "reason": text})
        note = {**create.body, "external_id": f"NOTE-{len(label)}", "note": text}
        await cases.post_json(f"note with {label}", create, note)
        named = {
            **create.body,
            "external_id": f"NAME-{len(label)}",
            "customer": customer(name=text),
        }
        await cases.post_json(f"customer name with {label}", create, named)
        await cases.post_json(f"cancel reason with {label}", transition, {**cancel, "reason": text})
        await cases.send(
            f"sign in as {label}",
            None,
            "/auth/token",
            (401, 422),
            content=f"username={quoted}&password=x".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        for path, param in [
            ("/orders", "q"),
            ("/orders", "warehouse_id"),
            ("/orders", "zone"),
            ("/riders", "warehouse_id"),
        ]:
            await cases.send(
                f"GET {path}?{param}= with {label}",
                "dispatcher",
                f"{path}?{param}={quoted}",
                (200, 422),
                method="GET",
            )
    # A password is only hashed, so NUL is fine in one; a lone surrogate cannot even be hashed.
    surrogate = {**users.body, "password": "pass\ud800word"}
    await cases.post_json("password with lone surrogate", users, surrogate)
    cases.done()
    assert await snapshot(api) == before


# --- wrong types, missing and unknown fields ----------------------------------------------------


async def test_wrong_types_missing_and_unknown_fields_are_refused(api: Api) -> None:
    all_targets = by_name(await targets(api))
    before = await snapshot(api)
    cases = Cases(api)
    point = all_targets["positions"].body["points"][0]
    wrong: dict[str, list[tuple[str, Any]]] = {
        "create": [
            ("external_id", 123),
            ("external_id", ""),
            ("external_id", "has space"),
            ("external_id", "x" * 41),
            ("customer", "Wang Fang"),
            ("customer", [customer()]),
            ("customer", customer(phone="call me")),
            ("customer", customer(name="")),
            ("customer", customer(name="   ")),
            ("customer", customer(address="x" * 301)),
            ("items", {"sku": "VEG-BOKCHOY", "quantity": 2}),
            ("items", "VEG-BOKCHOY"),
            ("items", [{"sku": "VEG-BOKCHOY", "quantity": "two"}]),
            ("items", [{"sku": "VEG-BOKCHOY", "quantity": 1.5}]),
            ("items", [{"sku": "VEG-BOKCHOY"}]),
            ("items", [{"quantity": 2}]),
            ("items", [["VEG-BOKCHOY", 2]]),
            ("channel", "carrier-pigeon"),
            ("warehouse_id", 7),
            ("promised_at", "tomorrow"),
            ("note", 5),
            ("note", "x" * 501),
        ],
        "transition": [
            ("action", "teleport"),
            ("action", 1),
            ("action", None),
            ("version", "two"),
            ("version", 1.5),
            ("version", None),
            ("version", [1]),
            ("reason", 7),
            ("reason", "x" * 501),
        ],
        "assign": [
            ("rider_id", "one"),
            ("rider_id", [1]),
            ("rider_id", None),
            ("rider_id", 1.5),
            ("version", {}),
            ("reason", {"why": "x"}),
        ],
        "status": [("status", "asleep"), ("status", 1), ("status", None), ("status", ["online"])],
        "positions": [
            ("points", {}),
            ("points", "here"),
            ("points", [1]),
            ("points", None),
            ("points", [{**point, "at": "yesterday"}]),
            ("points", [{**point, "lat": "north"}]),
            ("points", [{**point, "lat": None}]),
            ("points", [without(point, "at")]),
            ("points", [without(point, "lat")]),
            ("points", [without(point, "lng")]),
        ],
        "stock": [
            ("delta", "five"),
            ("delta", 2.5),
            ("delta", None),
            ("reason", 5),
            ("reason", ""),
            ("reason", "   "),
            ("reason", "x" * 501),
        ],
        "users": [
            ("username", 5),
            ("username", "Has Space"),
            ("username", "UPPER"),
            ("username", "x"),
            ("password", 12345678),
            ("password", "short"),
            ("role", "emperor"),
            ("role", 1),
            ("rider_id", "x"),
            ("warehouse_id", "no spaces allowed"),
            ("channel", "carrier-pigeon"),
        ],
    }
    required = {
        "create": ["external_id", "customer", "items"],
        "transition": ["action", "version"],
        "assign": ["rider_id", "version"],
        "status": ["status"],
        "positions": ["points"],
        "stock": ["delta", "reason"],
        "users": ["username", "password", "role"],
    }
    for name, target in all_targets.items():
        for field, value in wrong[name]:
            await cases.post_json(f"{field}={value!r:.40}", target, {**target.body, field: value})
        for field in required[name]:
            await cases.post_json(f"without {field}", target, without(target.body, field))
        await cases.post_json("unknown field", target, {**target.body, "surprise": 1})
        await cases.post_json("unknown field null", target, {**target.body, "id": None})
    # Unknown fields inside nested objects are refused too.
    create = all_targets["create"]
    await cases.post_json(
        "customer.vip", create, {**create.body, "customer": {**customer(), "vip": True}}
    )
    await cases.post_json(
        "items[0].discount",
        create,
        {**create.body, "items": [{"sku": "VEG-BOKCHOY", "quantity": 2, "discount": 10}]},
    )
    positions = all_targets["positions"]
    await cases.post_json("points[0].heading", positions, {"points": [{**point, "heading": 90}]})
    # Rules the models cannot express.
    transition = all_targets["transition"]
    cancel = {"action": "cancel", "version": transition.body["version"]}
    await cases.post_json("cancel without reason", transition, cancel)
    await cases.post_json("cancel with blank reason", transition, {**cancel, "reason": "  "})
    stale = {**transition.body, "version": transition.body["version"] - 1}
    await cases.post_json("stale version", transition, stale, (409,))
    await cases.post_json(
        "action from wrong state", transition, {**cancel, "action": "sign"}, (409,)
    )
    users = all_targets["users"]
    for label, extra in [
        ("rider without rider_id", {"role": "rider"}),
        ("merchant without warehouse", {"role": "merchant"}),
        ("channel without channel", {"role": "channel"}),
        ("viewer with rider_id", {"rider_id": 1}),
        ("viewer with warehouse", {"warehouse_id": "WH-CY"}),
    ]:
        await cases.post_json(label, users, {**users.body, **extra})
    await cases.post_json(
        "existing username", users, {**users.body, "username": "dispatcher"}, (409,)
    )
    admin_create = Target("create as admin", "admin", "/orders", create.body)
    await cases.post_json("without channel", admin_create, create.body)
    await cases.post_json("channel NOPE", admin_create, {**create.body, "channel": "NOPE"})
    await cases.post_json(
        "channel selling for another", create, {**create.body, "channel": "meituan"}, (403,)
    )
    # Sign-in takes a form; its fields are checked the same way.
    token = "/auth/token"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    await cases.send("sign in: no fields", None, token, data={})
    await cases.send("sign in: no password", None, token, data={"username": "admin"})
    await cases.send("sign in: no username", None, token, data={"password": "demo-admin"})
    await cases.send(
        "sign in: JSON", None, token, json={"username": "admin", "password": "demo-admin"}
    )
    await cases.send("sign in: not a form", None, token, content=b"%%%&&&===", headers=form)
    await cases.send(
        "sign in: multipart without boundary",
        None,
        token,
        (400, 422),
        content=b"x",
        headers={"Content-Type": "multipart/form-data"},
    )
    await cases.send(
        "sign in: username of 41", None, token, data={"username": "u" * 41, "password": "x"}
    )
    await cases.send(
        "sign in: password of 201", None, token, data={"username": "admin", "password": "p" * 201}
    )
    await cases.send(
        "sign in: unknown user", None, token, (401,), data={"username": "nobody", "password": "x"}
    )
    await cases.send(
        "sign in: wrong password",
        None,
        token,
        (401,),
        data={"username": "viewer", "password": "no"},
    )
    cases.done()
    assert await snapshot(api) == before
    await assert_baseline_works(api, list(all_targets.values()))
    signed_in = await api.client.post(
        f"/api/v1{token}", data={"username": "viewer", "password": "demo-viewer", "extra": "x"}
    )
    assert signed_in.status_code == 200, signed_in.text


# --- unknown ids and ids beyond int32 ------------------------------------------------------------


async def test_unknown_and_out_of_range_ids_are_refused(api: Api) -> None:
    """Unknown ids answer 404 (in the path) or 422 (in the body); ids no column holds are 422."""
    all_targets = by_name(await targets(api))
    before = await snapshot(api)
    cases = Cases(api)
    transition, assign, positions = (all_targets[n] for n in ("transition", "assign", "positions"))
    create, stock, users = (all_targets[n] for n in ("create", "stock", "users"))
    online, point = {"status": "online"}, positions.body
    for label, user, path, body in [
        ("transition order 999999", "dispatcher", "/orders/999999/transitions", transition.body),
        ("assign order 999999", "dispatcher", "/orders/999999/assign", assign.body),
        ("status rider 999999", "dispatcher", "/riders/999999/status", online),
        ("status rider 999999 as a rider", "rider-1", "/riders/999999/status", online),
        ("status of another rider", "rider-1", "/riders/2/status", online),
        ("positions rider 999999", "admin", "/riders/999999/positions", point),
        ("positions rider 999999 as a rider", "rider-1", "/riders/999999/positions", point),
        ("positions of another rider", "rider-1", "/riders/2/positions", point),
        ("adjust in WH-NOPE", "admin", "/warehouses/WH-NOPE/stock/VEG-BOKCHOY/adjust", stock.body),
        ("adjust SKU NOPE", "admin", "/warehouses/WH-CY/stock/NOPE/adjust", stock.body),
        ("adjust both unknown", "admin", "/warehouses/WH-NOPE/stock/NOPE/adjust", stock.body),
        (
            "merchant adjusts another warehouse",
            "merchant-wh-cy",
            "/warehouses/WH-WJ/stock/VEG-BOKCHOY/adjust",
            stock.body,
        ),
    ]:
        await cases.send(label, user, path, (404,), json=body)
    for label, path in [
        ("get order 999999", "/orders/999999"),
        ("timeline of order 999999", "/orders/999999/timeline"),
        ("get rider 999999", "/riders/999999"),
        ("stock of WH-NOPE", "/warehouses/WH-NOPE/stock"),
    ]:
        await cases.send(label, "dispatcher", path, (404,), method="GET")
    # The path is fine, an id in the body is unknown: 422.
    await cases.post_json("rider 999999", assign, {**assign.body, "rider_id": 999999})
    await cases.post_json("in WH-NOPE", create, {**create.body, "warehouse_id": "WH-NOPE"})
    one_of = [{"sku": "NOPE", "quantity": 1}]
    await cases.post_json("of SKU NOPE", create, {**create.body, "items": one_of})
    await cases.post_json(
        "with one unknown SKU", create, {**create.body, "items": [*create.body["items"], *one_of]}
    )
    merchant = {**users.body, "role": "merchant", "warehouse_id": "WH-NOPE"}
    await cases.post_json("merchant of WH-NOPE", users, merchant)
    rider = {**users.body, "role": "rider", "rider_id": 999999}
    await cases.post_json("account of rider 999999", users, rider)

    # Ids beyond what the columns hold, zero, negative or not numbers at all: 422.
    for big in [*BIG_IDS, 0, -1, "abc", "1.5"]:
        for user, path, body in [
            ("dispatcher", f"/orders/{big}/transitions", transition.body),
            ("dispatcher", f"/orders/{big}/assign", assign.body),
            ("dispatcher", f"/riders/{big}/status", online),
            ("admin", f"/riders/{big}/positions", point),
        ]:
            await cases.send(f"POST {path}", user, path, json=body)
        for path in (f"/orders/{big}", f"/orders/{big}/timeline", f"/riders/{big}"):
            await cases.send(f"GET {path}", "dispatcher", path, method="GET")
    for big in [*BIG_IDS, 0, -1]:
        await cases.post_json(f"version={big}", transition, {**transition.body, "version": big})
        await cases.post_json(f"rider_id={big}", assign, {**assign.body, "rider_id": big})
        await cases.post_json(f"version={big}", assign, {**assign.body, "version": big})
        await cases.post_json(f"account of rider {big}", users, {**rider, "rider_id": big})
        await cases.send(
            f"GET /orders?rider_id={big}",
            "dispatcher",
            "/orders",
            method="GET",
            params={"rider_id": big},
        )
    for big in BIG_IDS:
        many = [{"sku": "VEG-BOKCHOY", "quantity": big}]
        await cases.post_json(f"quantity={big}", create, {**create.body, "items": many})
        await cases.post_json(f"delta={big}", stock, {**stock.body, "delta": big})
        await cases.post_json(f"delta=-{big}", stock, {**stock.body, "delta": -big})
    # A long digit string searched for is no id, and no error.
    await cases.send(
        "GET /orders?q=99999999999",
        "dispatcher",
        "/orders",
        (200,),
        method="GET",
        params={"q": "99999999999"},
    )
    cases.done()
    assert await snapshot(api) == before


# --- query parameters ---------------------------------------------------------------------------


async def test_list_query_parameters_are_validated(api: Api) -> None:
    await api.create_order()
    await api.create_order()
    cases = Cases(api)
    bad: list[dict[str, Any]] = [
        {"status": "NOPE"},
        {"status": ["PAID", "NOPE"]},
        {"status": "paid"},
        {"limit": 0},
        {"limit": 501},
        {"limit": -1},
        {"limit": "ten"},
        {"channel": "NOPE"},
        {"late": "maybe"},
        {"q": ""},
        {"q": "x" * 61},
        {"zone": "x" * 61},
        {"warehouse_id": "x" * 41},
        {"cursor": "not-a-cursor!"},
        {"cursor": "x" * 201},
        {"cursor": cursor_of([0, "2026-11-22T10:00:00+00:00"])},
        {"cursor": cursor_of([0, "2026-11-22T10:00:00", 1])},
        {"cursor": cursor_of(["0", "2026-11-22T10:00:00+00:00", 1])},
        {"cursor": cursor_of([0, "yesterday", 1])},
        {"cursor": cursor_of({"rank": 0})},
        {"cursor": cursor_of(None)},
        {"cursor": base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode()},
    ]
    # Forged cursors: a cursor is client input too, and ids, ranks and times in it beyond what
    # the columns hold are 422 like anywhere else.
    at = "2026-11-22T10:00:00+00:00"
    bad += [
        {"cursor": cursor_of(value)}
        for value in [
            [0, at, 99999999999],
            [0, at, 2**70],
            [99999999999, at, 1],
            [True, at, 1],
            [0, at, False],
            [0, "9999-12-31T23:59:59-14:00", 1],
            [0, "0001-01-01T00:00:00+14:00", 1],
        ]
    ]
    for params in bad:
        label = f"GET /orders {params}"
        with contextlib.suppress(ValueError, KeyError):
            decoded = base64.urlsafe_b64decode(params["cursor"] + "==").decode(errors="replace")
            label = f"GET /orders cursor {decoded}"
        await cases.send(label, "dispatcher", "/orders", method="GET", params=params)
    for params in [{"status": "NOPE"}, {"warehouse_id": "x" * 41}]:
        await cases.send(
            f"GET /riders {params}", "dispatcher", "/riders", method="GET", params=params
        )
    # The bounds themselves, and a cursor the service made, are accepted.
    first = await cases.send(
        "limit=1", "dispatcher", "/orders", (200,), method="GET", params={"limit": 1}
    )
    await cases.send(
        "limit=500", "dispatcher", "/orders", (200,), method="GET", params={"limit": 500}
    )
    if first is not None and first.status_code == 200:
        params = {"limit": 1, "cursor": first.json()["next_cursor"]}
        await cases.send(
            "a real cursor", "dispatcher", "/orders", (200,), method="GET", params=params
        )
    cases.done()


# --- out-of-range values: quantities, coordinates, promised times -------------------------------


async def test_out_of_range_values_are_refused(api: Api) -> None:
    all_targets = by_name(await targets(api))
    before = await snapshot(api)
    cases = Cases(api)
    create, stock, positions = all_targets["create"], all_targets["stock"], all_targets["positions"]

    def items(*lines: tuple[str, Any]) -> dict[str, Any]:
        return {**create.body, "items": [{"sku": s, "quantity": q} for s, q in lines]}

    # Quantities and item lists.
    for quantity in (0, -1, -1000, 1001, 10**9, 10**30):
        await cases.post_json(f"quantity {quantity}", create, items(("VEG-BOKCHOY", quantity)))
    await cases.post_json(
        "a good line and a zero", create, items(("VEG-BOKCHOY", 1), ("VEG-TOMATO", 0))
    )
    await cases.post_json("empty items", create, {**create.body, "items": []})
    await cases.post_json("51 items", create, items(*[("VEG-BOKCHOY", 1)] * 51))
    await cases.post_json("5000 items", create, items(*[("VEG-BOKCHOY", 1)] * 5000))
    for delta in (0, 100_001, -100_001, 10**12, -(10**12)):
        await cases.post_json(f"delta {delta}", stock, {**stock.body, "delta": delta})
    level = await api.stock("WH-CY", "VEG-BOKCHOY")
    assert level["reserved"] > 0  # the paid order of `targets`
    too_many = {"delta": -(level["on_hand"] + 1), "reason": "x"}
    response = await cases.send(
        "remove more than on hand", stock.user, stock.path, (409,), json=too_many
    )
    if response is not None and response.status_code == 409:
        assert response.json()["on_hand"] == level["on_hand"], response.text
    reserved = {"delta": -(level["on_hand"] - level["reserved"] + 1), "reason": "x"}
    await cases.send("remove reserved units", stock.user, stock.path, (409,), json=reserved)

    # Coordinates off the planet.
    point = positions.body["points"][0]
    for field, value in [
        ("lat", 91),
        ("lat", -91),
        ("lat", 90.000001),
        ("lng", 181),
        ("lng", -181),
        ("lng", 180.000001),
        ("lat", 1e308),
        ("lat", -1e308),
        ("lng", 1e308),
        ("lat", "39.9 N"),
    ]:
        located = {**create.body, "customer": customer(**{field: value})}
        await cases.post_json(f"customer.{field}={value}", create, located)
        await cases.post_json(
            f"points[0].{field}={value}", positions, {"points": [{**point, field: value}]}
        )

    # promised_at: aware, in the future, within 7 days.
    now = api.clock.now()
    naive = (now + timedelta(minutes=30)).replace(tzinfo=None)
    for label, value in {
        "naive": naive.isoformat(),
        "naive with a space": naive.isoformat(sep=" "),
        "date only": (now + timedelta(days=1)).date().isoformat(),
        "in the past": (now - timedelta(minutes=1)).isoformat(),
        "long past": "2000-01-01T00:00:00Z",
        "now": now.isoformat(),
        "beyond 7 days": (now + timedelta(days=7, seconds=1)).isoformat(),
        "year 9999 at -14:00": "9999-12-31T23:59:59-14:00",
        "year 1 at +14:00": "0001-01-01T00:00:00+14:00",
        "offset beyond a day": "2026-11-22T11:00:00+25:00",
        "not a time": "half past ten",
        "epoch number": 0,
    }.items():
        await cases.post_json(f"promised_at {label}", create, {**create.body, "promised_at": value})
    cases.done()
    assert await snapshot(api) == before

    # The limits themselves are accepted.
    response = await api.post("channel-app", "/orders", json=items(*[("VEG-BOKCHOY", 1000)] * 50))
    assert response.status_code == 201, response.text
    assert response.json()["items"][49]["quantity"] == 1000
    response = await api.post(stock.user, stock.path, json={"delta": 100_000, "reason": "truck"})
    assert response.status_code == 200, response.text
    assert response.json()["on_hand"] == level["on_hand"] + 100_000
    earlier = (now - timedelta(seconds=1)).isoformat()
    edge = {"points": [{**point, "lat": -90, "lng": 180}, {"lat": 90, "lng": -180, "at": earlier}]}
    response = await api.post(positions.user, positions.path, json=edge)
    assert response.status_code == 200, response.text
    # An aware promise in any zone is that instant.
    local = (now + timedelta(minutes=30)).astimezone(timezone(timedelta(hours=8)))
    body = {**create.body, "external_id": "LOCAL-TIME", "promised_at": local.isoformat()}
    response = await api.post("channel-app", "/orders", json=body)
    assert response.status_code == 201, response.text
    assert datetime.fromisoformat(response.json()["promised_at"]) == now + timedelta(minutes=30)


# --- oversized bodies ---------------------------------------------------------------------------


async def _padded(first: bytes, total: int, pad: bytes = b" ") -> AsyncIterator[bytes]:
    """A chunked body (no Content-Length) of `first` then padding, `total` bytes in all."""
    yield first
    sent = len(first)
    while sent < total:
        chunk = pad * min(65_536, total - sent)
        sent += len(chunk)
        yield chunk


async def test_oversized_bodies_are_413(api: Api) -> None:
    all_targets = await targets(api)
    before = await snapshot(api)
    cases = Cases(api)
    for target in all_targets:
        big = json.dumps({**target.body, "padding": "x" * MAX_BODY}).encode()
        await cases.send(
            f"{target.name} Content-Length",
            target.user,
            target.path,
            (413,),
            content=big,
            headers=JSON,
        )
        await cases.send(
            f"{target.name} chunked",
            target.user,
            target.path,
            (413,),
            content=_padded(b'{"padding": "', MAX_BODY + 1, b"x"),
            headers=JSON,
        )
    form = {"username": "admin", "password": "demo-admin", "padding": "x" * MAX_BODY}
    await cases.send("auth/token Content-Length", None, "/auth/token", (413,), data=form)
    await cases.send(
        "auth/token chunked",
        None,
        "/auth/token",
        (413,),
        content=_padded(b"username=admin&password=x&padding=", MAX_BODY + 1, b"x"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    cases.done()
    assert await snapshot(api) == before
    # Exactly max_body_bytes is still accepted.
    stock = by_name(all_targets)["stock"]
    body = json.dumps(stock.body).encode()
    exact = body + b" " * (MAX_BODY - len(body))
    response = await api.post(stock.user, stock.path, content=exact, headers=JSON)
    assert response.status_code == 200, response.text


async def test_oversized_chunked_body_with_a_valid_start_changes_nothing(api: Api) -> None:
    """A valid request followed by padding past the limit is refused before anything is done.

    Whitespace after a JSON object is still valid JSON, so the first megabyte of such a body is
    a valid request: the size guard must not let the endpoint act on it and only swap its answer.
    """
    all_targets = await targets(api)
    cases = Cases(api)
    for target in all_targets:
        before = await snapshot(api)
        body = json.dumps(await current_body(api, target)).encode()
        await cases.send(
            f"{target.name} chunked, valid start",
            target.user,
            target.path,
            (413,),
            content=_padded(body, MAX_BODY + 100_000),
            headers=JSON,
        )
        after = await snapshot(api)
        changed = sorted(key for key in before if before[key] != after[key])
        if changed:
            cases.problems.append(f"{target.name} chunked, valid start: changed {changed}")
    cases.done()


# --- idempotency and duplicates -----------------------------------------------------------------


async def test_idempotent_retry_replays_the_first_answer_and_acts_once(api: Api) -> None:
    body = order_body(external_id="IDEM-1")
    key = {"Idempotency-Key": "create-IDEM-1"}
    events = await api.event_count()
    first = await api.post("channel-app", "/orders", json=body, headers=key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    # The same request again, and once more with other key order and spacing.
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()
    for retry in (
        await api.post("channel-app", "/orders", json=body, headers=key),
        await api.post("channel-app", "/orders", content=reordered, headers={**key, **JSON}),
    ):
        assert retry.status_code == 201, retry.text
        assert retry.json() == first.json()
        assert retry.headers["Idempotent-Replayed"] == "true"
    assert await api.event_count() == events + 1
    listed = await api.get("admin", "/orders", params={"q": "IDEM-1"})
    assert [o["id"] for o in listed.json()["items"]] == [first.json()["id"]]

    # Without a key, the channel's own order id catches the retry: 409 naming the order.
    for other in (
        body,
        order_body(external_id="IDEM-1", items=[{"sku": "FRU-APPLE", "quantity": 1}]),
    ):
        duplicate = await api.post("channel-app", "/orders", json=other)
        assert duplicate.status_code == 409, duplicate.text
        assert duplicate.json()["order_id"] == first.json()["id"]
    assert await api.event_count() == events + 1
    # The id is unique per channel only.
    elsewhere = await api.post("channel-meituan", "/orders", json=body)
    assert elsewhere.status_code == 201, elsewhere.text
    assert elsewhere.json()["id"] != first.json()["id"]
    events += 1

    # Five concurrent tries with one key (a client retrying over a flaky link) act once.
    racing = order_body(external_id="IDEM-RACE")
    answers = await asyncio.gather(
        *[
            api.post("channel-app", "/orders", json=racing, headers={"Idempotency-Key": "race"})
            for _ in range(5)
        ]
    )
    assert [r.status_code for r in answers] == [201] * 5, [r.text for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in answers) == [""] + ["true"] * 4
    events += 1

    # Paying three times with one key reserves the stock once.
    order = first.json()
    before = await api.stock(order["warehouse_id"], "VEG-BOKCHOY")
    pay = {"action": "pay", "version": order["version"]}
    path = f"/orders/{order['id']}/transitions"
    paid = [
        await api.post("channel-app", path, json=pay, headers={"Idempotency-Key": "pay-1"})
        for _ in range(3)
    ]
    assert [r.status_code for r in paid] == [200, 200, 200], paid[0].text
    assert all(r.json() == paid[0].json() for r in paid)
    assert [r.headers.get("Idempotent-Replayed") for r in paid] == [None, "true", "true"]
    after = await api.stock(order["warehouse_id"], "VEG-BOKCHOY")
    assert after["reserved"] == before["reserved"] + 2
    assert await api.event_count() == events + 2

    # Keys are per account: the same key and body from two accounts act twice.
    adjust = "/warehouses/WH-CY/stock/VEG-TOMATO/adjust"
    on_hand = (await api.stock("WH-CY", "VEG-TOMATO"))["on_hand"]
    shared = {"Idempotency-Key": "shared-key"}
    for user, expected in [("admin", on_hand + 3), ("merchant-wh-cy", on_hand + 6)] * 2:
        response = await api.post(
            user, adjust, json={"delta": 3, "reason": "crate"}, headers=shared
        )
        assert response.status_code == 200, response.text
        assert response.json()["on_hand"] == expected
    assert (await api.stock("WH-CY", "VEG-TOMATO"))["on_hand"] == on_hand + 6
    # A third account may use the same key for something else entirely.
    online = await api.post(
        "rider-3", "/riders/3/status", json={"status": "online"}, headers=shared
    )
    assert online.status_code == 200, online.text
    assert "idempotent-replayed" not in online.headers
    assert await api.event_count() == events + 5


async def test_concurrent_channel_orders_are_created_or_named(api: Api) -> None:
    """Orders arriving together: distinct ones are all taken, duplicates name the one taken.

    Channels retry in parallel when a call times out, and two channels can sell to the same new
    customer at the same moment; neither may turn into an anonymous conflict.
    """
    channels = ["channel-app", "channel-meituan", "channel-eleme", "channel-store"]
    for user in channels:
        await api.token(user)
    events = await api.event_count()
    problems = []

    # Four different orders, from four channels, for one customer nobody has seen yet.
    new_customer = customer(phone="13911112222")
    answers = await asyncio.gather(
        *[
            api.post(
                user, "/orders", json=order_body(external_id="SAME-DAY", customer=new_customer)
            )
            for user in channels
        ]
    )
    for user, response in zip(channels, answers, strict=True):
        if response.status_code != 201:
            problems.append(f"{user}, a new order: {response.status_code} {response.text}")
    created = sum(r.status_code == 201 for r in answers)

    # Five copies of one order from one channel (the customer is known by now).
    body = order_body(external_id="DUP-RACE", customer=new_customer)
    answers = await asyncio.gather(
        *[api.post("channel-app", "/orders", json=body) for _ in range(5)]
    )
    taken = [r.json()["id"] for r in answers if r.status_code == 201]
    if len(taken) != 1:
        problems.append(f"duplicates: {len(taken)} created: {[r.text for r in answers]}")
    for response in answers:
        if response.status_code == 201:
            continue
        if response.status_code != 409 or response.json().get("order_id") not in taken:
            problems.append(f"a duplicate: {response.status_code} {response.text}")
    created += len(taken)
    assert await api.event_count() == events + created
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


async def test_idempotency_key_misuse_is_422_and_changes_nothing(api: Api) -> None:
    all_targets = by_name(await targets(api))
    stock = all_targets["stock"]
    used = {"Idempotency-Key": "used-once"}
    first = await api.post(stock.user, stock.path, json=stock.body, headers=used)
    assert first.status_code == 200, first.text
    before = await snapshot(api)
    cases = Cases(api)
    other_body = {**stock.body, "delta": 6}
    await cases.send("same key, other body", stock.user, stock.path, json=other_body, headers=used)
    tomato = "/warehouses/WH-CY/stock/VEG-TOMATO/adjust"
    await cases.send("same key, other path", stock.user, tomato, json=stock.body, headers=used)
    users = all_targets["users"]
    await cases.send("same key, other endpoint", "admin", users.path, json=users.body, headers=used)
    invalid_keys: list[str | bytes] = [
        "k" * 300,
        "k" * 201,
        "has space",
        "",
        "tab\there",
        "caf\xe9".encode("latin-1"),
        "\u00e9t\u00e9".encode(),
    ]
    for target in all_targets.values():
        keys = invalid_keys if target is stock else invalid_keys[:3]
        for bad_key in keys:
            await cases.send(
                f"{target.name} key {bad_key!r:.30}",
                target.user,
                target.path,
                json=target.body,
                headers={"Idempotency-Key": bad_key},
            )
    cases.done()
    assert await snapshot(api) == before
    # The first answer is still the one replayed, and 200 characters make a valid key.
    replay = await api.post(stock.user, stock.path, json=stock.body, headers=used)
    assert replay.status_code == 200 and replay.json() == first.json(), replay.text
    assert replay.headers["Idempotent-Replayed"] == "true"
    longest = {"Idempotency-Key": "k" * 200}
    response = await api.post(stock.user, stock.path, json=stock.body, headers=longest)
    assert response.status_code == 200, response.text
    assert "idempotent-replayed" not in response.headers
