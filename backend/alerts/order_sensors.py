"""What the sensor rules see of one order: the newest temperature and humidity speaking for it
(its box's or its rider's vehicle's, the newer, within the rules' reading age) beside the bands
in force for its goods. Here, not in `sensors`, because the bands are the alert rules'."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.router import RuleBookDep
from backend.alerts.rules import Rules
from backend.auth.deps import CanReadOrders
from backend.deps import ClockDep, DbDep
from backend.orders.records import OrderRecord
from backend.orders.service import load_order
from backend.paths import OrderId
from backend.responses import PROTECTED, errors
from backend.sensors.latest import Measure, classes_of, newest_readings, speaking_for
from backend_client.models import LatestReading, OrderSensors

router = APIRouter(tags=["sensors"], responses=PROTECTED)


async def order_sensors(
    session: AsyncSession, order: OrderRecord, rules: Rules, *, now: datetime
) -> OrderSensors:
    """The newest temperature and humidity speaking for `order`, as the rules read them, and
    the bands its goods keep."""
    riders = [order.rider_id] if order.rider_id else []
    readings: dict[Measure, LatestReading | None] = {}
    ages: tuple[tuple[Measure, float], ...] = (
        ("celsius", rules.cold_chain_temperature.max_reading_age_minutes),
        ("humidity", rules.humidity.max_reading_age_minutes),
    )
    for measure, minutes in ages:
        since = now - timedelta(minutes=minutes)
        newest = await newest_readings(
            session, measure, order_ids=[order.id], rider_ids=riders, since=since
        )
        found = speaking_for(newest, order.id, order.rider_id)
        readings[measure] = (
            None if found is None else LatestReading(source=found[0], value=found[1], at=found[2])
        )
    carried = (await classes_of(session, [order.id])).get(order.id, set())
    cold = rules.cold_chain_temperature
    return OrderSensors(
        celsius=readings["celsius"],
        humidity=readings["humidity"],
        humidity_bands={
            name: (band.min_percent, band.max_percent)
            for name, band in sorted(rules.humidity.classes.items())
            if name in carried
        },
        celsius_band=(cold.min_celsius, cold.max_celsius) if order.cold_chain else None,
    )


@router.get(
    "/orders/{order_id}/sensors",
    response_model=OrderSensors,
    responses=errors({404: "No such order in your scope."}),
)
async def get_order_sensors(
    order_id: OrderId,
    db: DbDep,
    clock: ClockDep,
    book: RuleBookDep,
    principal: CanReadOrders,
) -> OrderSensors:
    """The newest temperature and humidity that speak for the order (its box's or its rider's
    vehicle's, the newer, within the rules' reading age) and the bands its goods keep."""
    now = clock.now()
    book.refresh(now)
    async with db.read() as session:
        order = await load_order(session, order_id, principal)
        return await order_sensors(session, order, book.rules, now=now)
