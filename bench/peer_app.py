"""The peer baseline of benchmark 4: a minimal FastAPI + SQLAlchemy app doing the core work of
an order transition, as a small team would write it. Freshline's transitions per second and
server CPU per transition are read beside this app's, with the same client, in the same run.

    .venv/bin/python bench/peer_app.py --port 8800 --database-url sqlite+aiosqlite:///peer.db

What it does per request, and nothing more: read the order (FOR UPDATE on PostgreSQL), check
the version (409 if stale), update it, append an event row, commit, answer the order as JSON
(a pydantic model). SQLAlchemy's async ORM session, aiosqlite or asyncpg, uvicorn as Freshline
runs it (uvloop, httptools). On SQLite its writes take turns on an asyncio lock (a minimal app
that did not would fail with "database is locked" under 8 clients). It has no accounts, scope,
idempotency, stock, parcels, riders' slots, stream or alerts: those are Freshline's, and cost
what they cost; the ratio says how much.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NEXT = {
    "pay": "PAID",
    "start_picking": "PICKING",
    "dispatch": "DELIVERING",
    "sign": "SIGNED",
    "cancel": "CANCELLED",
}


class Base(DeclarativeBase):
    pass


class PeerOrder(Base):
    __tablename__ = "peer_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int]
    rider_id: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PeerEvent(Base):
    __tablename__ = "peer_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    order_id: Mapped[int] = mapped_column(ForeignKey("peer_orders.id"))
    kind: Mapped[str] = mapped_column(String(40))
    to_state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int]
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrderIn(BaseModel):
    external_id: str


class TransitionIn(BaseModel):
    action: str
    version: int


class AssignIn(BaseModel):
    rider_id: int
    version: int


class OrderOut(BaseModel):
    id: int
    external_id: str
    status: str
    version: int
    rider_id: int | None
    updated_at: datetime


def create_peer(database_url: str) -> FastAPI:
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    sqlite = database_url.startswith("sqlite")
    turn = asyncio.Lock() if sqlite else contextlib.nullcontext()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            if sqlite:
                await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            await conn.run_sync(Base.metadata.create_all)
        yield
        await engine.dispose()

    @contextlib.asynccontextmanager
    async def transaction() -> AsyncIterator[AsyncSession]:
        # Committed before the answer is built, so a client never sees an uncommitted version.
        async with turn, sessions() as s, s.begin():
            yield s

    app = FastAPI(lifespan=lifespan)

    async def locked(s: AsyncSession, order_id: int, version: int) -> PeerOrder:
        order = await s.scalar(select(PeerOrder).where(PeerOrder.id == order_id).with_for_update())
        if order is None:
            raise HTTPException(404, f"no order {order_id}")
        if order.version != version:
            raise HTTPException(409, f"order {order_id} is at version {order.version}")
        return order

    def changed(s: AsyncSession, order: PeerOrder, kind: str) -> OrderOut:
        order.version += 1
        order.updated_at = datetime.now(UTC)
        s.add(
            PeerEvent(
                order_id=order.id,
                kind=kind,
                to_state=order.status,
                version=order.version,
                at=order.updated_at,
            )
        )
        return OrderOut.model_validate(order, from_attributes=True)

    @app.get("/api/v1/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok"}

    @app.post("/api/v1/orders", status_code=201)
    async def create(body: OrderIn) -> OrderOut:
        async with transaction() as s:
            order = PeerOrder(
                external_id=body.external_id,
                status="CREATED",
                version=0,
                rider_id=None,
                updated_at=datetime.now(UTC),
            )
            s.add(order)
            await s.flush()
            return changed(s, order, "order.created")

    @app.post("/api/v1/orders/{order_id}/transitions")
    async def transition(order_id: int, body: TransitionIn) -> OrderOut:
        async with transaction() as s:
            order = await locked(s, order_id, body.version)
            if body.action not in NEXT:
                raise HTTPException(409, f"no action {body.action}")
            order.status = NEXT[body.action]
            return changed(s, order, "order.transition")

    @app.post("/api/v1/orders/{order_id}/assign")
    async def assign(order_id: int, body: AssignIn) -> OrderOut:
        async with transaction() as s:
            order = await locked(s, order_id, body.version)
            order.rider_id = body.rider_id
            return changed(s, order, "order.assigned")

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_peer(args.database_url), host="127.0.0.1", port=args.port, log_level="warning"
    )


if __name__ == "__main__":
    main()
