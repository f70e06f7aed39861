"""`Idempotency-Key` for POSTs: a retry with the same key gets the first answer, and acts once.

The stored answer is written in the same transaction as the action it answers, so either both
are committed or neither. Requests with the same key from the same account are serialised (the
single writer on SQLite, an advisory lock on PostgreSQL), so a retry racing the original waits
for it and then replays its answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.auth.principal import Principal
from backend.db import Base, Database, UTCDateTime, lock_key
from backend.errors import Unprocessable

HEADER = "Idempotency-Key"
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")
_IDEMPOTENCY_LOCK_NAMESPACE = 0x46524C03


class IdempotencyRow(Base):
    """The first answer given to a POST carrying an idempotency key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


Action = Callable[[AsyncSession], Awaitable[tuple[int, BaseModel]]]


async def _document_header(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="Any 1-200 printable ASCII characters, new for each intended action: "
            "a retry with the same key gets the first answer and does not act again.",
        ),
    ] = None,
) -> None:
    """Declares the header in OpenAPI; `run_once` reads and checks it."""


IDEMPOTENT = [Depends(_document_header)]


async def run_once(
    request: Request, db: Database, principal: Principal, now: datetime, action: Action
) -> JSONResponse:
    """Run `action` in one write transaction, or replay the answer stored for the request's key."""
    key = request.headers.get(HEADER)
    if key is None or principal.user_id is None:

        async def plain(session: AsyncSession) -> tuple[int, Any, bool]:
            status, model = await action(session)
            return status, jsonable_encoder(model), False

        status, body, replayed = await db.write(plain)
        return JSONResponse(body, status_code=status)
    if not _KEY_PATTERN.match(key):
        raise Unprocessable(f"{HEADER} must be 1 to 200 printable ASCII characters")
    fingerprint = await _fingerprint(request)
    user_id = principal.user_id

    async def once(session: AsyncSession) -> tuple[int, Any, bool]:
        await lock_key(session, _IDEMPOTENCY_LOCK_NAMESPACE, f"{user_id}:{key}")
        stored = await session.scalar(
            select(IdempotencyRow).where(
                IdempotencyRow.user_id == user_id, IdempotencyRow.key == key
            )
        )
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise Unprocessable(f"{HEADER} {key!r} was already used for a different request")
            return stored.status_code, stored.response, True
        status, model = await action(session)
        body = jsonable_encoder(model)
        session.add(
            IdempotencyRow(
                user_id=user_id,
                key=key,
                fingerprint=fingerprint,
                status_code=status,
                response=body,
                created_at=now,
            )
        )
        return status, body, False

    status, body, replayed = await db.write(once)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _fingerprint(request: Request) -> str:
    raw = await request.body()
    try:
        # Key order and spacing do not make a different request.
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = raw
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.url.path.encode())
    digest.update(canonical)
    return digest.hexdigest()
