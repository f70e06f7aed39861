"""`FreshlineClient`: one backend, as one account; its calls grouped by what they are about."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Unpack

import httpx

from backend_client._alerts import Alerts
from backend_client._channels import Channels
from backend_client._customers import Customers
from backend_client._handover import ShiftHandover
from backend_client._kpi import Kpi
from backend_client._notifications import Notifications
from backend_client._orders import Orders
from backend_client._proofs import Proofs
from backend_client._reports import Reports
from backend_client._requests import Requests
from backend_client._retry import Backoff
from backend_client._riders import Riders
from backend_client._sensors import Sensors
from backend_client._ssh import SshGateway, SshKeys
from backend_client._stream import Stream, StreamOptions
from backend_client._takeovers import Takeovers
from backend_client._tls import ca_file_in_force, client_tls
from backend_client._tracking import Tracking
from backend_client._transport import Transport, query_params
from backend_client._users import Users
from backend_client._views import SavedViews
from backend_client._warehouses import Warehouses
from backend_client._webhooks import Webhooks
from backend_client.models import EventBatch, Health, Me, TokenResponse, Topic


class FreshlineClient:
    """REST calls to one backend, as one account (set `token`, or call `login`).

    The session's own calls are methods (`health`, `login`, `logout`, `me`, `events`,
    `stream`); everything else is grouped: `client.orders.transition(...)`,
    `client.alerts.acknowledge(...)`, `client.riders.route(...)`, ...
    """

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
        ca_file: str | None = None,
    ) -> None:
        ca_file = ca_file_in_force(ca_file)
        self.tls: ssl.SSLContext | None = (
            client_tls(ca_file) if server.startswith("https://") else None
        )
        """How an `https://` server is verified (REST and the `wss://` stream): against
        `ca_file`, else `FRESHLINE_CA_FILE`, else the public CAs; None for `http://`."""
        self._transport = Transport(
            server.rstrip("/"),
            token=token,
            transport=transport,
            timeout=timeout,
            retries=retries,
            backoff=backoff or Backoff(),
            sleep=sleep,
            verify=self.tls or True,
        )
        self.orders = Orders(self._transport)
        """Orders, their lifecycle, parcels and track; returns and claims are opened here."""
        self.riders = Riders(self._transport)
        """The fleet: status, fixes, tracks, routes, handovers."""
        self.alerts = Alerts(self._transport)
        """The exception queue: list, acknowledge, snooze; the rules in force."""
        self.requests = Requests(self._transport)
        """Returns and claims waiting for a decision, and the decisions."""
        self.warehouses = Warehouses(self._transport)
        """Warehouses, stock, auto-dispatch and the zones they serve."""
        self.kpi = Kpi(self._transport)
        """KPI summary, series, trouble by reason, the day's ledger."""
        self.reports = Reports(self._transport)
        """The day report, as a model or a file (Markdown, CSV, PDF)."""
        self.channels = Channels(self._transport)
        """The sales channels' gateway."""
        self.users = Users(self._transport)
        """Accounts (admins only)."""
        self.ssh_keys = SshKeys(self._transport)
        """Public keys that sign in over `freshline ssh-serve` (admins only)."""
        self.ssh_gateway = SshGateway(self._transport)
        """The SSH gateway's calls (its secret as the token; `freshline ssh-serve` only)."""
        """Accounts (admins only)."""
        self.customers = Customers(self._transport)
        """A customer's erasure."""
        self.sensors = Sensors(self._transport)
        """Cold-chain temperature readings."""
        self.notifications = Notifications(self._transport)
        """What customers were told: sent, pending, parked."""
        self.tracking = Tracking(self._transport)
        """Customers' tracking links, and riders asking customers to sign on them."""
        self.proofs = Proofs(self._transport)
        """Proofs of delivery: photos, signatures, PINs."""
        self.webhooks = Webhooks(self._transport)
        """Outbound webhook subscriptions, their lag and failures."""
        self.handover = ShiftHandover(self._transport)
        """The shift handover digest."""
        self.views = SavedViews(self._transport)
        """Your saved views of the board."""
        self.takeovers = Takeovers(self._transport)
        """Proposed handovers of a rider's orders (automatic handover), and undoing them."""

    @property
    def server(self) -> str:
        """The backend's base URL, without a trailing slash."""
        return self._transport.server

    @property
    def token(self) -> str | None:
        """The bearer token every call presents (None: none)."""
        return self._transport.token

    @token.setter
    def token(self, token: str | None) -> None:
        self._transport.token = token

    async def __aenter__(self) -> FreshlineClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    # --- the session --------------------------------------------------------------------------

    async def health(self) -> Health:
        """The server's clock, speed and business time zone (no token needed)."""
        return await self._transport.call("GET", "/health", Health)

    async def login(self, username: str, password: str) -> TokenResponse:
        """Sign in; the client uses the new token from now on."""
        # Never retried: a 429 here means "too many attempts", to be shown to the person now,
        # and every retry would count as one more failed attempt.
        answer = await self._transport.call(
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
            await self._transport.call("POST", "/auth/logout", None)
        finally:
            self.token = None

    async def me(self) -> Me:
        """The account behind the token, with its scope."""
        return await self._transport.call("GET", "/auth/me", Me)

    # --- what changes ---------------------------------------------------------------------------

    def stream(self, topics: Sequence[Topic | str], **options: Unpack[StreamOptions]) -> Stream:
        """The live stream from `since` (None: from now on): `async for message in ...`.

        Every visible event exactly once and in order, across reconnections, gaps and long
        polling; see `Stream` for its options and what it yields, and docs/stream.md for the
        protocol."""
        return Stream(self, topics, **options)

    async def events(
        self,
        since: int | None,
        topics: Sequence[Topic | str],
        *,
        wait: float = 0,
        warehouse_id: str | None = None,
        zone: str | None = None,
    ) -> EventBatch:
        """The long-poll fallback: events after `since`, waiting up to `wait` s for one."""
        params = query_params(
            since=since,
            topics=[str(t) for t in topics],
            wait=wait,
            warehouse_id=warehouse_id,
            zone=zone,
        )
        return await self._transport.call(
            "GET", "/events", EventBatch, params=params, seconds=wait + 10
        )
