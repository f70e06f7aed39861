"""The async REST client: one method per endpoint, typed by the wire models.

Retries only where it is safe: connection failures, 429 and 502/503/504, for GETs and for
POSTs, which always carry an `Idempotency-Key` (one per call, reused by its retries), so a
retried POST never acts twice. A 409 is an answer, never retried.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from backend_client.desk_calls import DeskCalls, query_params
from backend_client.errors import (
    ApiError,
    ConnectionFailed,
    RateLimited,
    ServerError,
    UnexpectedAnswer,
    error_for,
)
from backend_client.models import (
    AssignRequest,
    BatchTransition,
    Channel,
    ChannelCallbackResult,
    ChannelInfo,
    ChannelOrderReceipt,
    ChannelReconciliation,
    ChannelRejection,
    Delivery,
    DispatchSettings,
    Event,
    EventBatch,
    FleetFix,
    FleetPositions,
    FleetPositionsResult,
    Health,
    KpiExceptions,
    KpiSeries,
    KpiSummary,
    Me,
    Order,
    OrderAction,
    OrderCreate,
    OrderPage,
    OrderState,
    PositionBatch,
    PositionBatchResult,
    PositionPoint,
    ReconciliationReport,
    Rider,
    RiderIn,
    RiderRegistration,
    RiderStatus,
    RiderStatusUpdate,
    RiderSuggestion,
    StockAdjust,
    StockLevel,
    TokenResponse,
    Topic,
    TransitionBatch,
    TransitionRequest,
    TransitionResults,
    User,
    UserCreate,
    Warehouse,
)
from backend_client.retry import Backoff
from backend_client.rider_calls import RiderCalls
from backend_client.signing import signed_headers

T = TypeVar("T")
RETRYABLE_STATUSES = frozenset({502, 503, 504})


class FreshlineClient(DeskCalls, RiderCalls):
    """REST calls to one backend, as one account (set `token`, or call `login`); the desk's
    calls (alerts, returns and claims, handovers, sensors) come from `DeskCalls`, zones, tracks
    and routes from `RiderCalls`."""

    def __init__(
        self,
        server: str,
        *,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.retries = retries
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=f"{self.server}/api/v1", transport=transport, timeout=timeout
        )

    async def __aenter__(self) -> FreshlineClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- the request loop ---------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        answer: type[T] | Any,
        *,
        json: BaseModel | None = None,
        data: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        seconds: float | None = None,
        retry: bool = True,
    ) -> T:
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
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
                    return None  # type: ignore[return-value]
                try:
                    return TypeAdapter(answer).validate_json(response.content)
                except ValidationError as exc:
                    raise UnexpectedAnswer(f"{method} {path}: {exc}") from exc
            error = _error_of(response)
            if attempt >= self.retries or not retry or not _retryable(error):
                raise error
            wait = error.retry_after if isinstance(error, RateLimited) else 0.0
            await self._sleep(self.backoff.delay(attempt, at_least=wait))
            attempt += 1

    # --- auth ---------------------------------------------------------------------------------

    async def health(self) -> Health:
        return await self._call("GET", "/health", Health)

    async def login(self, username: str, password: str) -> TokenResponse:
        """Sign in; the client uses the new token from now on."""
        # Never retried: a 429 here means "too many attempts", to be shown to the person now,
        # and every retry would count as one more failed attempt.
        answer = await self._call(
            "POST",
            "/auth/token",
            TokenResponse,
            data={"username": username, "password": password},
            retry=False,
        )
        self.token = answer.access_token
        return answer

    async def logout(self) -> None:
        """Revoke the token; it is forgotten here even if the server had already refused it."""
        try:
            await self._call("POST", "/auth/logout", None)
        finally:
            self.token = None

    async def me(self) -> Me:
        return await self._call("GET", "/auth/me", Me)

    async def users(self) -> list[User]:
        return await self._call("GET", "/users", list[User])

    async def create_user(self, user: UserCreate, *, idempotency_key: str | None = None) -> User:
        return await self._call("POST", "/users", User, json=user, idempotency_key=idempotency_key)

    # --- orders -------------------------------------------------------------------------------

    async def orders(
        self,
        *,
        status: list[OrderState] | None = None,
        channel: str | None = None,
        warehouse_id: str | None = None,
        zone: str | None = None,
        rider_id: int | None = None,
        late: bool = False,
        q: str | None = None,
        updated_since: datetime | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> OrderPage:
        params = query_params(
            status=[str(s) for s in status or []] or None,
            channel=channel,
            warehouse_id=warehouse_id,
            zone=zone,
            rider_id=rider_id,
            late="true" if late else None,
            q=q,
            updated_since=updated_since and updated_since.isoformat(),
            cursor=cursor,
            limit=limit,
        )
        return await self._call("GET", "/orders", OrderPage, params=params)

    async def all_orders(self, **filters: Any) -> AsyncIterator[Order]:
        """Every order matching `filters`, most urgent first, page by page."""
        cursor = None
        while True:
            page = await self.orders(cursor=cursor, **filters)
            for order in page.items:
                yield order
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def order(self, order_id: int) -> Order:
        return await self._call("GET", f"/orders/{order_id}", Order)

    async def timeline(self, order_id: int) -> list[Event]:
        return await self._call("GET", f"/orders/{order_id}/timeline", list[Event])

    async def actions(self, order_id: int) -> list[OrderAction]:
        return await self._call("GET", f"/orders/{order_id}/actions", list[OrderAction])

    async def create_order(
        self, order: OrderCreate, *, idempotency_key: str | None = None
    ) -> Order:
        return await self._call(
            "POST", "/orders", Order, json=order, idempotency_key=idempotency_key
        )

    async def transition(
        self,
        order_id: int,
        action: OrderAction | str,
        version: int,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Order:
        request = TransitionRequest(action=OrderAction(action), version=version, reason=reason)
        return await self._call(
            "POST",
            f"/orders/{order_id}/transitions",
            Order,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def transition_many(
        self, transitions: list[BatchTransition], *, idempotency_key: str | None = None
    ) -> TransitionResults:
        """Many transitions in one request, each applied or refused on its own."""
        return await self._call(
            "POST",
            "/orders/transitions",
            TransitionResults,
            json=TransitionBatch(transitions=transitions),
            idempotency_key=idempotency_key,
        )

    async def assign(
        self,
        order_id: int,
        rider_id: int,
        version: int,
        *,
        reason: str | None = None,
        resume: bool = False,
        idempotency_key: str | None = None,
    ) -> Order:
        """Give the order to a rider; `resume`: an order in EXCEPTION goes on with them at once
        (and its exception alert is resolved)."""
        request = AssignRequest(rider_id=rider_id, version=version, reason=reason, resume=resume)
        return await self._call(
            "POST",
            f"/orders/{order_id}/assign",
            Order,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def rider_suggestions(self, order_id: int, *, limit: int = 5) -> list[RiderSuggestion]:
        return await self._call(
            "GET",
            f"/orders/{order_id}/rider-suggestions",
            list[RiderSuggestion],
            params={"limit": limit},
        )

    # --- riders -------------------------------------------------------------------------------

    async def riders(
        self, *, status: RiderStatus | None = None, warehouse_id: str | None = None
    ) -> list[Rider]:
        params = query_params(status=status and str(status), warehouse_id=warehouse_id)
        return await self._call("GET", "/riders", list[Rider], params=params)

    async def rider(self, rider_id: int) -> Rider:
        return await self._call("GET", f"/riders/{rider_id}", Rider)

    async def set_rider_status(self, rider_id: int, status: RiderStatus | str) -> Rider:
        request = RiderStatusUpdate(status=RiderStatus(status))
        return await self._call("POST", f"/riders/{rider_id}/status", Rider, json=request)

    async def upload_positions(
        self, rider_id: int, points: list[PositionPoint], *, idempotency_key: str | None = None
    ) -> PositionBatchResult:
        return await self._call(
            "POST",
            f"/riders/{rider_id}/positions",
            PositionBatchResult,
            json=PositionBatch(points=points),
            idempotency_key=idempotency_key,
        )

    async def register_riders(
        self, riders: list[RiderIn], *, idempotency_key: str | None = None
    ) -> list[Rider]:
        return await self._call(
            "POST",
            "/riders",
            list[Rider],
            json=RiderRegistration(riders=riders),
            idempotency_key=idempotency_key,
        )

    async def relay_positions(
        self, fixes: list[FleetFix], *, idempotency_key: str | None = None
    ) -> FleetPositionsResult:
        return await self._call(
            "POST",
            "/positions",
            FleetPositionsResult,
            json=FleetPositions(fixes=fixes),
            idempotency_key=idempotency_key,
        )

    # --- warehouses and stock -----------------------------------------------------------------

    async def warehouses(self) -> list[Warehouse]:
        return await self._call("GET", "/warehouses", list[Warehouse])

    async def warehouse(self, warehouse_id: str) -> Warehouse:
        return await self._call("GET", f"/warehouses/{warehouse_id}", Warehouse)

    async def stock(self, warehouse_id: str) -> list[StockLevel]:
        return await self._call("GET", f"/warehouses/{warehouse_id}/stock", list[StockLevel])

    async def adjust_stock(
        self, warehouse_id: str, sku: str, delta: int, reason: str
    ) -> StockLevel:
        return await self._call(
            "POST",
            f"/warehouses/{warehouse_id}/stock/{sku}/adjust",
            StockLevel,
            json=StockAdjust(delta=delta, reason=reason),
        )

    async def set_auto_dispatch(self, warehouse_id: str, on: bool) -> Warehouse:
        return await self._call(
            "PUT",
            f"/warehouses/{warehouse_id}/dispatch",
            Warehouse,
            json=DispatchSettings(auto_dispatch=on),
        )

    # --- KPIs ---------------------------------------------------------------------------------

    async def kpi_summary(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        channel: str | None = None,
        warehouse_id: str | None = None,
        zone: str | None = None,
    ) -> KpiSummary:
        params = _kpiquery_params(start, end, channel, warehouse_id, zone)
        return await self._call("GET", "/kpi/summary", KpiSummary, params=params)

    async def kpi_series(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        bucket_minutes: int = 15,
        channel: str | None = None,
        warehouse_id: str | None = None,
        zone: str | None = None,
    ) -> KpiSeries:
        params = _kpiquery_params(start, end, channel, warehouse_id, zone)
        params["bucket_minutes"] = bucket_minutes
        return await self._call("GET", "/kpi/series", KpiSeries, params=params)

    async def kpi_exceptions(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        channel: str | None = None,
        warehouse_id: str | None = None,
        zone: str | None = None,
    ) -> KpiExceptions:
        params = _kpiquery_params(start, end, channel, warehouse_id, zone)
        return await self._call("GET", "/kpi/exceptions", KpiExceptions, params=params)

    async def kpi_reconciliation(
        self, *, day: date | None = None, tz: str = "UTC"
    ) -> ReconciliationReport:
        params = query_params(day=day and day.isoformat(), tz=tz)
        return await self._call("GET", "/kpi/reconciliation", ReconciliationReport, params=params)

    # --- the long-poll fallback ---------------------------------------------------------------

    async def events(
        self,
        since: int | None,
        topics: list[Topic | str],
        *,
        wait: float = 0,
        warehouse_id: str | None = None,
        zone: str | None = None,
    ) -> EventBatch:
        params = query_params(
            since=since,
            topics=[str(t) for t in topics],
            wait=wait,
            warehouse_id=warehouse_id,
            zone=zone,
        )
        return await self._call("GET", "/events", EventBatch, params=params, seconds=wait + 10)

    # --- sales channels (signed by the channel's secret, no token) -----------------------------

    async def send_channel_order(
        self, channel: Channel | str, payload: dict[str, Any] | bytes, secret: str
    ) -> ChannelOrderReceipt:
        """A channel's own order payload, signed; a retry answers the first answer."""
        return await self._signed(
            f"/channels/{channel}/orders", payload, secret, ChannelOrderReceipt
        )

    async def send_channel_callback(
        self, channel: Channel | str, payload: dict[str, Any] | bytes, secret: str
    ) -> ChannelCallbackResult:
        """A channel's own status callback, signed."""
        return await self._signed(
            f"/channels/{channel}/callbacks", payload, secret, ChannelCallbackResult
        )

    async def _signed(
        self, path: str, payload: dict[str, Any] | bytes, secret: str, answer: type[T]
    ) -> T:
        # Signed afresh on every attempt: a retry after a long wait must not look like a replay.
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        attempt = 0
        while True:
            try:
                response = await self._http.post(
                    path, content=body, headers=signed_headers(secret, body)
                )
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise ConnectionFailed(f"POST {path}: {exc!r}") from exc
                await self._sleep(self.backoff.delay(attempt))
                attempt += 1
                continue
            if response.status_code < 400:
                try:
                    return TypeAdapter(answer).validate_json(response.content)
                except ValidationError as exc:
                    raise UnexpectedAnswer(f"POST {path}: {exc}") from exc
            error = _error_of(response)
            if attempt >= self.retries or not _retryable(error):
                raise error
            wait = error.retry_after if isinstance(error, RateLimited) else 0.0
            await self._sleep(self.backoff.delay(attempt, at_least=wait))
            attempt += 1

    async def channels(self) -> list[ChannelInfo]:
        return await self._call("GET", "/channels", list[ChannelInfo])

    async def channel_rejections(
        self, *, channel: Channel | str | None = None, limit: int = 100
    ) -> list[ChannelRejection]:
        params = query_params(channel=str(channel) if channel else None, limit=limit)
        return await self._call(
            "GET", "/channels/rejections", list[ChannelRejection], params=params
        )

    async def reconciliation(
        self, day: date, *, channel: Channel | str | None = None
    ) -> list[ChannelReconciliation]:
        params = query_params(day=day.isoformat(), channel=str(channel) if channel else None)
        return await self._call(
            "GET", "/channels/reconciliation", list[ChannelReconciliation], params=params
        )

    async def reconciliation_csv(self, day: date, *, channel: Channel | str | None = None) -> str:
        params = query_params(day=day.isoformat(), channel=str(channel) if channel else None)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self._http.get(
            "/channels/reconciliation.csv", params=params, headers=headers
        )
        if response.status_code >= 400:
            raise _error_of(response)
        return response.text

    async def order_deliveries(self, order_id: int) -> list[Delivery]:
        """The parcels the order travels in (merged with others, or split)."""
        return await self._call("GET", f"/orders/{order_id}/deliveries", list[Delivery])


def _kpiquery_params(
    start: datetime | None,
    end: datetime | None,
    channel: str | None,
    warehouse_id: str | None,
    zone: str | None,
) -> dict[str, Any]:
    return query_params(
        start=start and start.isoformat(),
        end=end and end.isoformat(),
        channel=channel,
        warehouse_id=warehouse_id,
        zone=zone,
    )


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
