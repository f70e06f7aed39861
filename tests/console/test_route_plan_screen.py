"""The route plan of a rider (Pilot): riders, enter, `p` shows the proposed sequence (pick-ups
and drops, ETAs, late ones marked `!!`); `]` and `[` move a drop (locking it), `l` locks or
unlocks, `s` saves the order with the plan's version; a stale version is said and the plan read
again; a viewer's keys are dimmed and say why. The backend's plan routes are played by a
stand-in that checks versions as the server does (the server's own rules are tested in
tests/backend/test_route_plans.py)."""

from __future__ import annotations

from datetime import timedelta

from backend_client import Conflict
from backend_client.models import PlannedVisit, RoutePlan, VisitKind
from console.app import FreshlineApp
from screens.rider_orders import RiderOrdersScreen
from screens.route_plan import RoutePlanScreen
from tests.console.conftest import until
from tests.console.rider_samples import NOW, riders_app
from tests.console.samples import me_as
from tests.console.test_riders_screen import open_riders


class PlanBackend:
    """GET and PUT /riders/{id}/plan for one rider: drops 1, 2, 3 (2 collected first)."""

    def __init__(self) -> None:
        self.version = 0
        self.order = [1, 2, 3]
        self.locked: set[int] = set()
        self.saved: list[tuple[int, list[tuple[int, bool]]]] = []

    async def plan(self, rider_id: int) -> RoutePlan:
        visits = []
        for n, order_id in enumerate(self.order):
            at = NOW + timedelta(minutes=10 * (n + 1))
            common = {
                "order_id": order_id,
                "lat": 39.93,
                "lng": 116.45,
                "promised_at": NOW + timedelta(minutes=25),
                "weight_g": 1000,
                "cold_weight_g": 400 if order_id == 3 else 0,
            }
            if order_id == 2:
                visits.append(
                    PlannedVisit(kind=VisitKind.PICKUP, eta=at - timedelta(minutes=5),
                                 predicted_late=False, locked=False, **common)
                )  # fmt: skip
            visits.append(
                PlannedVisit(
                    kind=VisitKind.DROP,
                    eta=at,
                    predicted_late=at > common["promised_at"],
                    locked=order_id in self.locked,
                    **common,
                )
            )
        return RoutePlan(
            rider_id=rider_id, at=NOW, version=self.version, source="optimiser", km=4.2,
            late_minutes=5.0, promise_order_km=5.1, visits=visits,
        )  # fmt: skip

    async def order_route(
        self, rider_id: int, version: int, stops: list[tuple[int, bool]]
    ) -> RoutePlan:
        if version != self.version:
            raise Conflict(409, f"rider {rider_id}'s route changed since you read it")
        self.saved.append((version, stops))
        self.order = [order_id for order_id, _ in stops]
        self.locked = {order_id for order_id, locked in stops if locked}
        self.version += 1
        return await self.plan(rider_id)


def with_plans(app: FreshlineApp) -> PlanBackend:
    backend = PlanBackend()
    riders = app.client.riders  # type: ignore[union-attr]
    riders.plan = backend.plan
    riders.order_route = backend.order_route
    return backend


async def open_plan(app: FreshlineApp, pilot) -> RoutePlanScreen:  # type: ignore[no-untyped-def]
    await open_riders(app, pilot)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, RiderOrdersScreen), "the orders")
    await pilot.press("p")
    await until(pilot, lambda: isinstance(app.screen, RoutePlanScreen), "the route")
    screen = app.screen
    assert isinstance(screen, RoutePlanScreen)
    await until(pilot, lambda: screen.plan is not None, "the plan loaded")
    return screen


def rows(screen: RoutePlanScreen) -> list[str]:
    options = screen.query_one("#route-stops")
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]  # type: ignore[attr-defined]


async def test_the_plan_shows_the_sequence_and_a_dispatcher_reorders_and_saves_it() -> None:
    app = riders_app()
    backend = with_plans(app)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_plan(app, pilot)
        shown = rows(screen)
        assert [line.split()[0] for line in shown] == ["1.", "collect", "2.", "3."]
        assert "#2" in shown[1] and "!! late" in shown[3] and "❄" in shown[3]
        summary = str(screen.query_one("#route-summary").render())
        assert "optimised" in summary and "4.2 km" in summary and "5.1 km" in summary

        # Drop 1 one place later (locked there), then save: the order and locks go with v0.
        await pilot.press("]", "s")
        await until(pilot, lambda: backend.saved, "the order saved")
        assert backend.saved == [(0, [(2, False), (1, True), (3, False)])]
        await until(pilot, lambda: screen.plan is not None and screen.plan.version == 1, "v1")
        assert "[locked]" in rows(screen)[2] and "#1" in rows(screen)[2]  # after collect, drop 2

        # Someone else saved meanwhile: the save is refused, said, and the plan read again.
        backend.version = 5
        await pilot.press("l", "s")
        await until(pilot, lambda: screen.plan is not None and screen.plan.version == 5, "v5")
        assert len(backend.saved) == 1
        assert any("Route not saved" in (n.title or "") for n in app._notifications)


async def test_a_viewers_route_keys_are_dimmed_and_say_why() -> None:
    app = riders_app()
    app.me = me_as("viewer")  # type: ignore[arg-type]
    backend = with_plans(app)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_plan(app, pilot)
        before = rows(screen)
        await pilot.press("]", "l", "s")
        await until(pilot, lambda: len(app._notifications) >= 3, "three refusals")
        assert backend.saved == [] and rows(screen) == before
        assert all("not allowed" in (n.title or "") for n in app._notifications)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RiderOrdersScreen), "back")
