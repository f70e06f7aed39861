"""A desk driving a real `freshline serve --demo` over REST for the tracking link's live and
browser tests: orders made, paid, picked, given to a rider and sent out; rider fixes posted."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.support import customer

_ids = itertools.count(1)
WH_CY = (39.9334, 116.455)
HOME = (WH_CY[0] + 0.027, WH_CY[1])
"""Three kilometres north of the Chaoyang store."""


def north(metres: float, of: tuple[float, float] = HOME) -> tuple[float, float]:
    return (of[0] + metres / 111_194.93, of[1])


class Desk:
    """Demo accounts on a server, by name."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.tokens: dict[str, str] = {}

    def auth(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            answer = self.http.post(
                "/api/v1/auth/token", data={"username": username, "password": f"demo-{username}"}
            )
            assert answer.status_code == 200, answer.text
            self.tokens[username] = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def call(self, username: str, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, f"/api/v1{path}", headers=self.auth(username), **kwargs)
        assert answer.status_code < 300, answer.text
        return answer.json()

    def act(self, username: str, order: dict[str, Any], action: str) -> dict[str, Any]:
        body = {"action": action, "version": order["version"]}
        return dict(self.call(username, "POST", f"/orders/{order['id']}/transitions", json=body))

    def order(self) -> tuple[dict[str, Any], str]:
        """A new order to HOME and its tracking token."""
        body = {
            "external_id": f"TRACK-{next(_ids)}-{datetime.now(UTC):%H%M%S%f}",
            "customer": customer(phone="13911116666", lat=HOME[0], lng=HOME[1]),
            "items": [{"sku": "VEG-BOKCHOY", "quantity": 2}, {"sku": "VEG-TOMATO", "quantity": 1}],
        }
        order = self.call("channel-app", "POST", "/orders", json=body)
        return order, order["tracking_url"].removeprefix("/t/")

    def out_for_delivery(self, order: dict[str, Any], rider: int) -> dict[str, Any]:
        self.call(f"rider-{rider}", "POST", f"/riders/{rider}/status", json={"status": "online"})
        order = self.act("channel-app", order, "pay")
        order = self.act("dispatcher", order, "start_picking")
        body = {"rider_id": rider, "version": order["version"]}
        order = self.call("dispatcher", "POST", f"/orders/{order['id']}/assign", json=body)
        return self.act(f"rider-{rider}", order, "dispatch")

    def fix(self, rider: int, at: tuple[float, float]) -> None:
        point = {"lat": at[0], "lng": at[1], "at": datetime.now(UTC).isoformat()}
        self.call(f"rider-{rider}", "POST", f"/riders/{rider}/positions", json={"points": [point]})

    def view(self, token: str) -> dict[str, Any]:
        answer = self.http.get(f"/api/v1/track/{token}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())
