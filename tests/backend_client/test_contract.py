"""The wire contract's two kinds of model: requests refuse unknown fields, responses ignore them.

A response that ignores what it does not know lets a newer server add a field without breaking an
older console during a rolling deploy; a request that refuses it keeps a misspelt field from
passing silently as unset (the backend answers 422).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import backend_client.models as wire
from backend_client import FreshlineClient
from backend_client.models import (
    Me,
    OrderCreate,
    Request,
    Response,
    ReturnRequest,
    Role,
    ServerMessage,
    TransitionRequest,
    Welcome,
    WireModel,
)
from tests.support import Api, customer

NOW = datetime(2026, 11, 22, 3, 30, tzinfo=UTC)


def wire_models() -> list[type[BaseModel]]:
    return [
        value
        for value in vars(wire).values()
        if inspect.isclass(value)
        and issubclass(value, WireModel)
        and value not in (WireModel, Request, Response)
    ]


def test_every_wire_model_is_either_a_request_or_a_response() -> None:
    models = wire_models()
    assert len(models) > 80
    neither = [m.__name__ for m in models if not issubclass(m, Request | Response)]
    both = [m.__name__ for m in models if issubclass(m, Request) and issubclass(m, Response)]
    assert (neither, both) == ([], [])


def test_the_package_exports_every_model_of_its_modules() -> None:
    defined = {
        name
        for info in pkgutil.iter_modules(wire.__path__)
        for module in [importlib.import_module(f"{wire.__name__}.{info.name}")]
        for name, value in vars(module).items()
        if inspect.isclass(value) and value.__module__ == module.__name__
    }
    assert defined <= set(wire.__all__)
    assert all(hasattr(wire, name) for name in wire.__all__)


def test_a_response_with_a_field_it_does_not_know_parses() -> None:
    me = Me.model_validate(
        {"id": 1, "username": "dispatcher", "role": "dispatcher", "shift": "early"}
    )
    assert (me.username, me.role) == ("dispatcher", Role.DISPATCHER)
    assert "shift" not in me.model_dump()


def test_a_nested_response_with_unknown_fields_parses() -> None:
    answer: dict[str, Any] = {
        "id": 7,
        "kind": "claim",
        "state": "pending",
        "order_id": 43,
        "warehouse_id": "WH-CY",
        "reason": "eggs broken",
        "items": [{"sku": "EGG-DOZEN", "quantity": 1, "photo": "p.jpg"}],
        "amount_cents": 1890,
        "opened_by": "support",
        "opened_at": NOW.isoformat(),
        "decided_by": None,
        "decided_at": None,
        "decision_reason": None,
        "version": 1,
        "sla_minutes": 30,
    }
    request = ReturnRequest.model_validate(answer)
    assert [(i.sku, i.quantity) for i in request.items] == [("EGG-DOZEN", 1)]


def test_a_stream_message_with_a_field_it_does_not_know_parses() -> None:
    raw = (
        '{"type": "welcome", "topics": ["orders"], "last_seq": 5, "heartbeat_seconds": 15,'
        ' "region": "north"}'
    )
    message = TypeAdapter(ServerMessage).validate_json(raw)
    assert isinstance(message, Welcome) and message.last_seq == 5


def test_a_request_with_a_field_it_does_not_know_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        TransitionRequest.model_validate({"action": "pay", "version": 1, "surprise": 1})
    assert [e["type"] for e in refused.value.errors()] == ["extra_forbidden"]


def test_a_nested_request_with_a_field_it_does_not_know_is_refused() -> None:
    body = {
        "external_id": "EXT-1",
        "customer": {**customer(), "floor": 3},
        "items": [{"sku": "VEG-BOKCHOY", "quantity": 2}],
    }
    with pytest.raises(ValidationError) as refused:
        OrderCreate.model_validate(body)
    assert [(e["type"], e["loc"]) for e in refused.value.errors()] == [
        ("extra_forbidden", ("customer", "floor"))
    ]


async def test_the_client_reads_an_answer_from_a_newer_server() -> None:
    def newer_server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"id": 1, "username": "dispatcher", "role": "dispatcher", "team": "north"},
        )

    async with FreshlineClient(
        "http://freshline.test", transport=httpx.MockTransport(newer_server)
    ) as client:
        me = await client.me()
    assert me.username == "dispatcher"


async def test_the_backend_answers_422_to_a_request_body_with_an_unknown_field(api: Api) -> None:
    order = await api.create_order()
    answer = await api.post(
        "channel-app",
        f"/orders/{order['id']}/transitions",
        json={"action": "pay", "version": order["version"], "surprise": 1},
    )
    assert answer.status_code == 422, answer.text
    assert any(e["type"] == "extra_forbidden" for e in answer.json()["detail"])
    unchanged = await api.get("dispatcher", f"/orders/{order['id']}")
    assert unchanged.json()["version"] == order["version"]
