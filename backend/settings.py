"""Service settings: `FRESHLINE_*` environment variables over an optional TOML file."""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from platformdirs import user_data_dir
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from backend_client.models import OrderState, ProofKind, Role


def default_database_url() -> str:
    """A SQLite file in the user's data directory."""
    folder = Path(user_data_dir("freshline", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{folder / 'freshline.db'}"


class ProofPolicy(BaseModel):
    """`[proof]` in the settings file (`FRESHLINE_PROOF` as JSON): which proofs an order needs
    before it may be signed (docs/proof.md). An order needs every kind its warehouse names, its
    channel names and the default names: a warehouse asking for a photo and a channel asking
    for the PIN get both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: frozenset[ProofKind] = frozenset()
    """Kinds every order needs."""
    warehouses: dict[str, frozenset[ProofKind]] = Field(default_factory=dict)
    """Kinds the orders of each warehouse (by id) need."""
    channels: dict[str, frozenset[ProofKind]] = Field(default_factory=dict)
    """Kinds the orders of each sales channel need."""

    def required(self, warehouse_id: str, channel: str) -> dict[ProofKind, list[str]]:
        """Each kind an order of this warehouse and channel needs, with who asks for it."""
        needs: dict[ProofKind, list[str]] = {}
        for kind in self.default:
            needs.setdefault(kind, []).append("every order")
        for kind in self.warehouses.get(warehouse_id, ()):
            needs.setdefault(kind, []).append(f"warehouse {warehouse_id}")
        for kind in self.channels.get(channel, ()):
            needs.setdefault(kind, []).append(f"channel {channel}")
        return needs


_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_shift_starts(starts: list[str]) -> tuple[time, ...]:
    """The times as `time`s, earliest first; ValueError unless each is HH:MM (24-hour) and
    no time is named twice."""
    if not starts:
        raise ValueError("name at least one shift start (HH:MM)")
    times = []
    for text in starts:
        match = _HH_MM.match(text)
        if match is None:
            raise ValueError(f"shift start {text!r} is not HH:MM (00:00 to 23:59)")
        times.append(time(int(match[1]), int(match[2])))
    if len(set(times)) != len(times):
        raise ValueError("a shift start is named twice")
    return tuple(sorted(times))


class Settings(BaseSettings):
    """Everything the backend can be told; see docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="FRESHLINE_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    """SQLAlchemy async URL: `sqlite+aiosqlite:///file.db` or `postgresql+asyncpg://...`."""
    migrate_on_start: bool = True
    """Upgrade the schema to the newest Alembic revision when the app starts."""
    demo: bool = False
    """Create the demo accounts and the demo city on start (idempotent)."""
    token_ttl_minutes: int = Field(default=12 * 60, ge=1)
    """How long a bearer token lives."""
    token_cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    """How long an instance believes a token it checked without asking the database again
    (sign-out and account changes are heard at once; other changes within this)."""
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    """Requests with a larger body are refused with 413."""
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    """How long a SQLite writer waits for the write lock before giving up."""
    default_promise_minutes: int = Field(default=45, ge=5, le=24 * 60)
    """Promised delivery time for an order created without one."""
    login_max_failures: int = Field(default=5, ge=1)
    """Failed logins per user and address within `login_window_seconds` before 429 (the right
    password included); every instance on the same database or Redis shares the counts."""
    login_window_seconds: int = Field(default=300, ge=1)
    login_address_max_failures: int = Field(default=20, ge=1)
    """Failed logins from one address, over any accounts, per window, before that address is
    refused at accounts it never signed in to (a password sprayed from one place)."""
    login_account_max_failures: int = Field(default=20, ge=1)
    """Failed logins at one account, from any addresses, per window, before the account is
    refused from addresses it never signed in from."""
    login_spray_max_failures: int = Field(default=100, ge=1)
    """Failed logins in all per window before every address refuses accounts it never signed
    in to (a password sprayed from many places)."""
    login_known_address_days: int = Field(default=30, ge=1, le=365)
    """How long an address an account signed in from stays familiar to it."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses (or networks) of reverse proxies whose X-Forwarded-For is believed; empty:
    the peer address is the client's, whatever the headers say. They speak for many clients,
    so the connection guard's per-address caps spare them (the proxy caps each client)."""
    argon2_time_cost: int = Field(default=2, ge=1)
    """Argon2 passes; tests lower the costs to stay fast."""
    argon2_memory_cost_kib: int = Field(default=19 * 1024, ge=64)
    bus_url: str | None = None
    """`redis://host:6379/0` to share the stream between backend instances; in-process if unset."""
    stream_heartbeat_seconds: int = Field(default=15, ge=1, le=300)
    """Heartbeat period, both ways."""
    stream_idle_timeout_seconds: float = Field(default=40, gt=0)
    """A stream client silent this long is dropped (close 4408)."""
    stream_queue_limit: int = Field(default=20_000, ge=10)
    """Messages waiting for one stream client before it is cut off as too slow (close 4429)."""
    stream_replay_limit: int = Field(default=50_000, ge=1)
    """At most this many missed events are replayed; further behind, reload a snapshot."""
    feed_ring_size: int = Field(default=20_000, ge=1)
    """Newest events kept in memory for replay and long polls."""
    feed_poll_seconds: float = Field(default=1.0, gt=0)
    """How often the feed reads the log when nothing was announced (commits on other instances)."""
    keep_alive_timeout_seconds: int = Field(default=5, ge=1, le=300)
    """A kept-alive connection idle this long between requests is closed."""
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    """From a connection's opening (or a kept-alive one's next first byte) to its request's last
    byte: a connection silent or trickling past it is closed (408 if part of a request came)."""
    max_connections_per_address: int = Field(default=256, ge=1)
    """Connections one peer address may hold open at once (streams included); more: 429."""
    stream_handshakes_per_minute: int = Field(default=300, ge=1)
    """Stream (WebSocket) connections one address may open in any minute; more: 429."""
    blocked_addresses: list[str] = Field(default_factory=list)
    """Addresses and networks whose connections are refused (403)."""
    blocked_addresses_file: str | None = None
    """A file of more of them, one a line, read again when it changes."""
    ssl_certfile: str | None = None
    """Serve HTTPS (and `wss://`) with this PEM certificate chain; plain HTTP if unset."""
    ssl_keyfile: str | None = None
    """The certificate's private key (PEM), unless it is inside `ssl_certfile`."""
    log_file: str | None = None
    """Where the service logs; stderr when unset."""
    log_format: Literal["json", "plain"] = "json"
    """`json`: one JSON object per line, with the request id, user, role and order id where
    they apply (docs/metrics.md); `plain`: text lines, as the demo's backend writes them."""
    metrics_enabled: bool = True
    """Count requests, write batches and alert passes, and serve `GET /metrics`."""
    metrics_token: SecretStr | None = None
    """`GET /metrics` answers only `Authorization: Bearer <metrics_token>` (401 without)."""
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """`freshline serve` also listens on 127.0.0.1 at this port, which serves `/metrics` and
    nothing else; the API's port then answers `/metrics` with 404. With neither this nor
    `metrics_token`, `/metrics` is 404 everywhere."""
    auto_dispatch: bool = True
    """The backend assigns riders by itself, in warehouses that allow it; off, dispatchers do."""
    auto_dispatch_seconds: float = Field(default=5.0, gt=0, le=3600)
    """How often orders still waiting for a rider are offered to riders again."""
    alerts: bool = True
    """The alert engine runs (off: no alerts are raised or resolved by this instance)."""
    alert_rules_file: str | None = None
    """The alert rules' TOML file, read again when it changes; the packaged defaults if unset."""
    alert_tick_seconds: float = Field(default=1.0, gt=0, le=600)
    """How often the rules are evaluated when nothing happens (changes trigger them at once)."""
    auto_handover: bool = True
    """With the alert engine on (`alerts`), this instance proposes handovers after an accident
    or a silent rider and carries out those nobody decided in `[auto_handover] minutes` of the
    rules file (docs/auto-handover.md); every instance may run it, each step happens once."""
    auto_handover_tick_seconds: float = Field(default=2.0, gt=0, le=600)
    """How often due proposals are looked for when nothing happens."""
    decision_undo_seconds: float = Field(default=120.0, ge=0, le=3600)
    """How long whoever rejected a return or claim may take the rejection back (0: never)."""
    # --- Shifts and staffing (backend/staffing/, docs/shifts.md) ---
    shift_max_hours: float = Field(default=12.0, gt=0, le=24)
    """The longest shift a roster may plan; longer is refused (422)."""
    kpi_push_seconds: float = Field(default=5.0, ge=0.2, le=300)
    """How often the KPI summary is pushed to subscribers of the stream's `kpi` topic."""
    kpi_push_window_minutes: int = Field(default=60, ge=5, le=24 * 60)
    """The window that summary covers: the last this many minutes (against the one before)."""
    geocoder: Literal["offline", "nominatim"] = "offline"
    """Addresses to coordinates: offline from the demo city's data, or OpenStreetMap's Nominatim
    over the network."""
    geocoder_user_agent: str = Field(default="freshline", min_length=1, max_length=200)
    """How Nominatim's usage policy asks to be told who is asking."""
    clock_speed: float = Field(default=1.0, gt=0, le=1000)
    """Simulated seconds per real second (the demo only; a real deployment runs at 1)."""
    clock_start: AwareDatetime | None = None
    """The simulated time at `clock_epoch` (the demo only); the wall time of the epoch if unset."""
    clock_epoch: float | None = None
    """The Unix time at which the simulated clock read `clock_start`; now if unset."""

    # --- Sales channels (backend/channels/) and deliveries (backend/dispatch/deliveries.py) ---
    channel_secrets: dict[str, SecretStr] = Field(default_factory=dict)
    """Each channel's shared signing secret (a channel without one is not taken); the demo
    fills in known secrets for channels left unset, so its simulator can sign."""
    channel_signature_window_seconds: int = Field(default=300, ge=5, le=3600)
    """A signed request older or newer than this (by its timestamp) is refused as a replay."""
    channel_rate_per_second: int = Field(default=50, ge=1)
    """Requests one channel may send in any one-second window (orders and callbacks
    together); more answer 429 with Retry-After."""
    channel_concurrency: int = Field(default=4, ge=1, le=64)
    """A channel's requests worked on at once; the rest wait their turn without holding a
    database connection, so one platform's burst leaves room for the others and for reads."""
    delivery_merge_minutes: int = Field(default=30, ge=0, le=24 * 60)
    """Orders of one customer to one address (or one group-buy leader) within this many
    minutes, not yet out, share one delivery; 0 never merges."""
    rider_max_load_g: int = Field(default=20_000, ge=1000)
    """What one rider carries on one delivery; a heavier order is split into several."""
    cold_box_max_g: int = Field(default=8_000, ge=500)
    """What one cold-chain box holds; more cold goods than that are split into several."""
    # --- Route sequencing (backend/routes/, docs/routes.md) ---
    route_time_limit_ms: int = Field(default=100, ge=5, le=1000)
    """The route optimiser's time for one rider's route; past it (or on its failure) the
    stops go in promise order."""
    dispatch_ranking: Literal["insertion", "nearest"] = "insertion"
    """How auto-dispatch and the suggestions rank riders: `insertion`, the extra metres the
    order adds to the rider's route (a rider already collecting at that warehouse costs little);
    `nearest`, the distance to the pick-up plus a kilometre per order carried (the old way)."""
    # --- Customer notifications (backend/notifications/, docs/notifications.md) ---
    notifications: bool = True
    """The notification engine and sender run (off: this instance decides and sends none)."""
    notifier: Literal["log", "http"] = "log"
    """How messages reach customers: `log` writes them to the service log (the demo's);
    `http` POSTs them, signed, to `notify_url` (an SMS/WeChat gateway)."""
    notify_url: str | None = Field(default=None, pattern=r"^https?://")
    notify_secret: SecretStr | None = None
    """The HTTP gateway's address and the secret messages are signed with."""
    notify_tick_seconds: float = Field(default=5.0, gt=0, le=600)
    """How often the time-based rules (ETA close, late, unsigned) are looked at for everyone."""
    notify_max_attempts: int = Field(default=10, ge=1, le=1000)
    """Failed attempts before a message is parked for the desk."""
    notify_backoff_base_seconds: float = Field(default=1.0, gt=0, le=3600)
    notify_backoff_cap_seconds: float = Field(default=300.0, gt=0, le=24 * 3600)
    """The retry backoff's first step and ceiling (`backend/outbound/backoff.py`)."""
    notify_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """How long one POST to the gateway may take."""
    # --- Personal data at rest (backend/crypto/, backend/privacy/) ---
    field_keys: SecretStr | None = None
    """The field keys as JSON (`{"current", "keys", "index_key"}`, docs/configuration.md),
    e.g. from a secret store through `FRESHLINE_FIELD_KEYS`; beats `field_key_file`."""
    field_key_file: str | None = None
    """A JSON file of field keys (mode 0600), rotated by `python -m backend keys rotate`; unset
    (and no `field_keys`): a development key file is generated beside the SQLite database."""
    answer_retention_hours: float = Field(default=72.0, gt=0, le=24 * 365)
    """Stored answers (`Idempotency-Key` replays, channel order and callback answers) are
    deleted this long after they were given: a retry after that acts again (or, for a channel's
    order, answers 409 naming the order it made)."""
    privacy_upkeep_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    """How often the upkeep pass runs: re-reads the key file, re-encrypts values under older
    keys, prunes stored answers past their retention."""
    # --- Data tiers (backend/archive/, docs/data-tiers.md) ---
    hot_window_hours: float = Field(default=72.0, gt=0, le=24 * 365)
    """Closed orders (with their trail) and rider fixes older than this leave the database for
    compressed Parquet partitions, one a day, still read by the KPIs, timelines and tracks."""
    archive_retention_days: int = Field(default=90, ge=1, le=3650)
    """Archived days older than this are dropped, files and all (the ledger keeps their counts)."""
    archive_dir: str | None = None
    """Where the partitions live; unset: `archive/` beside the SQLite database (or in the
    user's data directory with PostgreSQL)."""
    archive_seconds: float = Field(default=3600.0, ge=0, le=7 * 24 * 3600)
    """How often a backend archives and drops on its own (one instance at a time); 0: never
    (run `freshline archive` from a scheduler instead)."""
    time_zone: str = "Asia/Shanghai"
    """The business time zone (an IANA name): served to every console and wall in
    `GET /health`, so clocks read the same everywhere, and where business days (KPI days,
    reconciliation) cut at midnight."""
    # --- Restock suggestions (backend/restock/, docs/restock.md) ---
    restock_lead_hours: float = Field(default=24.0, gt=0, le=24 * 28)
    """Hours from ordering goods to their arrival on the shelf."""
    restock_review_hours: float = Field(default=24.0, gt=0, le=24 * 28)
    """Hours until the next restock decision: a suggestion covers lead time + review period."""
    restock_service_level: float = Field(default=0.95, ge=0.5, le=0.999)
    """The chance a suggestion covers the demand until the next delivery (sizes the safety
    stock through the normal quantile)."""
    restock_history_weeks: int = Field(default=4, ge=1, le=26)
    """The weeks of demand the forecast reads (fewer where there is less history)."""
    shift_starts: list[str] = Field(default_factory=lambda: ["06:00", "14:00", "22:00"])
    """When the desk's shifts begin, as HH:MM in the business time zone (`time_zone`): the
    shift handover digest covers the shift under way by default (docs/handover.md)."""
    # --- Outbound webhooks (backend/webhooks/, docs/webhooks.md) ---
    webhooks: bool = True
    """Deliver webhook subscriptions from this instance (instances share them by lease)."""
    webhook_max_failures: int = Field(default=8, ge=1, le=1000)
    """Failed attempts in a row after which a subscription is parked until an admin acts."""
    webhook_backoff_seconds: float = Field(default=1.0, gt=0, le=3600)
    """The first retry's bound; each further failure doubles it (full jitter, backoff.py)."""
    webhook_backoff_cap_seconds: float = Field(default=300.0, gt=0, le=24 * 3600)
    """The longest wait between two attempts."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """How long an endpoint may take to answer one delivery before it counts as failed."""
    webhook_lease_seconds: float = Field(default=30.0, gt=0, le=3600)
    """How long an instance holds a subscription without renewing it; after a crash another
    instance (or the restarted one) takes it over this long after the last renewal."""
    webhook_tick_seconds: float = Field(default=0.5, gt=0, le=60)
    """How often each instance writes its subscriptions' progress and claims free ones."""
    webhook_poll_seconds: float = Field(default=5.0, gt=0, le=600)
    """The safety net: a subscription looks at the log this often even if nothing woke it."""
    webhook_batch_max: int = Field(default=100, ge=1, le=1000)
    """Events one request carries at most: the ones waiting go together (1: one a request)."""
    # --- The console over SSH (backend/ssh/, docs/ssh.md) ---
    ssh_gateway_secret: SecretStr | None = None
    """The secret `freshline ssh-serve` shows to exchange a proven key for a session token
    (`/ssh/gateway/*`); unset, those calls answer 401 and nobody signs in over SSH."""
    ssh_session_minutes: int = Field(default=8 * 60, ge=1, le=7 * 24 * 60)
    """How long a token issued for one SSH session lives at most (the gateway ends the session
    then; revoking the key or ending the session revokes it sooner)."""
    # --- The customer's tracking link (docs/tracking.md) ---
    tracking_ttl_hours_after_final: float = Field(default=24.0, gt=0, le=24 * 90)
    """A tracking link answers 404 this long after its order reached a final state."""
    tracking_public_url: str = Field(default="", max_length=200)
    """Where customers reach this backend (`https://track.example.com`): the start of every
    `tracking_url`; empty, the link is a path (`/t/<token>`)."""
    tracking_views_per_minute_per_token: int = Field(default=120, ge=1)
    """Requests one tracking link may make a minute (views, sockets, signatures) before 429."""
    tracking_views_per_minute_per_address: int = Field(default=600, ge=1)
    """Requests to tracking links from one client address a minute (any links) before 429."""

    # --- The learned ETA (backend/eta/, docs/eta.md) ---
    eta_model_dir: str | None = None
    """Where versioned ETA model files (`eta-000001.json`, ...) are written and read; unset:
    `models/` beside the SQLite database (or in the user's data directory with PostgreSQL).
    Without a usable file there, ETAs are the straight line at the rider's pace."""
    eta_refit_hours: float = Field(default=24.0, ge=0, le=24 * 90)
    """How often this instance fits a new model on the history (0: never; run `freshline model
    fit` from a scheduler instead). Every instance picks up a newer file within a minute."""
    eta_history_days: int = Field(default=30, ge=1, le=365)
    """The days of delivered orders a scheduled fit learns from."""
    eta_min_examples: int = Field(default=2000, ge=50, le=100_000_000)
    """Fewer examples than this (one per order out, every 2 minutes of its trip) is too little
    history: no model is written, and the straight line stays."""

    @field_validator("trusted_proxies", "blocked_addresses")
    @classmethod
    def _networks(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an address or network (10.0.0.5, 10.0.0.0/8)"
                ) from None
        return entries

    # --- Proof of delivery and after sale (backend/proof/, docs/proof.md) ---
    proof: ProofPolicy = Field(default_factory=ProofPolicy)
    """`[proof]`: which proofs (photo, signature, pin) an order needs before `sign`, by
    default, per warehouse and per channel (`warehouses = {WH1 = ["photo"]}`)."""
    proof_dir: str | None = None
    """Where proof photos and signatures are kept (content-addressed files); `proofs/` beside
    the SQLite database (or in the user data folder) when unset."""
    proof_max_bytes: int = Field(default=4_000_000, ge=1024, le=50_000_000)
    """The largest photo or signature taken (the request may be a little larger: the form's
    framing); more answers 413."""
    proof_max_pixels: int = Field(default=36_000_000, ge=10_000, le=100_000_000)
    """The most pixels an uploaded image may have (a small file can claim a huge canvas)."""
    pin_max_failures: int = Field(default=5, ge=1, le=20)
    """Wrong PINs an order takes before its PIN no longer counts."""
    after_sale_hours: float = Field(default=72.0, ge=0, le=24 * 90)
    """How long after SIGNED a return, claim or exchange may still be opened (0: never)."""

    # --- Scope (backend/auth/permissions.py) ---
    stage_scope: dict[Role, frozenset[OrderState]] | None = None
    """The order states each role sees, on top of its warehouse, rider or channel scope: a
    role named here sees only these states of its orders (REST, search, the stream, returns
    and alerts about them); a role not named sees every state. Replaces the whole default
    table, `backend/auth/permissions.py` STAGES, which applies when unset."""

    @field_validator("stage_scope")
    @classmethod
    def _stages_leave_something(
        cls, table: dict[Role, frozenset[OrderState]] | None
    ) -> dict[Role, frozenset[OrderState]] | None:
        if table is None:
            return None
        if Role.ADMIN in table:
            raise ValueError("admin sees every state: it repairs what others cannot see")
        for role, states in table.items():
            if not states:
                raise ValueError(f"{role} sees no state: leave it out or name some states")
        return table

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}: give an IANA name") from exc
        return name

    @field_validator("shift_starts")
    @classmethod
    def _shift_times(cls, starts: list[str]) -> list[str]:
        parse_shift_starts(starts)
        return starts

    @property
    def zone(self) -> ZoneInfo:
        """`time_zone` as a tzinfo."""
        return ZoneInfo(self.time_zone)

    @model_validator(mode="after")
    def _http_notifier_has_a_gateway(self) -> Settings:
        if self.notifier == "http" and (not self.notify_url or self.notify_secret is None):
            raise ValueError("notifier http needs notify_url and notify_secret")
        return self

    @model_validator(mode="after")
    def _simulated_time_only_in_the_demo(self) -> Settings:
        simulated = (
            self.clock_speed != 1 or self.clock_start is not None or self.clock_epoch is not None
        )
        if simulated and not self.demo:
            raise ValueError(
                "clock_speed, clock_start and clock_epoch steer simulated time: demo only"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Arguments beat the environment, which beats the settings file named by FRESHLINE_CONFIG.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("FRESHLINE_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)
