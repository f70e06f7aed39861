"""X-Forwarded-For through a real `freshline serve` (real uvicorn): believed only from the
addresses in `trusted_proxies`, so a local client cannot reset its count by naming another."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.servers import Server, serving

# slow: a real `freshline serve` per test.
pytestmark = pytest.mark.slow


def sign_in(server: Server, username: str, password: str, forwarded_for: str) -> httpx.Response:
    with server.client() as client:
        return client.post(
            "/api/v1/auth/token",
            data={"username": username, "password": password},
            headers={"X-Forwarded-For": forwarded_for},
        )


def serve_args(tmp_path: Path) -> tuple[str, ...]:
    return ("--demo", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'freshline.db'}")


def test_a_spoofed_x_forwarded_for_does_not_reset_the_count(tmp_path: Path) -> None:
    """No proxy trusted (the default): every guess comes from 127.0.0.1, whatever the header
    claims, and the lockout refuses the right password too."""
    with serving(tmp_path, *serve_args(tmp_path)) as server:
        for n in range(5):
            wrong = sign_in(server, "dispatcher", "Spring2026!", f"203.0.113.{n}")
            assert wrong.status_code == 401, wrong.text
        right = sign_in(server, "dispatcher", "demo-dispatcher", "203.0.113.77")
        assert right.status_code == 429, right.text
        assert 1 <= int(right.headers["Retry-After"]) <= 300


def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    env = {"FRESHLINE_TRUSTED_PROXIES": json.dumps(["127.0.0.1"])}
    with serving(tmp_path, *serve_args(tmp_path), env=env) as server:
        for _ in range(5):
            wrong = sign_in(server, "dispatcher", "Spring2026!", "203.0.113.1")
            assert wrong.status_code == 401, wrong.text
        assert sign_in(server, "dispatcher", "demo-dispatcher", "203.0.113.1").status_code == 429
        assert sign_in(server, "dispatcher", "demo-dispatcher", "203.0.113.2").status_code == 200
