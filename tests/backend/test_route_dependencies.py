"""What a request costs before its handler runs: the dependencies FastAPI solves for it.

Routes declare the parts they use (`backend/deps.py`) and one permission alias
(`backend/auth/deps.py`), whose gate authenticates and checks the role in one dependency. Each
dependency solved is a few microseconds of the write path's budget (docs/writes.md): the hot
routes keep to what they solved when they took the whole runtime (five), or fewer.
"""

from __future__ import annotations

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from backend.app import create_app
from backend.auth.deps import Gate
from tests import support

API = "/api/v1"


def solved(dependant: Dependant) -> int:
    """Dependencies solved per request, each level counted as FastAPI walks it."""
    return sum(1 + solved(sub) for sub in dependant.dependencies)


def routes() -> dict[tuple[str, str], APIRoute]:
    app = create_app(support.settings_for("sqlite+aiosqlite:///:memory:"))
    found: dict[tuple[str, str], APIRoute] = {}
    for included in app.routes:
        for route in getattr(getattr(included, "original_router", None), "routes", []):
            if isinstance(route, APIRoute):
                for method in route.methods:
                    found[method, route.path] = route
    return found


def test_the_write_path_solves_no_more_dependencies_than_it_did() -> None:
    found = routes()
    assert {
        key: solved(found[key].dependant)
        for key in [
            ("POST", "/orders/{order_id}/transitions"),
            ("POST", "/orders/transitions"),
            ("POST", "/orders/{order_id}/assign"),
            ("GET", "/orders"),
            ("POST", "/riders/{rider_id}/positions"),
            ("POST", "/positions"),
        ]
    } == {
        ("POST", "/orders/{order_id}/transitions"): 4,
        ("POST", "/orders/transitions"): 4,
        ("POST", "/orders/{order_id}/assign"): 3,
        ("GET", "/orders"): 3,
        ("POST", "/riders/{rider_id}/positions"): 5,
        ("POST", "/positions"): 5,
    }


def test_every_signed_in_route_passes_one_gate() -> None:
    # One gate: the token checked once, the role once, and the bearer scheme in OpenAPI.
    for (method, path), route in routes().items():
        gates = [d for d in route.dependant.dependencies if isinstance(d.call, Gate)]
        public = (
            path in ("/auth/token", "/health/ready")
            or path.startswith("/channels/{channel}/")
            or path.startswith(("/track/{token}", "/t/"))  # the link's token is the credential
            or path.startswith("/ssh/gateway/")  # the SSH gateway's secret (its own scheme)
        )
        assert len(gates) == (0 if public else 1), (method, path)
