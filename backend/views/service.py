"""Saved views: list, create, change and delete the caller's own; one default per account.

Every query is narrowed to the caller's account: another account's view answers 404 exactly
like one that does not exist (docs/permissions.md), so ids reveal nothing. Views are the
desk's own preferences, not the city's history: they write no event to the log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, Forbidden, NotFound, StaleVersion
from backend.views.models import SavedViewRow
from backend_client.models import (
    MAX_VIEWS,
    SavedView,
    SavedViewCreate,
    SavedViewUpdate,
    ViewSettings,
    ViewSettingsIn,
)


def view_of(row: SavedViewRow) -> SavedView:
    return SavedView(
        id=row.id,
        name=row.name,
        default=row.is_default,
        settings=ViewSettings.model_validate(row.settings),
        version=row.version,
        updated_at=row.updated_at,
    )


def _owner(principal: Principal) -> int:
    if principal.user_id is None:
        raise Forbidden("only an account keeps views")
    return principal.user_id


def _stored(settings: ViewSettingsIn) -> dict[str, object]:
    return settings.model_dump(mode="json")


async def list_views(session: AsyncSession, principal: Principal) -> list[SavedViewRow]:
    """The caller's views, by name."""
    query = (
        select(SavedViewRow)
        .where(SavedViewRow.user_id == _owner(principal))
        .order_by(SavedViewRow.name)
    )
    return list((await session.scalars(query)).all())


async def load_view(
    session: AsyncSession, view_id: int, principal: Principal, *, for_update: bool = False
) -> SavedViewRow:
    """The caller's view `view_id`, or 404 (another account's too)."""
    query = select(SavedViewRow).where(
        SavedViewRow.id == view_id, SavedViewRow.user_id == _owner(principal)
    )
    if for_update:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"no view {view_id} of yours")
    return row


async def _check_name_free(
    session: AsyncSession, owner: int, name: str, *, besides: int | None = None
) -> None:
    query = select(SavedViewRow.id).where(SavedViewRow.user_id == owner, SavedViewRow.name == name)
    if besides is not None:
        query = query.where(SavedViewRow.id != besides)
    taken = await session.scalar(query)
    if taken is not None:
        raise Conflict(f"you already have a view named {name!r}", view_id=taken)


async def _clear_default(session: AsyncSession, owner: int, *, besides: int | None) -> None:
    """The account's default is no longer one (before another becomes it: the index allows
    one)."""
    query = update(SavedViewRow).where(
        SavedViewRow.user_id == owner, SavedViewRow.is_default.is_(True)
    )
    if besides is not None:
        query = query.where(SavedViewRow.id != besides)
    await session.execute(query.values(is_default=False, version=SavedViewRow.version + 1))


async def _flush(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:  # another terminal of the same account got there first
        raise Conflict(f"another change to your views ({name!r}) came first; try again") from exc


async def create_view(
    session: AsyncSession, body: SavedViewCreate, *, principal: Principal, now: datetime
) -> SavedViewRow:
    owner = _owner(principal)
    await _check_name_free(session, owner, body.name)
    held = await session.scalar(
        select(func.count()).select_from(SavedViewRow).where(SavedViewRow.user_id == owner)
    )
    if (held or 0) >= MAX_VIEWS:
        raise Conflict(f"you keep {MAX_VIEWS} views already: delete one first")
    if body.default:
        await _clear_default(session, owner, besides=None)
    row = SavedViewRow(
        user_id=owner,
        name=body.name,
        is_default=body.default,
        settings=_stored(body.settings),
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await _flush(session, body.name)
    return row


async def change_view(
    session: AsyncSession,
    view_id: int,
    body: SavedViewUpdate,
    *,
    principal: Principal,
    now: datetime,
) -> SavedViewRow:
    row = await load_view(session, view_id, principal, for_update=True)
    if body.version != row.version:
        raise StaleVersion(
            f"view {row.name!r} changed since you read it (version {row.version}, "
            f"not {body.version})",
            current_version=row.version,
        )
    if body.name is not None and body.name != row.name:
        await _check_name_free(session, row.user_id, body.name, besides=row.id)
        row.name = body.name
    if body.settings is not None:
        row.settings = _stored(body.settings)
    if body.default is True and not row.is_default:
        await _clear_default(session, row.user_id, besides=row.id)
        row.is_default = True
    elif body.default is False:
        row.is_default = False
    row.version += 1
    row.updated_at = now
    await _flush(session, row.name)
    return row


async def delete_view(session: AsyncSession, view_id: int, *, principal: Principal) -> None:
    row = await load_view(session, view_id, principal, for_update=True)
    await session.delete(row)
    await session.flush()
