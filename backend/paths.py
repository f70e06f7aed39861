"""Path parameters the routers share: ids as the URL carries them, bounded to what the
database stores (an out-of-range id is a 422, not a query)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

OrderId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Order id.")]
RiderId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Rider id.")]
