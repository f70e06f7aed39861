"""The instance's metrics, in Prometheus' text format (`prometheus-client`), one registry per app.

What moves with every request or write is counted where it happens, as cheaply as it can be
(a cached child per label set: no label lookup per request). Everything else is read when
Prometheus scrapes (`InstanceCollector`): the event log's head, the stream's connections and
queues, the database pool. The write path pays nothing for those.

Other parts register what they can tell at scrape time with `lag_gauge` (webhook deliveries,
customer notifications: how far behind they are), without this module knowing them.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text

log = logging.getLogger(__name__)

# A `_created` timestamp beside every counter and histogram doubles the series for nothing
# Prometheus needs (it sees restarts as resets).
disable_created_metrics()

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds: a read answers in a few milliseconds, a long poll waits up to its `wait`."""
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
"""Jobs per write transaction; the SQLite writer commits at most 64 together."""
PASS_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
UNMATCHED = "unmatched"
"""The route label of a request no route took (a 404 for a made-up path): raw paths would
make a label value per path anyone cares to try."""

LagReader = Callable[[], float | None]
HEAD_SEQ = text("SELECT coalesce(max(seq), 0) FROM events")


class Runtime(Protocol):
    """What the figures are read off: `backend.runtime.Runtime`. Named by its shape, not
    imported: this package sits below every domain (the writer and the permission gate use
    its request context), so it imports none of them."""

    @property
    def settings(self) -> Any: ...
    @property
    def db(self) -> Any: ...
    @property
    def feed(self) -> Any: ...
    @property
    def hub(self) -> Any: ...
    @property
    def bus(self) -> Any: ...


class Metrics:
    """One backend instance's metrics: the instruments, and the registry that serves them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "freshline_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "freshline_http_request_duration_seconds",
            "Time from a request's arrival to its answer's start, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.write_batches = Histogram(
            "freshline_write_batch_jobs",
            "Jobs per committed write transaction (SQLite: a group commit; PostgreSQL: one "
            "job each); the count is the transactions, the sum the jobs.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.alert_passes = Histogram(
            "freshline_alert_pass_seconds",
            "How long one pass of the alert engine took (evaluation and writing its changes).",
            buckets=PASS_BUCKETS,
            registry=self.registry,
        )
        self.lags: dict[str, LagReader] = {}
        self.instance = InstanceCollector(self)
        self.registry.register(self.instance)
        self._answered: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def answered(self, method: str, route: str, status: int, seconds: float) -> None:
        """One request answered (the middleware calls this once per request)."""
        key = (method, route, status)
        children = self._answered.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._answered[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def batch_committed(self, jobs: int) -> None:
        """A write transaction of `jobs` jobs committed (the writer's thread may call this)."""
        self.write_batches.observe(jobs)

    def alert_pass(self, seconds: float) -> None:
        self.alert_passes.observe(seconds)

    def lag_gauge(self, name: str, reader: LagReader) -> None:
        """Report `reader()` (seconds behind, None when unknown) at every scrape as
        `freshline_lag_seconds{source=name}`: for deliveries that trail the event log
        (webhooks, customer notifications). Registering a name again replaces its reader."""
        self.lags[name] = reader

    async def render(self, runtime: Runtime | None) -> bytes:
        """The text a scrape gets, with what must be asked of the database asked first."""
        await self.instance.refresh(runtime)
        return generate_latest(self.registry)


class InstanceCollector(Collector):
    """What is read off the running instance at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.runtime: Runtime | None = None
        self.head_seq: int | None = None

    async def refresh(self, runtime: Runtime | None) -> None:
        """Read the event log's head (the one figure that needs the database)."""
        self.runtime = runtime
        self.head_seq = None
        if runtime is None:
            return
        try:
            async with runtime.db.read() as session:
                self.head_seq = int(await session.scalar(HEAD_SEQ) or 0)
        except Exception:  # a scrape during an outage still reports everything else
            log.warning("metrics: could not read the event log's head", exc_info=True)

    def describe(self) -> list[Metric]:
        return []  # read at scrape time: nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        runtime = self.runtime
        if runtime is None:
            return
        yield _gauge("freshline_database_reachable", "1 if the last scrape read the database.")(
            0 if self.head_seq is None else 1
        )
        if self.head_seq is not None:
            yield _gauge(
                "freshline_event_log_head_seq", "The highest seq in the event log (database)."
            )(self.head_seq)
        feed_seq = runtime.feed.last_seq
        yield _gauge(
            "freshline_feed_seq", "The highest seq this instance's feed has handed to its hub."
        )(feed_seq)
        if self.head_seq is not None:
            yield _gauge(
                "freshline_feed_lag_events",
                "Events in the log this instance's feed has not handed on yet (replay lag).",
            )(max(0, self.head_seq - feed_seq))
        yield from _stream(runtime, feed_seq)
        yield from _pool(runtime)
        lags = GaugeMetricFamily(
            "freshline_lag_seconds",
            "How far deliveries that trail the event log are behind, by source.",
            labels=["source"],
        )
        for name, reader in list(self.metrics.lags.items()):
            try:
                value = reader()
            except Exception:
                log.warning("metrics: lag reader %s failed", name, exc_info=True)
                continue
            if value is not None:
                lags.add_metric([name], value)
        yield lags


def _gauge(name: str, documentation: str) -> Callable[[float], GaugeMetricFamily]:
    return lambda value: GaugeMetricFamily(name, documentation, value=value)


def _stream(runtime: Runtime, feed_seq: int) -> Iterator[Metric]:
    hub = runtime.hub
    connections = list(hub.connections)
    yield _gauge("freshline_stream_connections", "Open stream connections.")(len(connections))
    topics: Tally[str] = Tally()
    depth_max = depth_sum = lag_max = 0
    for connection in connections:
        topics.update(str(topic) for topic in connection.subscription.topics)
        depth = len(connection.outbox)
        depth_sum += depth
        depth_max = max(depth_max, depth)
        lag_max = max(lag_max, feed_seq - connection.prev_seq)
    subscribers = GaugeMetricFamily(
        "freshline_stream_subscribers", "Open stream connections by topic.", labels=["topic"]
    )
    for topic, count in sorted(topics.items()):
        subscribers.add_metric([topic], count)
    yield subscribers
    yield _gauge(
        "freshline_stream_queue_depth_max", "Messages waiting for the slowest connection."
    )(depth_max)
    yield _gauge("freshline_stream_queued_messages", "Messages waiting, over every connection.")(
        depth_sum
    )
    yield _gauge(
        "freshline_stream_queue_limit", "Messages waiting before a connection is cut off."
    )(runtime.settings.stream_queue_limit)
    yield _gauge(
        "freshline_stream_lag_events_max",
        "Events the feed has that the furthest-behind connection has not been offered.",
    )(max(0, lag_max))
    closed = CounterMetricFamily(
        "freshline_stream_closed",
        "Stream connections the server closed, by close code (4429: too slow, dropped).",
        labels=["code"],
    )
    for code, count in sorted(hub.closed.items()):
        closed.add_metric([str(code)], count)
    yield closed


def _pool(runtime: Runtime) -> Iterator[Metric]:
    pool: Any = runtime.db.engine.pool
    if not hasattr(pool, "checkedout"):
        return  # a pool that keeps no count (NullPool)
    yield _gauge("freshline_db_pool_checked_out", "Database connections in use.")(pool.checkedout())
    yield _gauge("freshline_db_pool_size", "Database connections the pool keeps.")(pool.size())
    yield _gauge(
        "freshline_db_pool_overflow", "Connections open beyond the pool's size (negative: room)."
    )(pool.overflow())
