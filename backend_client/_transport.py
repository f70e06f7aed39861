"""The request loop every call goes through: headers, retries, errors, typed answers.

Retries only where it is safe: connection failures, 429 and 502/503/504, for GETs and for
POSTs, which always carry an `Idempotency-Key` (one per call, reused by its retries), so a
retried POST never acts twice. A 409 is an answer, never retried.
"""

from __future__ import annotations

import json as jsonlib
import ssl
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from backend_client._errors import (
    ApiError,
    ConnectionFailed,
    RateLimited,
    ServerError,
    UnexpectedAnswer,
    error_for,
)
from backend_client._retry import Backoff
from backend_client.signing import signed_headers

T = TypeVar("T")
RETRYABLE_STATUSES = frozenset({502, 503, 504})


def query_params(**values: Any) -> dict[str, Any]:
    """Query parameters without the ones left unset."""
    return {k: v for k, v in values.items() if v is not None}


class Transport:
    """One backend's REST API as one account: the bearer token, and the loop that sends."""

    def __init__(
        self,
        server: str,
        *,
        token: str | None,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        retries: int,
        backoff: Backoff,
        sleep: Callable[[float], Awaitable[None]],
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.server = server
        self.token = token
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=f"{server}/api/v1", transport=transport, timeout=timeout, verify=verify
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @overload
    async def call(
        self,
        method: str,
        path: str,
        answer: type[T],
        *,
        json: BaseModel | None = None,
        data: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        seconds: float | None = None,
        retry: bool = True,
    ) -> T: ...

    @overload
    async def call(
        self,
        method: str,
        path: str,
        answer: None,
        *,
        json: BaseModel | None = None,
        data: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        seconds: float | None = None,
        retry: bool = True,
    ) -> None: ...

    async def call(
        self,
        method: str,
        path: str,
        answer: type[T] | None,
        *,
        json: BaseModel | None = None,
        data: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        seconds: float | None = None,
        retry: bool = True,
    ) -> T | None:
        """Send one request (retried where safe); the answer read as `answer` (None: no body)."""
        headers = self._auth()
        if method == "POST" and data is None:
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        body = json.model_dump(mode="json", exclude_none=True) if json is not None else None
        extra: dict[str, Any] = {"timeout": seconds} if seconds is not None else {}
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method, path, json=body, data=data, params=params, headers=headers, **extra
                )
            except httpx.TransportError as exc:
                if attempt >= self.retries or not retry:
                    raise ConnectionFailed(f"{method} {path}: {exc!r}") from exc
                await self._sleep(self.backoff.delay(attempt))
                attempt += 1
                continue
            if response.status_code < 400:
                if response.status_code == 204 or answer is None:
                    return None
                return _read(answer, response, f"{method} {path}")
            error = _error_of(response)
            if attempt >= self.retries or not retry or not _retryable(error):
                raise error
            wait = error.retry_after if isinstance(error, RateLimited) else 0.0
            await self._sleep(self.backoff.delay(attempt, at_least=wait))
            attempt += 1

    async def signed(
        self, path: str, payload: dict[str, Any] | bytes, secret: str, answer: type[T]
    ) -> T:
        """POST a sales channel's own payload, signed with its secret (no token)."""
        # Signed afresh on every attempt: a retry after a long wait must not look like a replay.
        body = payload if isinstance(payload, bytes) else jsonlib.dumps(payload).encode()
        return await self._posting(
            path,
            answer,
            lambda: self._http.post(path, content=body, headers=signed_headers(secret, body)),
        )

    async def upload(
        self,
        path: str,
        answer: type[T],
        *,
        data: dict[str, str],
        files: dict[str, tuple[str, bytes]],
        idempotency_key: str | None = None,
    ) -> T:
        """POST a multipart form with files (a proof photo); retried where safe, under one
        `Idempotency-Key`, so a retry never records twice."""
        headers = {**self._auth(), "Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        return await self._posting(
            path, answer, lambda: self._http.post(path, data=data, files=files, headers=headers)
        )

    async def _posting(
        self, path: str, answer: type[T], send: Callable[[], Awaitable[httpx.Response]]
    ) -> T:
        """`send()` a POST until it is answered, retried on transport errors and retryable
        answers (after `Retry-After` for a 429) up to `retries` times."""
        attempt = 0
        while True:
            try:
                response = await send()
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise ConnectionFailed(f"POST {path}: {exc!r}") from exc
                await self._sleep(self.backoff.delay(attempt))
                attempt += 1
                continue
            if response.status_code < 400:
                return _read(answer, response, f"POST {path}")
            error = _error_of(response)
            if attempt >= self.retries or not _retryable(error):
                raise error
            wait = error.retry_after if isinstance(error, RateLimited) else 0.0
            await self._sleep(self.backoff.delay(attempt, at_least=wait))
            attempt += 1

    async def content(self, path: str, *, params: dict[str, Any] | None = None) -> bytes:
        """GET an answer that is not JSON (an image, a ZIP) as bytes, once."""
        response = await self._http.get(path, params=params, headers=self._auth())
        if response.status_code >= 400:
            raise _error_of(response)
        return response.content

    async def text(self, path: str, *, params: dict[str, Any]) -> str:
        """GET a plain-text answer (a CSV), once."""
        response = await self._http.get(path, params=params, headers=self._auth())
        if response.status_code >= 400:
            raise _error_of(response)
        return response.text


class Resource:
    """A group of calls on one part of the API (`client.orders`, `client.alerts`, ...)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport


def _read(answer: type[T], response: httpx.Response, what: str) -> T:
    try:
        return TypeAdapter(answer).validate_json(response.content)
    except ValidationError as exc:
        raise UnexpectedAnswer(f"{what}: {exc}") from exc


def _error_of(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return error_for(response.status_code, body, response.headers.get("retry-after"))


def _retryable(error: ApiError) -> bool:
    return isinstance(error, RateLimited) or (
        isinstance(error, ServerError) and error.status in RETRYABLE_STATUSES
    )
