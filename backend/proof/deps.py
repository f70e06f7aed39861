"""The proof storage as a route dependency (`backend/deps.py` explains the pattern)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from backend.proof.storage import ProofStorage


async def proof_storage(connection: HTTPConnection) -> ProofStorage:
    """Where this instance keeps proof content (setting `proof_dir`)."""
    return connection.app.state.runtime.proofs


ProofStorageDep = Annotated[ProofStorage, Depends(proof_storage)]
