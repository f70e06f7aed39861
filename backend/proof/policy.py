"""Which proofs an order needs before it may be signed: setting `[proof]`, per warehouse and
per sales channel. An order needs every kind its warehouse names, its channel names, and the
default names (the union): a warehouse asking for a photo and a channel asking for the PIN get
both."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backend_client.models import ProofKind


class ProofPolicy(BaseModel):
    """`[proof]` in the settings file; `FRESHLINE_PROOF` as JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: frozenset[ProofKind] = frozenset()
    """Kinds every order needs."""
    warehouses: dict[str, frozenset[ProofKind]] = Field(default_factory=dict)
    """Kinds the orders of each warehouse (by id) need."""
    channels: dict[str, frozenset[ProofKind]] = Field(default_factory=dict)
    """Kinds the orders of each sales channel need."""

    def required(self, warehouse_id: str, channel: str) -> dict[ProofKind, list[str]]:
        """Each kind an order of this warehouse and channel needs, with who asks for it."""
        needs: dict[ProofKind, list[str]] = {}
        for kind in self.default:
            needs.setdefault(kind, []).append("every order")
        for kind in self.warehouses.get(warehouse_id, ()):
            needs.setdefault(kind, []).append(f"warehouse {warehouse_id}")
        for kind in self.channels.get(channel, ()):
            needs.setdefault(kind, []).append(f"channel {channel}")
        return needs
