"""`client.views`: the signed-in account's saved views (desk accounts; each sees its own)."""

from __future__ import annotations

from backend_client._transport import Resource
from backend_client.models import SavedView, SavedViewCreate, SavedViewUpdate, ViewSettingsIn


class SavedViews(Resource):
    """List, read, save, change and delete your views."""

    async def all(self) -> list[SavedView]:
        """Yours, by name."""
        return await self._transport.call("GET", "/views", list[SavedView])

    async def get(self, view_id: int) -> SavedView:
        return await self._transport.call("GET", f"/views/{view_id}", SavedView)

    async def create(
        self, name: str, settings: ViewSettingsIn, *, default: bool = False
    ) -> SavedView:
        body = SavedViewCreate(name=name, settings=settings, default=default)
        return await self._transport.call("POST", "/views", SavedView, json=body)

    async def update(self, view_id: int, change: SavedViewUpdate) -> SavedView:
        """`change.version` is the view's as read: a stale one raises `Conflict`."""
        return await self._transport.call("PATCH", f"/views/{view_id}", SavedView, json=change)

    async def delete(self, view_id: int) -> None:
        await self._transport.call("DELETE", f"/views/{view_id}", None)
