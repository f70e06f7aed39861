"""Schemathesis against a real `freshline serve --demo`: generated requests for every operation
in the OpenAPI schema, each answer checked against that schema.

Bounded: a few examples per operation and phase (`EXAMPLES`) on one server, derandomised so a
run is repeatable. Fails on a 5xx; on a status, content type, header or body the operation does
not declare; on schema-violating input accepted; on a missing or forged token accepted (`EXCLUDED`
says which checks are left out, and why). Signed in as admin, who holds every permission; the
channels' signed endpoints answer unsigned requests 401, which they declare.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance, unsupported_method
from schemathesis.generation.case import Case

from tests.servers import Server, serving

pytestmark = [pytest.mark.slow, pytest.mark.long(90)]

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


# Logging out would revoke the one token every other case is sent with.
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


def test_the_run_was_made_as_admin_throughout(server: Server, admin_token: str) -> None:
    # Generated changes to accounts could have disabled or demoted admin, leaving the run
    # above to collect 401s and 403s: the token still works, as admin. After the run on the
    # same server: pytest keeps a module's order, and `make test` deals whole files to workers.
    with server.client() as client:
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {admin_token}"})
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "admin"
