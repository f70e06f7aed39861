"""Bearer tokens resolved from memory: who is behind a token, without a query per request.

A token the database vouched for is believed for `ttl_seconds` (setting
`token_cache_seconds`); its expiry is checked on every use. Signing out, disabling an account
or changing its role forgets at once, here and, through the bus, on every other instance (the
account's tokens are revoked in the database too, so an instance that missed the news learns it
within `ttl_seconds`). Unknown, expired and revoked tokens are never kept: each such request
asks the database again.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from backend.auth.permissions import STAGES, stages_of
from backend.auth.principal import Principal
from backend.auth.service import principal_for_token, token_digest
from backend.db import Database
from backend.errors import NotAuthenticated
from backend_client.models import OrderState, Role

Announce = Callable[[str | None, int | None], None]
"""Tells the other instances to forget a token (by digest) or an account's tokens."""
Revoked = Callable[[str | None, int | None], None]
"""Told of a token (by digest) or an account whose tokens no longer count (the hub)."""


@dataclass(frozen=True, slots=True)
class _Vouched:
    principal: Principal
    expires_at: datetime
    until: float
    """When to ask the database again (monotonic seconds)."""


class TokenCache:
    """Digest -> the principal behind it, for a short while; bounded, oldest out first."""

    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_entries: int = 50_000,
        monotonic: Callable[[], float] = time.monotonic,
        stages: Mapping[Role, frozenset[OrderState]] = STAGES,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.stages = stages
        """Which order states each role sees (setting `stage_scope`), stamped on principals."""
        self.max_entries = max_entries
        self.monotonic = monotonic
        self.announce: Announce | None = None
        """Set by the app once the bus runs."""
        self.listeners: list[Revoked] = []
        """Told of every revocation, this instance's and the others' (the hub ends streams)."""
        self._known: OrderedDict[str, _Vouched] = OrderedDict()

    async def principal(
        self, db: Database, token: str, *, now: datetime, client_addr: str | None
    ) -> Principal:
        """The caller behind `token`; NotAuthenticated if unknown, expired or revoked."""
        digest = token_digest(token)
        known = self._known.get(digest)
        if known is not None and known.until > self.monotonic():
            if known.expires_at <= now:
                self._known.pop(digest, None)
                raise NotAuthenticated("token expired; sign in again")
            return dataclasses.replace(known.principal, client_addr=client_addr)
        async with db.read() as session:
            principal, expires_at = await principal_for_token(session, token, now=now)
        principal = dataclasses.replace(principal, stages=stages_of(principal.role, self.stages))
        self._remember(digest, principal, expires_at)
        return dataclasses.replace(principal, client_addr=client_addr)

    def _remember(self, digest: str, principal: Principal, expires_at: datetime) -> None:
        self._known[digest] = _Vouched(principal, expires_at, self.monotonic() + self.ttl_seconds)
        self._known.move_to_end(digest)
        while len(self._known) > self.max_entries:
            self._known.popitem(last=False)

    # --- forgetting ------------------------------------------------------------------------

    def signing_out(self, token: str) -> None:
        """A token is about to be revoked: its streams here end before the revocation commits,
        so nothing committed after it reaches them (`revoked` follows once committed)."""
        digest = token_digest(token)
        for listener in self.listeners:
            listener(digest, None)
        if self.announce is not None:
            # The other instances too; they hear it again once committed (`revoked`), so a
            # check of theirs in between cannot keep the token believed.
            self.announce(digest, None)

    def revoked(self, token: str) -> None:
        """A token was signed out: forget it here and everywhere."""
        digest = token_digest(token)
        self.forget(digest, None)
        if self.announce is not None:
            self.announce(digest, None)

    def account_changed(self, user_id: int) -> None:
        """An account was disabled or changed role: forget its tokens here and everywhere."""
        self.forget(None, user_id)
        if self.announce is not None:
            self.announce(None, user_id)

    def forget(self, digest: str | None, user_id: int | None) -> None:
        """Forget one token, or every token of one account (news from another instance), and
        end their streams."""
        for listener in self.listeners:
            listener(digest, user_id)
        if digest is not None:
            self._known.pop(digest, None)
        if user_id is not None:
            for key in [k for k, v in self._known.items() if v.principal.user_id == user_id]:
                del self._known[key]
