"""Saved views over the API: each account keeps its own, one default, bad input refused with
nothing changed, and everything still there after the backend restarts."""

from __future__ import annotations

from typing import Any

import httpx

from backend.clock import ManualClock
from backend_client.models import MAX_VIEWS
from tests.support import Api, started

API = "/api/v1"

MY_ZONES: dict[str, Any] = {
    "search": "",
    "zones": ["Chaoyang", "Haidian"],
    "late_only": True,
    "lanes": ["picking", "delivering", "exception"],
    "focus": "delivering",
    "layouts": {
        "delivering": {"columns": ["id", "eta", "rider", "zone"], "sort": "eta"},
        "picking": {"columns": ["id", "customer", "time"], "sort": "customer", "descending": True},
    },
}


async def call(api: Api, who: str, method: str, path: str, json: Any = None) -> httpx.Response:
    return await api.client.request(method, API + path, headers=await api.auth(who), json=json)


async def views_of(api: Api, who: str) -> list[dict[str, Any]]:
    response = await call(api, who, "GET", "/views")
    assert response.status_code == 200, response.text
    return response.json()


async def save(api: Api, who: str, name: str, settings: Any, **extra: Any) -> dict[str, Any]:
    response = await call(api, who, "POST", "/views", {"name": name, "settings": settings, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_view_is_saved_read_changed_and_deleted_by_its_owner(api: Api) -> None:
    saved = await save(api, "dispatcher", "my-zones", MY_ZONES, default=True)
    assert saved["name"] == "my-zones" and saved["default"] and saved["version"] == 1
    assert saved["settings"]["zones"] == ["Chaoyang", "Haidian"]
    assert saved["settings"]["layouts"]["delivering"] == {
        "columns": ["id", "eta", "rider", "zone"],
        "sort": "eta",
        "descending": False,
    }
    # What is not said takes the board's defaults.
    plain = await save(api, "dispatcher", "all", {})
    assert plain["settings"]["lanes"] == [
        "new",
        "picking",
        "out_of_stock",
        "delivering",
        "exception",
        "signed",
    ]
    assert [v["name"] for v in await views_of(api, "dispatcher")] == ["all", "my-zones"]

    # Renamed, re-laid out, and made the default: the old default stops being one.
    change = {"version": 1, "name": "everything", "default": True, "settings": {"late_only": True}}
    changed = await call(api, "dispatcher", "PATCH", f"/views/{plain['id']}", change)
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2 and changed.json()["settings"]["late_only"]
    defaults = {v["name"]: v["default"] for v in await views_of(api, "dispatcher")}
    assert defaults == {"everything": True, "my-zones": False}

    # The same version again is stale: 409 with the current one, nothing changed.
    stale = await call(api, "dispatcher", "PATCH", f"/views/{plain['id']}", change)
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    # default false on the default leaves none.
    cleared = await call(
        api, "dispatcher", "PATCH", f"/views/{plain['id']}", {"version": 2, "default": False}
    )
    assert cleared.status_code == 200 and not cleared.json()["default"]
    assert not any(v["default"] for v in await views_of(api, "dispatcher"))

    gone = await call(api, "dispatcher", "DELETE", f"/views/{saved['id']}")
    assert gone.status_code == 204
    assert (await call(api, "dispatcher", "GET", f"/views/{saved['id']}")).status_code == 404
    assert [v["name"] for v in await views_of(api, "dispatcher")] == ["everything"]


async def test_another_accounts_view_is_not_there_for_you(api: Api) -> None:
    mine = await save(api, "dispatcher", "my-zones", MY_ZONES)
    # The supervisor keeps views too, under the same name, and sees only theirs.
    theirs = await save(api, "supervisor", "my-zones", {"late_only": True}, default=True)
    assert [v["id"] for v in await views_of(api, "supervisor")] == [theirs["id"]]
    assert [v["id"] for v in await views_of(api, "dispatcher")] == [mine["id"]]
    # Read, changed or deleted by anyone else, the dispatcher's view answers 404 like one that
    # does not exist, and is left as it was.
    for method, body in (("GET", None), ("PATCH", {"version": 1, "name": "x"}), ("DELETE", None)):
        refused = await call(api, "supervisor", method, f"/views/{mine['id']}", body)
        assert refused.status_code == 404, (method, refused.text)
        assert "no view" in refused.json()["detail"]
    still = await call(api, "dispatcher", "GET", f"/views/{mine['id']}")
    assert still.json() == mine
    # Roles outside the desk keep none.
    for who in ("merchant-wh-cy", "rider-1", "channel-app"):
        assert (await call(api, who, "GET", "/views")).status_code == 403


async def test_bad_views_are_refused_and_change_nothing(api: Api) -> None:
    kept = await save(api, "dispatcher", "kept", MY_ZONES, default=True)
    before = await views_of(api, "dispatcher")
    bad_bodies: list[Any] = [
        {"name": "my zones", "settings": {}},  # a space: `:view open` could not name it
        {"name": "", "settings": {}},
        {"name": "x" * 41, "settings": {}},
        {"name": "a\u200bb", "settings": {}},
        {"name": "ok", "settings": {"lanes": []}},
        {"name": "ok", "settings": {"lanes": ["new", "new"]}},
        {"name": "ok", "settings": {"lanes": ["parked"]}},
        {"name": "ok", "settings": {"focus": "signed", "lanes": ["new"]}},
        {"name": "ok", "settings": {"layouts": {"new": {"columns": ["eta"]}}}},
        {"name": "ok", "settings": {"layouts": {"picking": {"columns": ["id"], "sort": "eta"}}}},
        {"name": "ok", "settings": {"layouts": {"new": {"columns": []}}}},
        {"name": "ok", "settings": {"layouts": {"new": {"columns": ["id", "id"]}}}},
        {"name": "ok", "settings": {"layouts": {"new": {"columns": ["price"]}}}},
        {"name": "ok", "settings": {"layouts": {"new": {"columns": ["id"], "sort": "size"}}}},
        {"name": "ok", "settings": {"late_only": "yes"}},
        {"name": "ok", "settings": {"zones": ["Chaoyang", "Chaoyang"]}},
        {"name": "ok", "settings": {"search": "x" * 101}},
        {"name": "ok", "settings": {"colour": "red"}},
        {"name": "ok", "settings": {}, "default": 1},
        {"name": "ok"},
    ]
    for body in bad_bodies:
        response = await call(api, "dispatcher", "POST", "/views", body)
        assert response.status_code == 422, (body, response.text)
    for body in ({"version": 1, "settings": {"lanes": []}}, {"name": "no version"}, {}):
        response = await call(api, "dispatcher", "PATCH", f"/views/{kept['id']}", body)
        assert response.status_code == 422, (body, response.text)
    for path in ("/views/0", "/views/abc", f"/views/{2**31}"):
        assert (await call(api, "dispatcher", "GET", path)).status_code == 422, path
    # A name already taken: 409 naming the view that has it.
    twice = await call(api, "dispatcher", "POST", "/views", {"name": "kept", "settings": {}})
    assert twice.status_code == 409 and twice.json()["view_id"] == kept["id"]
    other = await save(api, "dispatcher", "other", {})
    renamed = await call(
        api, "dispatcher", "PATCH", f"/views/{other['id']}", {"version": 1, "name": "kept"}
    )
    assert renamed.status_code == 409 and renamed.json()["view_id"] == kept["id"]
    await call(api, "dispatcher", "DELETE", f"/views/{other['id']}")
    assert await views_of(api, "dispatcher") == before


async def test_an_account_keeps_at_most_so_many_views(api: Api) -> None:
    for n in range(MAX_VIEWS):
        await save(api, "support", f"v{n}", {})
    refused = await call(api, "support", "POST", "/views", {"name": "one-more", "settings": {}})
    assert refused.status_code == 409 and str(MAX_VIEWS) in refused.json()["detail"]
    assert len(await views_of(api, "support")) == MAX_VIEWS


async def test_views_survive_a_restart_of_the_backend(database_url: str) -> None:
    clock = ManualClock()
    async for api in started(database_url, clock):
        saved = await save(api, "dispatcher", "my-zones", MY_ZONES, default=True)
        await save(api, "dispatcher", "late", {"late_only": True})
    # A new backend process on the same database: the same views, the same default.
    async for api in started(database_url, clock):
        after = await views_of(api, "dispatcher")
        assert [v["name"] for v in after] == ["late", "my-zones"]
        assert after[1] == saved
