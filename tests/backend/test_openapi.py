"""The API documents itself: the OpenAPI schema covers the REST table (docs/api.md), with
examples, the errors each operation answers, and error shapes that match what the service really
sends.

The schema does not depend on the database, so most tests read it from one app that is never
started; the few that compare real answers with the schema run one app on a SQLite copy.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

import backend_client.models as wire
from backend.app import create_app
from backend.clock import ManualClock
from backend.idempotency import HEADER, KEY_PATTERN
from tests import support
from tests.support import STARTUP_S, Api

PREFIX = "/api/v1"
API_PAGE = Path(__file__).resolve().parents[2] / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")
# The channels' endpoints take a signature instead of a token (README, Sales channels).
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/health/ready"),
    ("POST", "/auth/token"),
    ("POST", "/channels/{}/orders"),
    ("POST", "/channels/{}/callbacks"),
    # The tracking link's token is the credential (docs/tracking.md).
    ("GET", "/track/{}"),
    ("GET", "/track/{}/map"),
    ("POST", "/track/{}/signature"),
}


def normalise(path: str) -> str:
    """`/orders/{id}` and `/orders/{order_id}` name the same route."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def readme_routes() -> list[tuple[str, str]]:
    """Every `METHOD /path` in the REST table of docs/api.md (paths relative to /api/v1)."""
    text = API_PAGE.read_text()
    section = text.split("## Endpoints", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`", section)
    return sorted({(method, normalise(path)) for method, path in found})


README_ROUTES = readme_routes()


# --- The schema, from an app that is never started ----------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    database = tmp_path_factory.mktemp("openapi") / "never-opened.db"
    return create_app(support.settings_for(f"sqlite+aiosqlite:///{database}"))


@pytest.fixture(scope="module")
def schema(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, normalised path under /api/v1) -> operation object."""
    found = {}
    for path, item in schema["paths"].items():
        assert path.startswith(PREFIX), path
        for method in METHODS:
            if method in item:
                found[(method.upper(), normalise(path.removeprefix(PREFIX)))] = item[method]
    return found


def operation(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    ops = operations(schema)
    key = (method, normalise(path))
    assert key in ops, f"{method} {path} is not in the schema"
    return ops[key]


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def violations(
    value: Any, node: dict[str, Any], schema: dict[str, Any], at: str = "$"
) -> list[str]:
    """Where `value` breaks `node`: the JSON Schema subset FastAPI emits (no formats/bounds)."""
    node = resolve(schema, node)
    problems: list[str] = []
    for sub in node.get("allOf", []):
        problems += violations(value, sub, schema, at)
    for key in ("anyOf", "oneOf"):
        if key in node and all(violations(value, sub, schema, at) for sub in node[key]):
            problems.append(f"{at}: {value!r} matches no branch of {key}")
    if "const" in node and value != node["const"]:
        problems.append(f"{at}: {value!r} is not {node['const']!r}")
    if "enum" in node and value not in node["enum"]:
        problems.append(f"{at}: {value!r} is not one of {node['enum']}")
    kinds = node.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if not any(_is(value, kind) for kind in kinds):
            return [*problems, f"{at}: {value!r} is not of type {kinds}"]
    if isinstance(value, dict):
        properties = node.get("properties", {})
        for name in node.get("required", []):
            if name not in value:
                problems.append(f"{at}: {name!r} is required")
        extra = node.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                problems += violations(item, properties[name], schema, f"{at}.{name}")
            elif extra is False:
                problems.append(f"{at}: {name!r} is not allowed")
            elif isinstance(extra, dict):
                problems += violations(item, extra, schema, f"{at}.{name}")
    if isinstance(value, list) and "items" in node:
        for index, item in enumerate(value):
            problems += violations(item, node["items"], schema, f"{at}[{index}]")
    return problems


def _is(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(
        value,
        {
            "string": str,
            "boolean": bool,
            "array": list,
            "object": dict,
            "null": type(None),
        }[kind],
    )


def json_body(op: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON request body's media object, if the operation takes one."""
    return op.get("requestBody", {}).get("content", {}).get("application/json")


def response_schema(op: dict[str, Any], status: int) -> dict[str, Any]:
    response = op["responses"].get(str(status))
    assert response is not None, f"{status} is not declared"
    return response["content"]["application/json"]["schema"]


# --- Served, and complete -----------------------------------------------------------------------


async def test_schema_is_served_at_both_addresses(app: FastAPI, schema: dict[str, Any]) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        root = await client.get("/openapi.json")
        versioned = await client.get(f"{PREFIX}/openapi.json")
        docs = await client.get(f"{PREFIX}/docs")
    assert root.status_code == 200, root.text
    assert versioned.status_code == 200, versioned.text
    assert root.headers["content-type"].startswith("application/json")
    assert root.json() == versioned.json() == schema
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Freshline"
    assert schema["info"]["version"]
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert f"{PREFIX}/openapi.json" in docs.text


def test_readme_table_was_read() -> None:
    assert len(README_ROUTES) >= 21, README_ROUTES
    assert ("POST", "/orders/{}/transitions") in README_ROUTES


@pytest.mark.parametrize(
    ("method", "path"), README_ROUTES, ids=[" ".join(r) for r in README_ROUTES]
)
def test_every_readme_route_is_in_the_schema(
    schema: dict[str, Any], method: str, path: str
) -> None:
    assert (method, path) in operations(schema)


def test_every_documented_operation_is_in_the_readme(schema: dict[str, Any]) -> None:
    assert set(operations(schema)) <= set(README_ROUTES)


def test_operation_ids_are_unique(schema: dict[str, Any]) -> None:
    ids = [op["operationId"] for op in operations(schema).values()]
    assert len(ids) == len(set(ids))


# --- Request bodies and their examples ----------------------------------------------------------


def body_examples(schema: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """Examples of a JSON body: on the media object or on the (referenced) schema."""
    found: list[Any] = []
    if "example" in media:
        found.append(media["example"])
    found += [e.get("value") for e in media.get("examples", {}).values()]
    body = resolve(schema, media["schema"])
    found += body.get("examples", [])
    if "example" in body:
        found.append(body["example"])
    return found


def body_model(media: dict[str, Any]) -> type[wire.WireModel]:
    name = media["schema"]["$ref"].rsplit("/", 1)[-1]
    return getattr(wire, name)


def json_posts(schema: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        key for key, op in operations(schema).items() if key[0] == "POST" and json_body(op)
    )


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/orders", wire.OrderCreate),
        ("/orders/{}/transitions", wire.TransitionRequest),
        ("/orders/{}/assign", wire.AssignRequest),
        ("/riders/{}/positions", wire.PositionBatch),
    ],
)
def test_main_request_bodies_carry_a_valid_example(
    schema: dict[str, Any], path: str, model: type[wire.WireModel]
) -> None:
    media = json_body(operation(schema, "POST", path))
    assert media is not None, f"POST {path} takes no JSON body"
    assert body_model(media) is model
    examples = body_examples(schema, media)
    assert examples, f"POST {path}: no example for {model.__name__}"
    for example in examples:
        model.model_validate(example)
        assert violations(example, media["schema"], schema) == []


def test_every_json_body_example_is_valid(schema: dict[str, Any]) -> None:
    """Whatever examples there are, a client copying them gets past validation."""
    posts = json_posts(schema)
    assert len(posts) >= 7, posts
    for method, path in posts:
        media = json_body(operation(schema, method, path))
        assert media is not None
        for example in body_examples(schema, media):
            body_model(media).model_validate(example)


def test_token_endpoint_documents_its_form_and_answer(schema: dict[str, Any]) -> None:
    op = operation(schema, "POST", "/auth/token")
    form = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    form = resolve(schema, form)
    assert {"username", "password"} <= set(form["required"])
    answer = resolve(schema, response_schema(op, 200))
    assert set(answer["properties"]) == {"access_token", "token_type", "role", "expires_at"}
    assert answer["properties"]["token_type"].get("const") == "bearer"


def test_order_list_documents_its_filters(schema: dict[str, Any]) -> None:
    op = operation(schema, "GET", "/orders")
    params = {p["name"]: p for p in op["parameters"]}
    expected = {"status", "channel", "warehouse_id", "zone", "rider_id", "late", "q"}
    assert expected | {"cursor", "limit"} <= set(params)
    assert all(p["in"] == "query" for p in params.values())
    limit = params["limit"]["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 500)
    status = params["status"]["schema"]
    array = next(s for s in status.get("anyOf", [status]) if s.get("type") == "array")
    states = resolve(schema, array["items"])["enum"]
    assert set(states) == {s.value for s in wire.OrderState}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/health", 200), ("POST", "/orders", 201), ("POST", "/users", 201)],
)
def test_success_statuses_are_the_real_ones(
    schema: dict[str, Any], method: str, path: str, status: int
) -> None:
    responses = operation(schema, method, path)["responses"]
    assert str(status) in responses
    assert not [s for s in responses if s.startswith("2") and s != str(status)]


def test_logout_answers_no_content(schema: dict[str, Any]) -> None:
    responses = operation(schema, "POST", "/auth/logout")["responses"]
    assert "204" in responses
    assert "content" not in responses["204"]


# --- Declared errors ----------------------------------------------------------------------------

# Where README (or the service, for refusals README only describes) answers 404 or 409:
# README "An object outside the caller's scope answers 404", the lifecycle section's 409s,
# `no going offline while carrying orders` (riders/service.py set_status -> Conflict),
# `never below reserved` (inventory/service.py adjust -> Conflict), a taken username
# (auth/service.py create_user -> Conflict), a reused channel order id; the token endpoint's
# 401 for a wrong password and README's 429 after five failures.
DECLARED_ERRORS = [
    ("GET", "/orders/{}", 404),
    ("GET", "/orders/{}/timeline", 404),
    ("GET", "/orders/{}/actions", 404),
    ("POST", "/orders", 409),
    ("POST", "/orders/{}/transitions", 404),
    ("POST", "/orders/{}/transitions", 409),
    ("POST", "/orders/{}/assign", 404),
    ("POST", "/orders/{}/assign", 409),
    ("GET", "/riders/{}", 404),
    ("GET", "/riders/{}/track", 404),
    ("GET", "/riders/{}/track", 422),
    ("GET", "/riders/{}/route", 404),
    ("GET", "/orders/{}/track", 404),
    ("POST", "/riders/{}/status", 404),
    ("POST", "/riders/{}/status", 409),
    ("POST", "/riders/{}/positions", 404),
    ("GET", "/warehouses/{}", 404),
    ("GET", "/warehouses/{}/stock", 404),
    ("POST", "/warehouses/{}/stock/{}/adjust", 404),
    ("POST", "/warehouses/{}/stock/{}/adjust", 409),
    ("POST", "/users", 409),
    ("POST", "/auth/token", 401),
    ("POST", "/auth/token", 429),
    ("GET", "/orders/{}/deliveries", 404),
    ("POST", "/channels/{}/orders", 401),
    ("POST", "/channels/{}/orders", 404),
    ("POST", "/channels/{}/orders", 409),
    ("POST", "/channels/{}/orders", 422),
    ("POST", "/channels/{}/orders", 429),
    ("POST", "/channels/{}/callbacks", 401),
    ("POST", "/channels/{}/callbacks", 409),
    ("POST", "/channels/{}/callbacks", 422),
    ("POST", "/channels/{}/callbacks", 429),
]


@pytest.mark.parametrize(
    ("method", "path", "status"), DECLARED_ERRORS, ids=lambda v: str(v).replace(" ", "")
)
def test_operation_declares_its_errors(
    schema: dict[str, Any], method: str, path: str, status: int
) -> None:
    op = operation(schema, method, path)
    assert str(status) in op["responses"], (
        f"{method} {PREFIX}{path} answers {status} but declares only {sorted(op['responses'])}"
    )
    body = response_schema(op, status)
    assert violations({"detail": "what went wrong"}, body, schema) == []


# Every POST that goes through the Idempotency-Key check answers 422 with a text `detail` for a
# bad key (backend/idempotency.py), and several refuse input with a text 422 of their own
# (a missing reason, an unknown SKU, a zero delta, a bad role scope, an invalid cursor).
TEXT_422 = [
    ("GET", "/orders"),
    ("POST", "/users"),
    ("POST", "/orders"),
    ("POST", "/orders/{}/transitions"),
    ("POST", "/orders/{}/assign"),
    ("POST", "/riders/{}/status"),
    ("POST", "/riders/{}/positions"),
    ("GET", "/riders/{}/track"),
    ("POST", "/warehouses/{}/stock/{}/adjust"),
]


@pytest.mark.parametrize(("method", "path"), TEXT_422, ids=[" ".join(r) for r in TEXT_422])
def test_declared_422_admits_a_text_detail(schema: dict[str, Any], method: str, path: str) -> None:
    op = operation(schema, method, path)
    problems = violations({"detail": "delta must not be 0"}, response_schema(op, 422), schema)
    assert problems == [], f"{method} {PREFIX}{path}: the declared 422 body refuses {problems}"


def test_protected_operations_document_the_bearer_token(schema: dict[str, Any]) -> None:
    schemes = schema.get("components", {}).get("securitySchemes", {})
    bearer = [
        name
        for name, scheme in schemes.items()
        if (scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer")
        or scheme.get("type") == "oauth2"
    ]
    assert bearer, f"no bearer security scheme: {schemes}"
    for key, op in operations(schema).items():
        security = op.get("security", schema.get("security", []))
        if key in PUBLIC:
            assert not security, f"{key} needs no token"
        else:
            assert security, f"{key} does not say it needs a token"
            assert "401" in op["responses"], f"{key} does not declare 401"


@pytest.mark.parametrize("path", [path for method, path in TEXT_422 if method == "POST"])
def test_posts_document_the_idempotency_key(schema: dict[str, Any], path: str) -> None:
    op = operation(schema, "POST", path)
    headers = {p["name"].lower() for p in op.get("parameters", []) if p["in"] == "header"}
    assert "idempotency-key" in headers


def test_the_idempotency_key_pattern_is_the_one_checked(schema: dict[str, Any]) -> None:
    # Keys with a space or a non-ASCII letter answer 422: the schema says so, not only README.
    for (method, path), op in operations(schema).items():
        for parameter in op.get("parameters", []):
            if parameter["name"] == HEADER:
                assert parameter["schema"]["pattern"] == KEY_PATTERN.pattern, (method, path)
                assert re.fullmatch(parameter["schema"]["pattern"], "k" * 200)
                assert not re.fullmatch(parameter["schema"]["pattern"], "has space")


def test_every_operation_with_a_body_declares_the_unparseable_400(schema: dict[str, Any]) -> None:
    with_body = {key: op for key, op in operations(schema).items() if "requestBody" in op}
    assert len(with_body) >= 20
    undeclared = sorted(key for key, op in with_body.items() if "400" not in op["responses"])
    assert undeclared == []
    for op in with_body.values():
        assert (
            violations(
                {"detail": "There was an error parsing the body"}, response_schema(op, 400), schema
            )
            == []
        )


def test_times_and_days_in_queries_are_documented_as_such(schema: dict[str, Any]) -> None:
    formats = {
        (method, path, p["name"]): p["schema"]
        for (method, path), op in operations(schema).items()
        for p in op.get("parameters", [])
        if p["name"] in ("updated_since", "since", "until", "start", "end", "day")
        and path != "/events"  # its `since` is a seq
    }
    assert len(formats) >= 12, formats
    for where, declared in formats.items():
        options = declared.get("anyOf", [declared])
        kinds = {o.get("format") for o in options if o.get("type") == "string"}
        assert kinds in ({"date-time"}, {"date"}), (where, declared)


def test_public_operations_need_no_token(schema: dict[str, Any]) -> None:
    for key in PUBLIC:
        op = operation(schema, *key)
        assert not op.get("security", schema.get("security", []))


# --- Real answers match the schema (one running app on SQLite) ----------------------------------


@pytest.fixture
async def live(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Api]:
    path = tmp_path / "freshline.db"
    shutil.copy(sqlite_template, path)
    clock = ManualClock()
    app = create_app(support.settings_for(f"sqlite+aiosqlite:///{path}"), clock=clock)
    async with (
        LifespanManager(app, startup_timeout=STARTUP_S, shutdown_timeout=STARTUP_S) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        yield Api(client, app, clock)


def assert_matches_declared(
    api: Api, method: str, path: str, response: httpx.Response, status: int
) -> None:
    assert response.status_code == status, response.text
    schema = api.app.openapi()
    op = operation(schema, method, path)
    assert str(status) in op["responses"], f"{method} {path} does not declare {status}"
    problems = violations(response.json(), response_schema(op, status), schema)
    assert problems == [], f"{method} {path} {status}: {response.json()} breaks {problems}"


async def test_not_found_and_conflict_bodies_match_the_schema(live: Api) -> None:
    missing = await live.get("dispatcher", "/orders/999999")
    assert_matches_declared(live, "GET", "/orders/{}", missing, 404)
    order = await live.create_order()
    stale = await live.post(
        "channel-app",
        f"/orders/{order['id']}/transitions",
        json={"action": "pay", "version": order["version"] + 5},
    )
    assert_matches_declared(live, "POST", "/orders/{}/transitions", stale, 409)


async def test_validation_error_body_matches_the_schema(live: Api) -> None:
    """A body missing its fields: FastAPI's validation answer, as the app rewrites it."""
    response = await live.post("channel-app", "/orders", json={})
    assert_matches_declared(live, "POST", "/orders", response, 422)


async def test_unparseable_body_answers_the_declared_400(live: Api) -> None:
    response = await live.post(
        "admin",
        "/warehouses/WH-CY/stock/VEG-BOKCHOY/adjust",
        content=b'{"delta": 1, "reason": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert_matches_declared(live, "POST", "/warehouses/{}/stock/{}/adjust", response, 400)


async def test_refusal_422_body_matches_the_schema(live: Api) -> None:
    """A well-formed request the service refuses: `{"detail": "cancel needs a reason"}`."""
    order = await live.create_order()
    response = await live.post(
        "channel-app",
        f"/orders/{order['id']}/transitions",
        json={"action": "cancel", "version": order["version"]},
    )
    assert_matches_declared(live, "POST", "/orders/{}/transitions", response, 422)


async def test_a_method_a_path_does_not_take_is_405_naming_those_it_does(app: FastAPI) -> None:
    # Routed by template, `PUT /orders/transitions` first meets `GET /orders/{order_id}`:
    # Starlette's own header said GET there. Nothing is routed, so the app need not start.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        for method, path, allowed in [
            ("PUT", "/orders/transitions", "POST"),
            ("DELETE", "/users", "GET, POST"),
            ("PUT", "/orders/5", "GET"),
            ("GET", "/riders/3/status", "POST"),
        ]:
            response = await client.request(method, PREFIX + path)
            assert response.status_code == 405, (method, path, response.text)
            assert response.headers["allow"] == allowed, (method, path)
            assert response.json() == {"detail": "Method Not Allowed"}
