"""The loop that proposes handovers at once and carries out those nobody decided in time.

Woken by this instance's alert events (an accident's or a silence's alert opening), and on a
tick for the time that passes. Every instance runs it; the service's locks make each step
happen once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.rules import RuleBook
from backend.auth.principal import system_principal
from backend.background import BackgroundLoop
from backend.clock import Clock
from backend.db import Database
from backend.errors import DomainError
from backend.realtime.outbox import LoggedEvent
from backend.takeover import planning, service
from backend.takeover.models import TakeoverRow
from backend_client import wait_event
from backend_client.models import TakeoverState

log = logging.getLogger(__name__)

MIN_GAP_S = 0.2
"""Events in a burst are looked at together, at most this often."""


class TakeoverDesk(BackgroundLoop):
    """Proposes, reviews and carries out handovers against `db`, on `clock`'s time."""

    name = "auto-handover"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        book: RuleBook,
        *,
        tick_seconds: float,
        notify_zone: ZoneInfo | None,
    ) -> None:
        super().__init__()
        self.db, self.clock, self.book = db, clock, book
        self.tick_seconds, self.notify_zone = tick_seconds, notify_zone
        self._wake = asyncio.Event()

    def heard(self, rows: list[LoggedEvent]) -> None:
        """An alert opened or changed, or an order moved: a proposal may be due or overtaken."""
        if any(r.kind.startswith(("alert.", "order.")) for r in rows):
            self._wake.set()

    async def _run(self) -> None:
        while True:
            await wait_event(self._wake, self.tick_seconds)
            self._wake.clear()
            try:
                await self.sweep()
            except Exception:  # an outage must not end the loop; the next pass retries
                log.exception("auto-handover pass failed")
            await asyncio.sleep(MIN_GAP_S)

    async def sweep(self) -> dict[str, int]:
        """One pass: mark overtaken what someone decided and carry out what is due, then
        propose for new triggers (a rider whose proposal was just overtaken may get the next
        one at once: one standing proposal per rider). How many of each."""
        now = self.clock.now()
        self.book.refresh(now)
        rules = self.book.rules
        done = {"proposed": 0, "overtaken": 0, "carried_out": 0, "failed": 0}
        if not rules.auto_handover.enabled:
            return done
        system = system_principal()
        async with self.db.read() as session:
            found = await planning.triggers(session)
            standing = [
                (
                    row.id,
                    row.due_at,
                    row.due_at > now and await service.why_not_standing(session, row),
                )
                for row in await session.scalars(
                    select(TakeoverRow).where(TakeoverRow.state == TakeoverState.PROPOSED)
                )
            ]
        for takeover_id, due_at, overtaken in standing:
            if due_at <= now:
                outcome = await self._carry_out(takeover_id, now)
                if outcome in done:
                    done[outcome] += 1
                continue
            if not overtaken:
                continue  # read only: a standing proposal costs no write per pass

            async def review(session: AsyncSession, takeover_id=takeover_id) -> bool:
                return await service.overtake(session, takeover_id, actor=system, now=now)

            done["overtaken"] += await self.db.write(review)
        for trigger in found:

            async def propose(session: AsyncSession, trigger=trigger) -> bool:
                made = await service.propose(session, trigger, rules, actor=system, now=now)
                return made is not None

            done["proposed"] += await self.db.write(propose)
        return done

    async def _carry_out(self, takeover_id: int, now: datetime) -> str:
        system = system_principal()
        rules = self.book.rules

        async def carry(session: AsyncSession) -> str:
            row = await service.carry_out(
                session, takeover_id, rules, actor=system, now=now, notify_zone=self.notify_zone
            )
            return "none" if row is None else str(row.state)

        try:
            return await self.db.write(carry)
        except DomainError as exc:  # a taker went offline or filled up: the desk decides
            why = f"could not be carried out: {exc.detail}"

            async def fail(session: AsyncSession) -> str:
                row = await service.load(session, takeover_id, lock=True)
                if row.state != TakeoverState.PROPOSED:
                    return "none"
                service.mark(row, TakeoverState.FAILED, system, now, why)
                await service.announce(session, row, "failed", actor=system, now=now, reason=why)
                return "failed"

            log.warning("handover %d %s", takeover_id, why)
            return await self.db.write(fail)
