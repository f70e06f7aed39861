"""Routes: the caller's saved views (every desk account keeps its own, and sees no one else's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import CanKeepViews
from backend.deps import ClockDep, DbDep
from backend.idempotency import IDEMPOTENT, run_once
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.views import service
from backend.views.service import view_of
from backend_client.models import SavedView, SavedViewCreate, SavedViewUpdate

router = APIRouter(tags=["views"], responses=PROTECTED)

ViewId = Annotated[int, Path(ge=1, le=2**31 - 1, description="View id.")]
NOT_FOUND = errors({404: "No such view of yours (another account's views are not yours)."})
REFUSED = errors(
    {
        409: "A view of yours has that name already (`view_id` names it), you keep the most "
        "views an account may, or a stale `version`.",
        422: "A name with spaces, a lane, column or sort the board does not have, ETAs outside "
        "the delivering lane, or a focus on a lane not shown.",
    }
)


@router.get("/views", response_model=list[SavedView])
async def list_views(db: DbDep, principal: CanKeepViews) -> list[SavedView]:
    """Your saved views, by name; the one marked `default` opens at sign-in."""
    async with db.read() as session:
        return [view_of(row) for row in await service.list_views(session, principal)]


@router.get("/views/{view_id}", response_model=SavedView, responses=NOT_FOUND)
async def get_view(view_id: ViewId, db: DbDep, principal: CanKeepViews) -> SavedView:
    async with db.read() as session:
        return view_of(await service.load_view(session, view_id, principal))


@router.post(
    "/views",
    response_model=SavedView,
    status_code=201,
    responses={**REFUSED, **TOO_LARGE},
    openapi_extra=IDEMPOTENT,
)
async def create_view(
    body: SavedViewCreate, request: Request, db: DbDep, clock: ClockDep, principal: CanKeepViews
):
    """Save a view under a name of your own; `default: true` makes it the one opened at
    sign-in (your previous default stops being one)."""
    now = clock.now()

    async def act(session: AsyncSession) -> tuple[int, SavedView]:
        row = await service.create_view(session, body, principal=principal, now=now)
        return 201, view_of(row)

    return await run_once(request, db, principal, now, act)


@router.patch(
    "/views/{view_id}",
    response_model=SavedView,
    responses={**NOT_FOUND, **REFUSED, **TOO_LARGE},
)
async def change_view(
    view_id: ViewId, body: SavedViewUpdate, db: DbDep, clock: ClockDep, principal: CanKeepViews
) -> SavedView:
    """Rename a view, replace its settings, or make it (or stop it being) the default."""
    now = clock.now()

    async def job(session: AsyncSession) -> SavedView:
        row = await service.change_view(session, view_id, body, principal=principal, now=now)
        return view_of(row)

    return await db.write(job)


@router.delete("/views/{view_id}", status_code=204, responses=NOT_FOUND)
async def delete_view(view_id: ViewId, db: DbDep, principal: CanKeepViews) -> None:
    """Forget a view (deleting the default leaves none)."""

    async def job(session: AsyncSession) -> None:
        await service.delete_view(session, view_id, principal=principal)

    await db.write(job)
