"""Schemathesis against a real `freshline serve --demo`: generated requests for every operation
in the OpenAPI schema, each answer checked against that schema.

Bounded: a few examples per operation (`EXAMPLES`) on one server, derandomised so a run is
repeatable. Every check but the response-time one fails the test: a 5xx, a status, content type,
header or body the operation does not declare, data the schema allows refused, data it forbids
accepted. Signed in as admin, who holds every permission; the channels' signed endpoints answer
401 to unsigned requests, which they declare.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance, unsupported_method
from schemathesis.generation.case import Case

from tests.servers import Server, serving

pytestmark = pytest.mark.slow

EXAMPLES = 8
"""Per operation and phase: enough to reach each operation's edges, few enough for two cores."""
EXCLUDED = [positive_data_acceptance, unsupported_method]
"""Not schema conformance, and wrong here: the service refuses schema-valid input that breaks a
rule of the domain (an unknown warehouse, a window that ends before it starts, a reused
Idempotency-Key) with a 422 saying which; and a method a fixed path lacks is routed to the
template beside it (`GET /orders/transitions` is `GET /orders/{order_id}` with an id that is not
a number: a 422 naming `order_id`, where this check wants a 405)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp_path = tmp_path_factory.mktemp("schemathesis")
    database = f"sqlite+aiosqlite:///{tmp_path / 'freshline.db'}"
    with serving(tmp_path, "--demo", "--database-url", database) as running:
        yield running


@pytest.fixture(scope="module")
def admin_token(server: Server) -> str:
    with server.client() as client:
        response = client.post(
            "/api/v1/auth/token", data={"username": "admin", "password": "demo-admin"}
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def api_schema(server: Server, admin_token: str) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_url(f"{server.base_url}/api/v1/openapi.json")

    # A provider rather than a header added to each call: schemathesis then knows which token
    # is the real one, and its cases without it, or with a forged one, go as generated.
    @loaded.auth(refresh_interval=None, retry_on=[])
    class Admin:
        def get(self, case: Case, ctx: object) -> str:
            return admin_token

        def set(self, case: Case, data: str, ctx: object) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.exclude(path="/api/v1/auth/logout").parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says(case: Case) -> None:
    if case.operation.path == "/api/v1/events" and isinstance(case.query, dict):
        # The long poll's `wait` is how long the server holds the answer (up to 60 s), a
        # client's cadence rather than input to probe: no news is waited for here.
        case.query["wait"] = 0
    case.call_and_validate(excluded_checks=EXCLUDED)


def test_the_run_reaches_the_real_server(server: Server, tmp_path: Path) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Freshline"
