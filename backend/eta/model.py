"""The learned ETA: gradient-boosted quantile models (LightGBM) of the minutes until an order is
delivered, fitted on `history.examples`, saved as one versioned JSON file.

Five quantiles of the delivery time are learned; the median is the ETA, and the chance of
being late (the delay risk) is where the promise falls in the distribution they draw, linearly
between them and with thin tails outside. Why LightGBM, and what it measured against
scikit-learn, is in docs/eta.md.

A model file is plain text (JSON holding LightGBM's own text format), never a pickle: loading
one runs no code, and a damaged or foreign file is refused with `ModelFileError`.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from backend.eta import features, history

if TYPE_CHECKING:  # imported where used: LightGBM and NumPy take seconds to import
    import lightgbm
    import numpy as np

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
FORMAT = 1
"""The model file's layout; a file of another is refused."""
FILE = re.compile(r"^eta-(\d{6})\.json$")
PARAMS: dict[str, Any] = {
    "objective": "quantile",
    "learning_rate": 0.08,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.9,
    "verbose": -1,
    "num_threads": 1,
    "deterministic": True,
    "seed": 7,
}
ROUNDS = 200


class ModelFileError(Exception):
    """A model file that cannot be used: missing, damaged, or of another layout (said why)."""


class TooLittleHistory(Exception):
    """Fewer examples than a model needs (said how many)."""


@dataclass
class EtaModel:
    """A fitted model and what it was fitted on."""

    boosters: dict[float, lightgbm.Booster]
    zones: list[str]
    riders: dict[int, float]
    """Each rider's usual riding speed in the history (a feature)."""
    time_zone: str
    meta: dict[str, Any] = field(default_factory=dict)
    """version, fitted_at, examples, days, fit_seconds, held-out errors..."""

    @property
    def version(self) -> int:
        return int(self.meta.get("version", 0))

    def rows(self, legs: Sequence[tuple[features.Leg, datetime, float, int]]) -> list[list[float]]:
        """Model inputs for (leg, seen at, pace, rider id) tuples."""
        tz = ZoneInfo(self.time_zone)
        return [
            features.row(leg, at, pace, self.riders.get(rider), self.zones, tz)
            for leg, at, pace, rider in legs
        ]

    def quantiles(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        """Minutes until delivery at each of QUANTILES (one row per input), non-decreasing."""
        import numpy as np

        if not rows:
            return np.zeros((0, len(QUANTILES)))
        data = np.asarray(rows, dtype=np.float64)
        found = np.column_stack([self.boosters[q].predict(data, num_threads=1) for q in QUANTILES])
        found = np.maximum(found, 0.0)
        return np.maximum.accumulate(found, axis=1)  # quantile models may cross: uncross


def late_risk(quantiles: Sequence[float], promise_minutes: float) -> float:
    """P(delivered after the promise), from one prediction's quantiles."""
    qs = list(quantiles)
    levels = list(QUANTILES)
    if promise_minutes <= qs[0]:
        # Below the lowest quantile: the tail shrinks linearly towards zero minutes.
        share = levels[0] * max(promise_minutes, 0.0) / qs[0] if qs[0] > 0 else 0.0
        return 1.0 - share
    if promise_minutes >= qs[-1]:
        spread = max(qs[-1] - qs[0], 1.0)
        share = levels[-1] + (1 - levels[-1]) * (1 - math.exp(-(promise_minutes - qs[-1]) / spread))
        return 1.0 - share
    i = bisect_left(qs, promise_minutes)
    low, high = qs[i - 1], qs[i]
    f = 0.0 if high <= low else (promise_minutes - low) / (high - low)
    return 1.0 - (levels[i - 1] + f * (levels[i] - levels[i - 1]))


def fit(
    found: Sequence[history.Example],
    riders: dict[int, float],
    *,
    time_zone: str,
    min_examples: int,
    rounds: int = ROUNDS,
) -> EtaModel:
    """Fit the quantile models on `found` (TooLittleHistory below `min_examples`)."""
    if len(found) < max(min_examples, 1):
        raise TooLittleHistory(f"{len(found)} examples, {min_examples} needed")
    import lightgbm
    import numpy as np

    started = time.perf_counter()
    zones = sorted({e.leg.stop.zone for e in found})
    data = np.asarray(history.matrix(found, zones, riders, ZoneInfo(time_zone)), dtype=np.float64)
    target = np.asarray([e.minutes for e in found], dtype=np.float64)
    boosters = {}
    for q in QUANTILES:
        train = lightgbm.Dataset(
            data,
            target,
            feature_name=list(features.FEATURES),
            categorical_feature=list(features.CATEGORICAL),
            free_raw_data=True,
        )
        boosters[q] = lightgbm.train({**PARAMS, "alpha": q}, train, num_boost_round=rounds)
    tz = ZoneInfo(time_zone)
    days = {e.at.astimezone(tz).date() for e in found}  # business days
    meta = {
        "fitted_at": datetime.now(UTC).isoformat(),
        "examples": len(found),
        "days": len(days),
        "from": min(e.at for e in found).isoformat(),
        "until": max(e.at for e in found).isoformat(),
        "fit_seconds": round(time.perf_counter() - started, 3),
        "library": f"lightgbm {lightgbm.__version__}",
    }
    return EtaModel(boosters, zones, riders, time_zone, meta)


def save(model: EtaModel, directory: Path) -> Path:
    """Write `model` as the next version in `directory` (atomically); returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    version = max((v for v, _ in versions(directory)), default=0) + 1
    model.meta["version"] = version
    body = {
        "format": FORMAT,
        "features": list(features.FEATURES),
        "quantiles": list(QUANTILES),
        "zones": model.zones,
        "riders": {str(k): v for k, v in model.riders.items()},
        "time_zone": model.time_zone,
        "meta": model.meta,
        "boosters": {str(q): b.model_to_string() for q, b in model.boosters.items()},
    }
    path = directory / f"eta-{version:06d}.json"
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(body), encoding="utf-8")
    os.replace(partial, path)
    return path


def versions(directory: Path) -> list[tuple[int, Path]]:
    """The model files in `directory`, oldest version first."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := FILE.match(p.name))]
    return sorted(found)


def load(path: Path) -> EtaModel:
    """A model file (ModelFileError if it cannot be used)."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path.name}: {exc}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ModelFileError(f"{path.name}: not a model file of format {FORMAT}")
    if body.get("features") != list(features.FEATURES) or body.get("quantiles") != list(QUANTILES):
        raise ModelFileError(f"{path.name}: fitted on other features or quantiles")
    import lightgbm

    try:
        boosters = {q: lightgbm.Booster(model_str=body["boosters"][str(q)]) for q in QUANTILES}
        model = EtaModel(
            boosters=boosters,
            zones=[str(z) for z in body["zones"]],
            riders={int(k): float(v) for k, v in body["riders"].items()},
            time_zone=str(body["time_zone"]),
            meta=dict(body["meta"]),
        )
        ZoneInfo(model.time_zone)
        for booster in boosters.values():
            if booster.num_feature() != len(features.FEATURES):
                raise ModelFileError(f"{path.name}: a booster of the wrong shape")
    except ModelFileError:
        raise
    except Exception as exc:  # LightGBM raises its own errors on a damaged model string
        raise ModelFileError(f"{path.name}: {type(exc).__name__}: {exc}") from None
    return model
