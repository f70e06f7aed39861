"""The ETA an instance gives: the newest usable learned model in the model directory, else the
straight line at the rider's pace. Never a crash for a missing or damaged model file: a
warning in the log, and the straight line until a good one is there."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from backend.eta import features
from backend.eta.model import EtaModel, ModelFileError, late_risk, load, versions
from backend_client.models import LATE_RISK

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Estimate:
    """When an order should be delivered, and the chance it is late."""

    eta_at: datetime
    late_risk: float
    learned: bool
    """From the model (else the straight line)."""

    @property
    def late(self) -> bool:
        return self.late_risk >= LATE_RISK


def straight(leg: features.Leg) -> Estimate:
    """The fallback: the straight-line arrival, late or not for sure."""
    late = leg.straight_at > leg.stop.promised_at
    return Estimate(leg.straight_at, 1.0 if late else 0.0, learned=False)


class EtaPredictor:
    """The model an instance uses; `reload()` picks up a newer file (the refit loop calls it)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.model: EtaModel | None = None
        self.path: Path | None = None
        self._refused: set[Path] = set()
        self._warned_empty = False

    def reload(self) -> EtaModel | None:
        """Use the newest model file that loads; warn about each one that does not."""
        if self.directory is None:
            return None
        found = versions(self.directory)
        for _, path in reversed(found):
            if path == self.path:
                return self.model
            try:
                model = load(path)
            except ModelFileError as exc:
                if path not in self._refused:
                    self._refused.add(path)
                    log.warning("ETA model not used, the straight line stands in: %s", exc)
                continue
            self.model, self.path = model, path
            log.info("ETA model version %s in use (%s)", model.version, path.name)
            return model
        if self.model is not None and self.path is not None and not self.path.exists():
            log.warning("ETA model %s is gone: the straight line stands in", self.path.name)
        elif not found and not self._warned_empty:
            self._warned_empty = True
            log.warning("no ETA model in %s yet: the straight line stands in", self.directory)
        self.model = self.path = None
        return None

    def estimate(self, legs: Sequence[tuple[features.Leg, datetime, float, int]]) -> list[Estimate]:
        """Estimates for (leg, seen at, rider's pace, rider id) tuples, in one model call."""
        model = self.model
        if model is None or not legs:
            return [straight(leg) for leg, *_ in legs]
        try:
            found = model.quantiles(model.rows(legs))
        except Exception:  # a model that cannot predict must not stop the fixes
            log.warning("ETA model failed: the straight line stands in", exc_info=True)
            return [straight(leg) for leg, *_ in legs]
        middle = found.shape[1] // 2
        estimates = []
        for (leg, at, _, _), quantiles in zip(legs, found, strict=True):
            promise = (leg.stop.promised_at - at).total_seconds() / 60
            risk = late_risk(list(quantiles), promise)
            eta_at = at + timedelta(minutes=float(quantiles[middle]))
            estimates.append(Estimate(eta_at, round(risk, 3), learned=True))
        return estimates
