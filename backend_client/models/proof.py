"""Proofs of delivery: what a rider uploads at the door, and what readers get back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from backend_client.models.common import Request, Response


class ProofKind(StrEnum):
    PHOTO = "photo"
    """A photo of the goods at the door (JPEG or PNG; stored re-encoded, metadata gone)."""
    SIGNATURE = "signature"
    """The customer's signature, drawn on the rider's phone or the tracking page (an image)."""
    PIN = "pin"
    """The customer told the rider the order's PIN, and it matched."""


Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]


class PinProof(Request):
    """Prove a delivery with the PIN the customer was given."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"pin": "482913"}]})

    pin: Pin = Field(description="The digits the customer read out.")


class Proof(Response):
    """One proof of an order's delivery."""

    id: int
    order_id: int
    kind: ProofKind
    sha256: str | None = Field(description="The content's SHA-256 (hex); none for a PIN.")
    media_type: str | None
    size_bytes: int
    width: int | None
    height: int | None
    taken_by: str
    taken_role: str
    taken_at: datetime
