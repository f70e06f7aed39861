"""The notifier and retry policy the settings choose."""

from __future__ import annotations

from datetime import timedelta

from backend.notifications.notifiers import HttpNotifier, LogNotifier, Notifier
from backend.notifications.sender import Attempts
from backend.outbound.backoff import Backoff
from backend.settings import Settings


def notifier_for(settings: Settings) -> Notifier:
    """`settings.notifier`: the HTTP gateway, or the service log."""
    if settings.notifier == "http":
        assert settings.notify_url and settings.notify_secret  # checked by Settings
        return HttpNotifier(
            settings.notify_url,
            settings.notify_secret.get_secret_value(),
            timeout_seconds=settings.notify_timeout_seconds,
        )
    return LogNotifier()


def attempts_of(settings: Settings) -> Attempts:
    """The sender's retry policy; a claim outlives the slowest send by a wide margin."""
    return Attempts(
        backoff=Backoff(
            base_seconds=settings.notify_backoff_base_seconds,
            cap_seconds=settings.notify_backoff_cap_seconds,
        ),
        max_attempts=settings.notify_max_attempts,
        lease=timedelta(seconds=max(60.0, 6 * settings.notify_timeout_seconds)),
    )
