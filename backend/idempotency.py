"""`Idempotency-Key` for POSTs: a retry with the same key gets the first answer, and acts once.

The key is claimed (an INSERT that does nothing when the key is taken) before acting, and the
answer stored in the same transaction as the action it answers, so either both are committed or
neither. A retry racing the original waits for it (the single writer on SQLite, the unique
index on PostgreSQL) and then replays its answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.auth.principal import Principal
from backend.crypto.cipher import seal_json, unseal_json_text
from backend.db import Base, Database, UTCDateTime
from backend.errors import Unprocessable
from backend.sql import Query, json_text, sql_of

HEADER = "Idempotency-Key"
ANSWER_LABEL = "idempotency_keys.response"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    """Answers older than `answer_retention_hours` are pruned (backend/privacy/upkeep.py)."""


Action = Callable[[AsyncSession], Awaitable[tuple[int, BaseModel]]]


IDEMPOTENT: dict[str, Any] = {
    "parameters": [
        {
            "name": HEADER,
            "in": "header",
            "required": False,
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "pattern": KEY_PATTERN.pattern,
                "title": HEADER,
            },
            "description": "Any 1-200 printable ASCII characters, new for each intended action: "
            "a retry with the same key gets the first answer and does not act again.",
        }
    ]
}
"""The header in a route's OpenAPI (`openapi_extra=IDEMPOTENT`); `run_once` reads and checks
it. Not a dependency: one more dependency is one more step of FastAPI's per request."""


CLAIM = Query(
    "INSERT INTO idempotency_keys (user_id, key, fingerprint, status_code, response, created_at) "
    "VALUES (:user_id, :key, :fingerprint, 0, 'null', :created_at) "
    "ON CONFLICT (user_id, key) DO NOTHING RETURNING id"
)
"""Takes the key before acting. A racing twin on PostgreSQL waits on the unique index until
this transaction ends, then finds the key taken (or free again, if this one rolled back)."""
ANSWER = Query("UPDATE idempotency_keys SET status_code = :status, response = :body WHERE id = :id")
STORED = Query(
    "SELECT fingerprint, status_code, response FROM idempotency_keys "
    "WHERE user_id = :user_id AND key = :key"
)


async def run_once(
    request: Request,
    db: Database,
    principal: Principal,
    now: datetime,
    action: Action,
    *,
    fingerprint: str | None = None,
) -> Response:
    """Run `action` in one write transaction, or replay the answer stored for the request's key.
    `fingerprint`: what makes two requests the same, when it is not their body's bytes (a form
    upload, whose boundary a retry may draw anew); the body's hash if not given."""
    key = request.headers.get(HEADER)
    if key is None or principal.user_id is None:

        async def plain(session: AsyncSession) -> tuple[int, str, bool]:
            status, model = await action(session)
            return status, json_body(model), False

        status, body, replayed = await db.write(plain)
        return _answer(status, body, replayed)
    if not KEY_PATTERN.match(key):
        raise Unprocessable(f"{HEADER} must be 1 to 200 printable ASCII characters")
    fingerprint = fingerprint or await _fingerprint(request)
    mine = {"user_id": principal.user_id, "key": key}

    async def once(session: AsyncSession) -> tuple[int, str, bool]:
        sql = sql_of(session)
        claimed = await sql.one(CLAIM, {**mine, "fingerprint": fingerprint, "created_at": now})
        if claimed is None:  # read the stored answer only now, on conflict
            stored = await sql.one(STORED, mine)
            assert stored is not None
            if stored[0] != fingerprint:
                raise Unprocessable(f"{HEADER} {key!r} was already used for a different request")
            return stored[1], unseal_json_text(stored[2], ANSWER_LABEL), True
        status, model = await action(session)
        body = json_body(model)
        # The answer may carry a customer's name, phone and address: kept encrypted, and
        # pruned after `answer_retention_hours` (backend/privacy/upkeep.py).
        await sql.run(
            ANSWER, {"id": claimed[0], "status": status, "body": seal_json(body, ANSWER_LABEL)}
        )
        return status, body, False

    status, body, replayed = await db.write(once)
    return _answer(status, body, replayed)


def json_body(model: Any) -> str:
    """The answer as JSON text: serialised by pydantic's core (a list of models, item by item);
    anything else through FastAPI's encoder."""
    if isinstance(model, BaseModel):
        return model.model_dump_json()
    if isinstance(model, list) and all(isinstance(m, BaseModel) for m in model):
        return "[" + ",".join(m.model_dump_json() for m in model) + "]"
    return json_text(jsonable_encoder(model))


def _answer(status: int, body: str, replayed: bool) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(body, status_code=status, headers=headers, media_type="application/json")


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
