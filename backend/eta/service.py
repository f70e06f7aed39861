"""Fitting the learned ETA on the database's history (`freshline model fit`, and the refit
loop an instance runs every `eta_refit_hours`), and where model files live."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median

from sqlalchemy.engine import make_url

from backend.background import BackgroundLoop
from backend.clock import Clock
from backend.db import Database
from backend.eta import history
from backend.eta.model import EtaModel, TooLittleHistory, fit, save
from backend.eta.predictor import EtaPredictor
from backend.settings import Settings

log = logging.getLogger(__name__)

RELOAD_SECONDS = 60.0
"""How often an instance looks for a newer model file (another instance, or the command,
may have written one)."""


def model_dir(settings: Settings) -> Path:
    """The settings' model directory; by default `models/` beside the SQLite database, or in
    the user's data directory with PostgreSQL."""
    if settings.eta_model_dir:
        return Path(settings.eta_model_dir)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database or "").resolve().parent / "models"
    from platformdirs import user_data_dir

    return Path(user_data_dir("freshline", appauthor=False)) / "models"


@dataclass(frozen=True, slots=True)
class Fitted:
    model: EtaModel
    path: Path


async def history_of(
    db: Database, since: datetime, until: datetime
) -> tuple[list[history.Example], dict[int, float]]:
    """Examples from the orders signed in [since, until), and each rider's usual speed, a day
    at a time (a month of fixes is never in memory at once: only its examples are)."""
    found: list[history.Example] = []
    speeds: dict[int, list[float]] = {}
    day = since
    while day < until:
        end = min(day + timedelta(days=1), until)
        async with db.read() as session:
            riders = await history.load_day(session, day, end)
        found += await asyncio.to_thread(history.examples, riders)
        for rider, kmh in history.rider_speeds(riders).items():
            speeds.setdefault(rider, []).append(kmh)
        day = end
    return found, {rider: median(v) for rider, v in speeds.items()}


async def fit_history(db: Database, settings: Settings, *, days: int, now: datetime) -> Fitted:
    """Fit a model on the last `days` days and write it as the next version (TooLittleHistory:
    nothing written)."""
    found, riders = await history_of(db, now - timedelta(days=days), now)
    model = await asyncio.to_thread(
        fit,
        found,
        riders,
        time_zone=settings.time_zone,
        min_examples=settings.eta_min_examples,
    )
    model.meta["history_days"] = days
    path = await asyncio.to_thread(save, model, model_dir(settings))
    return Fitted(model, path)


class EtaRefit(BackgroundLoop):
    """Every RELOAD_SECONDS: the newest model file into use; every `eta_refit_hours` (unless
    0): a fit on the last `eta_history_days`, written as the next version."""

    name = "eta-refit"

    def __init__(
        self, db: Database, settings: Settings, clock: Clock, predictor: EtaPredictor
    ) -> None:
        super().__init__()
        self.db, self.settings, self.clock, self.predictor = db, settings, clock, predictor

    async def _run(self) -> None:
        period = self.settings.eta_refit_hours * 3600
        loop = asyncio.get_running_loop()
        # A period first: a backend starting is busy enough, and a restart loop must not turn
        # into a fitting loop.
        due = loop.time() + period
        while True:
            await asyncio.sleep(RELOAD_SECONDS)
            if period and loop.time() >= due:
                due = loop.time() + period
                try:
                    fitted = await fit_history(
                        self.db,
                        self.settings,
                        days=self.settings.eta_history_days,
                        now=self.clock.now(),
                    )
                    log.info("ETA model version %s fitted", fitted.model.version)
                except TooLittleHistory as exc:
                    log.info("ETA model not fitted, too little history: %s", exc)
                except asyncio.CancelledError:
                    raise
                except Exception:  # logged, tried again next period; the model in use stays
                    log.exception("ETA model fit failed")
            await asyncio.to_thread(self.predictor.reload)
