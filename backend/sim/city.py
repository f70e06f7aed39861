"""The demo city (Beijing), shipped as data in `city.json`."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def demo_city() -> dict[str, Any]:
    """Warehouses, catalogue, starting stock and riders of the demo city."""
    return json.loads(resources.files(__package__).joinpath("city.json").read_text("utf-8"))
