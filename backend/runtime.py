"""The live parts of one backend instance, made by `backend.app` when it starts.

Routes never take it whole: each declares the parts it uses through small dependencies
(`backend/deps.py` and beside each domain), which read them off `app.state.runtime`. Only the
app imports this module, so nothing under it depends on everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.alerts.engine import AlertEngine
from backend.alerts.rules import RuleBook
from backend.auth.login_limiter import LoginLimiter
from backend.auth.passwords import Passwords
from backend.auth.tokens import TokenCache
from backend.clock import Clock
from backend.db import Database
from backend.dispatch.sweeper import AutoDispatcher
from backend.notifications.engine import NotificationEngine
from backend.notifications.sender import NotificationSender
from backend.observability.metrics import Metrics
from backend.privacy.upkeep import PrivacyUpkeep
from backend.proof.storage import ProofStorage
from backend.realtime.bus import Bus
from backend.realtime.feed import EventFeed
from backend.realtime.hub import Hub
from backend.riders.geocoder import Geocoder
from backend.settings import Settings
from backend.takeover.desk import TakeoverDesk
from backend.webhooks.deliverer import Deliverer


@dataclass
class Runtime:
    """The live parts of one backend instance, kept on `app.state.runtime`."""

    settings: Settings
    db: Database
    clock: Clock
    passwords: Passwords
    login_limiter: LoginLimiter
    feed: EventFeed
    hub: Hub
    bus: Bus
    dispatcher: AutoDispatcher
    alerts: AlertEngine
    alert_rules: RuleBook
    tokens: TokenCache
    geocoder: Geocoder
    privacy: PrivacyUpkeep
    notifications: NotificationEngine
    notification_sender: NotificationSender
    proofs: ProofStorage
    """Where proof photos and signatures are kept (setting `proof_dir`)."""
    metrics: Metrics | None = None
    """This instance's metrics (None: `metrics_enabled` is off); `metrics.lag_gauge(...)`
    registers a figure read at every scrape."""
    webhooks: Deliverer | None = None
    """This instance's webhook deliverer (None: `webhooks` is off here)."""
    takeovers: TakeoverDesk | None = None
    """This instance's auto-handover loop (always built; it runs with `alerts` and
    `auto_handover` on)."""
