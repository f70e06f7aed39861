"""Security headers on every HTTP answer, as one small ASGI middleware.

Every answer is data for a program, never a page to render or to keep: `nosniff`, a CSP that
allows nothing (the docs page sends its own), no referrer, no framing, and `Cache-Control:
no-store`, so the token answer and the personal data in orders, riders and tracks are never
kept by a browser or a proxy. An answer that sets one of these itself keeps its own. Over TLS,
`Strict-Transport-Security` too. Cost: one list built per answer (bench/edge_headers.py).
"""

from __future__ import annotations

from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""What a JSON answer may load in a browser: nothing, and it may not be framed."""

HSTS = (b"strict-transport-security", b"max-age=31536000")
"""Sent over TLS only: a year of HTTPS for this host once a browser has seen it."""

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", API_POLICY.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
)

NAMES = frozenset(name for name, _ in (*SECURITY_HEADERS, HSTS))


class SecurityHeaders:
    """Add `SECURITY_HEADERS` (and HSTS over TLS) to every HTTP answer that lacks them."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Read now, not on the way in: behind a trusted proxy the middleware inside
                # (ProxyHeadersMiddleware) has set the scheme from X-Forwarded-Proto since.
                tls = scope.get("scheme") == "https"
                extra = (*SECURITY_HEADERS, HSTS) if tls else SECURITY_HEADERS
                headers = list(message.get("headers") or ())
                # ASGI header names are lower case already.
                present = {name for name, _ in headers}
                if present.isdisjoint(NAMES):
                    headers.extend(extra)
                else:
                    headers.extend(h for h in extra if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_security_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """`SECURITY_HEADERS` as a response's `headers=` (for an answer sent outside the middleware:
    Starlette's last-resort 500 is sent by its outermost layer), `headers` added."""
    return {
        **{name.decode(): value.decode() for name, value in SECURITY_HEADERS},
        **(headers or {}),
    }
