"""`client.users`: accounts (admins only)."""

from __future__ import annotations

from backend_client._transport import Resource
from backend_client.models import User, UserCreate


class Users(Resource):
    """Accounts."""

    async def all(self) -> list[User]:
        return await self._transport.call("GET", "/users", list[User])

    async def create(self, user: UserCreate, *, idempotency_key: str | None = None) -> User:
        return await self._transport.call(
            "POST", "/users", User, json=user, idempotency_key=idempotency_key
        )
