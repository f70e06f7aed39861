"""A warehouse's losses by SKU over a window: what was written off against what was sold."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from backend_client.models.common import Response


class SkuLoss(Response):
    """One SKU's units sold and lost in the window. `lost` = `claimed` + `written_off`."""

    sku: str
    name: str
    sold: int = Field(description="Units that left the shelf with a rider (dispatched).")
    claimed: int = Field(
        description="Units of approved claims (arrived damaged: compensated, written off)."
    )
    written_off: int = Field(
        description="Units taken off the shelf by hand: negative stock adjustments (spoilage, "
        "breakage, goods back from a return unfit to sell, count corrections)."
    )
    returned: int = Field(
        description="Units of returns put back on the shelf: not a loss, shown beside it."
    )
    lost: int
    loss_rate: float | None = Field(
        description="`lost` / `sold`; null when nothing was sold (a loss then stands alone)."
    )


class WarehouseLosses(Response):
    """`GET /warehouses/{id}/losses`: the window, the totals, and each SKU with any activity,
    the largest loss rate first."""

    warehouse_id: str
    start: datetime
    end: datetime
    sold: int
    lost: int
    loss_rate: float | None
    skus: list[SkuLoss]
