"""The FastAPI application: `create_app(settings)` wires routers, errors, database and clock."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import HTTPConnection
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.utils import ClientDisconnected

from backend.alerts.engine import AlertEngine
from backend.alerts.order_sensors import router as order_sensors_router
from backend.alerts.router import router as alerts_router
from backend.alerts.rules import RuleBook
from backend.archive.schedule import ArchiveSchedule
from backend.auth.attempts import DatabaseCounters, RedisCounters
from backend.auth.login_limiter import LoginLimiter, LoginLimits, Tally
from backend.auth.passwords import Passwords
from backend.auth.permissions import STAGES
from backend.auth.router import router as auth_router
from backend.auth.tokens import TokenCache
from backend.channels.router import router as channels_router
from backend.clock import Clock, ScaledClock, SystemClock
from backend.crypto.cipher import install
from backend.crypto.keys import key_source
from backend.db import Database
from backend.dispatch.delivery_router import router as delivery_router
from backend.dispatch.ranking import Ranking
from backend.dispatch.router import router as dispatch_router
from backend.dispatch.sweeper import AutoDispatcher
from backend.edge.blocklist import BlockedAddresses, BlockList
from backend.edge.docs import add_docs
from backend.edge.headers import SecurityHeaders, with_security_headers
from backend.errors import DomainError, NotAuthenticated, RateLimited
from backend.eta.predictor import EtaPredictor
from backend.eta.service import EtaRefit, model_dir
from backend.handover.router import router as handover_router
from backend.inventory.router import router as inventory_router
from backend.inventory.service import warehouse_zones
from backend.kpi.loss_router import router as loss_router
from backend.kpi.pusher import KpiPusher
from backend.kpi.router import router as kpi_router
from backend.limits import BodySizeLimit
from backend.log_redaction import install as redact_logged_queries
from backend.methods import install_allow_header
from backend.notifications.engine import NotificationEngine
from backend.notifications.router import router as notifications_router
from backend.notifications.sender import NotificationSender
from backend.notifications.setup import attempts_of, notifier_for
from backend.observability.metrics import Metrics
from backend.observability.readiness import router as readiness_router
from backend.observability.requests import MetricsAccess, RequestObserver
from backend.orders.router import router as orders_router
from backend.orders.service import live_order_states
from backend.privacy.router import router as privacy_router
from backend.privacy.upkeep import PrivacyUpkeep, seal_plain
from backend.proof.router import document_pin_body
from backend.proof.router import router as proof_router
from backend.proof.storage import storage_for
from backend.realtime.bus import bus_for
from backend.realtime.feed import EventFeed
from backend.realtime.hub import Hub
from backend.realtime.router import router as stream_router
from backend.reports.router import router as reports_router
from backend.responses import document_unparseable_bodies
from backend.restock.router import router as restock_router
from backend.returns.complaints_router import router as complaints_router
from backend.returns.router import router as returns_router
from backend.riders.geocoder import geocoder_for
from backend.riders.map_router import router as rider_map_router
from backend.riders.router import router as riders_router
from backend.routes.router import router as routes_router
from backend.runtime import Runtime
from backend.sensors.router import router as sensors_router
from backend.settings import Settings
from backend.ssh.router import router as ssh_router
from backend.staffing.router import router as staffing_router
from backend.takeover.desk import TakeoverDesk
from backend.takeover.router import router as takeover_router
from backend.tracking.live import TrackingLive
from backend.tracking.router import page_router as tracking_page_router
from backend.tracking.router import router as tracking_router
from backend.tracking.throttle import TrackingThrottle
from backend.tracking.tokens import url_of as tracking_url_of
from backend.views.router import router as views_router
from backend.webhooks.deliverer import Deliverer
from backend.webhooks.router import router as webhooks_router
from backend_client.models import Health

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
PROOF_UPLOAD = re.compile(rf"{API_PREFIX}/orders/[^/]+/proof")
"""The one route that takes files (`backend/proof/router.py`), up to `proof_max_bytes`."""


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """A backend instance; the database is opened (and migrated) when the app starts."""
    settings = settings or Settings()
    clock = clock or clock_for(settings)
    metrics = Metrics() if settings.metrics_enabled else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Personal fields are encrypted under these keys (never kept in the database).
        keys = key_source(settings)
        install(keys.load())
        db = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        passwords = Passwords(
            time_cost=settings.argon2_time_cost, memory_cost_kib=settings.argon2_memory_cost_kib
        )
        feed = EventFeed(
            db, ring_size=settings.feed_ring_size, poll_seconds=settings.feed_poll_seconds
        )
        hub = Hub(feed, replay_limit=settings.stream_replay_limit)
        bus = bus_for(settings.bus_url)
        dispatcher = AutoDispatcher(
            db,
            clock,
            period=settings.auto_dispatch_seconds,
            ranking=Ranking(settings.dispatch_ranking),
        )
        rules_file = Path(settings.alert_rules_file) if settings.alert_rules_file else None
        alert_rules = RuleBook(rules_file, now=clock.now())
        alerts = AlertEngine(db, clock, alert_rules, tick_seconds=settings.alert_tick_seconds)
        takeovers = TakeoverDesk(
            db,
            clock,
            alert_rules,
            tick_seconds=settings.auto_handover_tick_seconds,
            notify_zone=settings.zone if settings.notifications else None,
        )
        notification_sender = NotificationSender(
            db,
            clock,
            notifier_for(settings),
            attempts_of(settings),
            link_of=partial(tracking_url_of, base=settings.tracking_public_url),
        )
        if metrics is not None:
            metrics.lag_gauge("notifications", notification_sender.lag_seconds)
        notifications = NotificationEngine(
            db,
            clock,
            alert_rules,
            zone=settings.zone,
            tick_seconds=settings.notify_tick_seconds,
            queued=notification_sender.wake,
        )
        kpi_pusher = KpiPusher(
            db,
            clock,
            hub,
            period=settings.kpi_push_seconds,
            window=timedelta(minutes=settings.kpi_push_window_minutes),
        )
        # Failed sign-ins are counted where every instance sees them (auth/attempts.py).
        redis_counters = RedisCounters(settings.bus_url) if settings.bus_url else None
        upkeep = PrivacyUpkeep(
            db,
            clock,
            keys,
            period=settings.privacy_upkeep_seconds,
            retention=timedelta(hours=settings.answer_retention_hours),
        )
        webhooks: Deliverer | None = None
        archive_schedule = ArchiveSchedule(db, settings, clock)
        eta = EtaPredictor(model_dir(settings))
        eta_refit = EtaRefit(db, settings, clock, eta)
        tracking: TrackingLive | None = None
        try:
            if settings.migrate_on_start:
                await db.migrate()
            await db.start()
            await seal_plain(db)
            if settings.demo:
                # Imported here: the simulator's city data stays out of a production backend.
                from backend.demo import seed_demo

                await seed_demo(db, passwords, now=clock.now())
            tokens = TokenCache(
                settings.token_cache_seconds,
                stages=STAGES if settings.stage_scope is None else settings.stage_scope,
            )
            tracking = TrackingLive(db, feed)

            def on_position(position: dict[str, Any]) -> None:
                hub.dispatch_position(position)
                tracking.on_position(position)

            await bus.start(on_seq=feed.wake, on_position=on_position, on_forget=tokens.forget)
            tokens.announce = bus.announce_forget
            tokens.listeners.append(hub.revoke)
            await feed.start()
            # Numbered events go straight to this instance's feed; other instances hear the
            # news on the bus and read the log.
            db.committed.append(feed.offer)
            db.committed.append(lambda rows: bus.announce_seq(rows[-1].seq))
            hub.zones.update(await warehouse_zones(db))
            hub.order_states.update(await live_order_states(db, now=clock.now()))
            if settings.auto_dispatch:
                dispatcher.start()
            if metrics is not None:
                db.writer.on_batch = metrics.batch_committed
                alerts.timed.append(metrics.alert_pass)
            if settings.alerts:
                # The events this instance numbered: each event is heard by one instance's
                # engine only, however many instances there are.
                db.committed.append(alerts.heard)
                alerts.start()
                if settings.auto_handover:
                    db.committed.append(takeovers.heard)
                    takeovers.start()
            if settings.notifications:
                db.committed.append(notifications.heard)
                notifications.start()
                notification_sender.start()
            kpi_pusher.start()
            tracking.start()
            app.state.tracking_live = tracking
            app.state.tracking_throttle = TrackingThrottle(
                per_token=settings.tracking_views_per_minute_per_token,
                per_address=settings.tracking_views_per_minute_per_address,
            )
            login_limiter = _login_limiter(settings, db, clock, redis_counters)
            upkeep.start()
            if settings.webhooks:
                # Follows the feed: woken by every event it takes, from any instance.
                webhooks = Deliverer.of(db, feed, clock, settings)
                webhooks.start()
            if settings.archive_seconds:
                archive_schedule.start()
            # The newest model file, or the straight line (with a warning) until there is one.
            await asyncio.to_thread(eta.reload)
            app.state.eta = eta
            eta_refit.start()
            app.state.runtime = Runtime(
                settings=settings,
                db=db,
                clock=clock,
                passwords=passwords,
                login_limiter=login_limiter,
                feed=feed,
                hub=hub,
                bus=bus,
                dispatcher=dispatcher,
                alerts=alerts,
                alert_rules=alert_rules,
                tokens=tokens,
                geocoder=geocoder_for(settings, db),
                privacy=upkeep,
                notifications=notifications,
                notification_sender=notification_sender,
                metrics=metrics,
                proofs=storage_for(settings.proof_dir, settings.database_url),
                webhooks=webhooks,
                takeovers=takeovers,
            )
            yield
        finally:
            if webhooks is not None:
                await webhooks.stop()
            await alerts.stop()
            await takeovers.stop()
            await notifications.stop()
            await notification_sender.stop()
            await archive_schedule.stop()
            await eta_refit.stop()
            await upkeep.stop()
            await kpi_pusher.stop()
            if tracking is not None:
                await tracking.stop()
            await dispatcher.stop()
            hub.close_all("the server is shutting down")
            await feed.stop()
            await bus.stop()
            if redis_counters is not None:
                await redis_counters.close()
            await db.dispose()

    app = FastAPI(
        title="Freshline",
        version="0.1.0",
        summary="Real-time order tracking for fresh-grocery delivery.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served from the package's own assets: add_docs below
        redoc_url=None,
    )
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        # A proof photo may be larger than any other body; the form's framing on top.
        uploads=(PROOF_UPLOAD, settings.proof_max_bytes + 64 * 1024),
    )
    if settings.blocked_addresses or settings.blocked_addresses_file:
        # The socket's guard (`freshline serve`) refuses blocked peers; this refuses blocked
        # clients a trusted proxy forwards. Not installed, and free, without a block list.
        file = settings.blocked_addresses_file
        blocklist = BlockList(settings.blocked_addresses, Path(file) if file else None)
        app.add_middleware(BlockedAddresses, blocklist=blocklist)
    if settings.trusted_proxies:
        # Outside the routes and the block list: each of them, the login limiter included,
        # sees the client behind the proxy; X-Forwarded-For from any other peer is ignored
        # (uvicorn's own is off, cli.py).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    # Every request's id and figures, the refusals above included (observability/requests.py).
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    access = MetricsAccess(token=token, port=settings.metrics_port)
    app.add_middleware(RequestObserver, metrics=metrics, access=access)
    # Outermost: a 413 from the body limit and a 403 from the block list carry the headers too.
    app.add_middleware(SecurityHeaders)
    add_docs(
        app,
        docs_url=f"{API_PREFIX}/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
        title=app.title,
    )
    _install_error_handlers(app)
    redact_logged_queries()  # uvicorn's access log keeps no search terms (log_redaction.py)
    install_allow_header(app)
    document_unparseable_bodies(app)
    document_pin_body(app)

    @app.get(f"{API_PREFIX}/health", response_model=Health, tags=["health"])
    async def health() -> Health:
        """Liveness, this instance's clock (simulated in the demo) and the business time zone,
        without touching the database."""
        return Health(
            time=clock.now(),
            clock_speed=getattr(clock, "speed", 1.0),
            time_zone=settings.time_zone,
        )

    # Each router straight onto the app (in the order that decides which route a path goes
    # to): one level of nesting less is one matching pass less per request.
    for router in (
        auth_router,
        orders_router,
        riders_router,
        rider_map_router,
        routes_router,
        inventory_router,
        dispatch_router,
        alerts_router,
        notifications_router,
        returns_router,
        complaints_router,
        sensors_router,
        order_sensors_router,
        stream_router,
        channels_router,
        delivery_router,
        kpi_router,
        privacy_router,
        readiness_router,
        tracking_router,
        proof_router,
        webhooks_router,
        restock_router,
        handover_router,
        reports_router,
        staffing_router,
        loss_router,
        views_router,
        takeover_router,
        ssh_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(tracking_page_router)  # the customer's page: /t/{token}

    # Tools look for /openapi.json at the root (docs/getting-started.md); serve it there too.
    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_root() -> JSONResponse:
        return JSONResponse(app.openapi())

    return app


def _login_limiter(
    settings: Settings, db: Database, clock: Clock, redis_counters: RedisCounters | None
) -> LoginLimiter:
    limits = LoginLimits(
        max_failures=settings.login_max_failures,
        address_max_failures=settings.login_address_max_failures,
        account_max_failures=settings.login_account_max_failures,
        spray_max_failures=settings.login_spray_max_failures,
        window_seconds=settings.login_window_seconds,
        known_days=settings.login_known_address_days,
    )

    def now() -> float:
        return clock.now().timestamp()

    tallies = [Tally(DatabaseCounters(db, now=now), now)]
    if redis_counters is not None:
        # Redis first; the database counts while Redis is down.
        tallies.insert(0, Tally(redis_counters.storage, redis_counters.now))
    return LoginLimiter(tallies, limits)


def clock_for(settings: Settings) -> Clock:
    """Wall-clock time, or the demo's simulated time when the settings ask for it."""
    if settings.clock_speed == 1 and settings.clock_start is None:
        return SystemClock()
    epoch = settings.clock_epoch if settings.clock_epoch is not None else time.time()
    # Without a start, simulated time begins at the wall time of the epoch.
    start = settings.clock_start or datetime.fromtimestamp(epoch, UTC)
    return ScaledClock(start, speed=settings.clock_speed, epoch=epoch)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Exception)
    async def server_error(_request: Request, _exc: Exception) -> PlainTextResponse:
        # Starlette's outermost layer sends this one, outside SecurityHeaders: the headers go
        # with it here. (Its traceback is logged by uvicorn, as before.)
        return PlainTextResponse(
            "Internal Server Error", status_code=500, headers=with_security_headers()
        )

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {}
        if isinstance(exc, NotAuthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI echoes each bad input back; NaN, Infinity or a lone surrogate cannot be
        # written as JSON, so such inputs are echoed as their ASCII repr instead of a 500.
        errors = []
        for error in exc.errors():
            safe = {**error, "input": _json_safe(error.get("input"))}
            if "ctx" in error:
                safe["ctx"] = _json_safe(error["ctx"])
            errors.append(safe)
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(IntegrityError)
    async def integrity_error(conn: HTTPConnection, exc: IntegrityError) -> JSONResponse | None:
        # A race the service checks did not foresee; the transaction was rolled back whole.
        log.warning("integrity error on %s: %s", _where(conn), exc.orig)
        if isinstance(conn, WebSocket):
            await _end_socket(conn, exc)
            return None
        return JSONResponse({"detail": "conflicts with existing data; nothing was changed"}, 409)

    @app.exception_handler(DataError)
    async def data_error(conn: HTTPConnection, exc: DataError) -> JSONResponse | None:
        log.warning("data error on %s: %s", _where(conn), exc.orig)
        if isinstance(conn, WebSocket):
            await _end_socket(conn, exc)
            return None
        return JSONResponse({"detail": "a value is out of range; nothing was changed"}, 422)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(OSError)
    async def database_unavailable(conn: HTTPConnection, exc: Exception) -> JSONResponse | None:
        # Connection refused or lost (asyncpg raises OSError), every pooled connection busy,
        # deadlock retried out, server restarting: nothing was committed.
        if isinstance(exc, ClientDisconnected):
            # The client went (a socket closed before its handshake was answered): nobody to
            # tell, nothing wrong here.
            log.debug("client left %s before it was answered", _where(conn))
            return None
        log.error("database error on %s: %r", _where(conn), getattr(exc, "orig", exc))
        if isinstance(conn, WebSocket):
            await _end_socket(conn, exc)
            return None
        return JSONResponse(
            {"detail": "the database is unavailable; nothing was changed, try again"},
            status_code=503,
            headers={"Retry-After": "5"},
        )


def _where(conn: HTTPConnection) -> str:
    """`GET /path` for a request, `WEBSOCKET /path` for a socket: where an error happened."""
    return f"{conn.scope.get('method', 'WEBSOCKET')} {conn.url.path}"


async def _end_socket(socket: WebSocket, exc: Exception) -> None:
    """A socket whose handler raised `exc` unhandled: closed with 1011 so its client reconnects
    (a socket answers no HTTP body; before its handshake, closing refuses it)."""
    with suppress(RuntimeError, OSError):  # already closed, or its client already gone
        await socket.close(code=1011, reason="server error; reconnect")
    log.debug("socket %s closed after %r", socket.url.path, exc)


def _json_safe(value: Any) -> Any:
    """`value` if it encodes as strict UTF-8 JSON, else its ASCII repr."""
    if value is None:
        return None
    try:
        encoded = jsonable_encoder(value)
        json.dumps(encoded, allow_nan=False, ensure_ascii=False).encode("utf-8")
        return encoded
    except (ValueError, TypeError, UnicodeEncodeError):
        return ascii(value)
