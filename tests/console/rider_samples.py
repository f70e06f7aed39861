"""Riders for the map's tests and benchmark: the demo city's zones and warehouses, and riders
placed in them deterministically (a seed), in every state, around the samples' fixed moment."""

from __future__ import annotations

import random
from datetime import timedelta
from types import SimpleNamespace

from backend.sim.city import demo_city, demo_zones
from backend_client import NotFound, StreamState, StreamStatus
from backend_client.models import (
    Event,
    Order,
    OrderState,
    Rider,
    RiderRoute,
    Role,
    RouteStop,
    Track,
    TrackPoint,
    TrackStop,
)
from console.app import FreshlineApp
from console.store import FrozenClock, MapPlace, MapZone, Store
from tests.console.samples import BEIJING, NOW, me_as, order

FIRST = ["Zhou", "Wu", "Sun", "Ma", "Hu", "Guo", "Lin", "He", "Gao", "Luo", "Zheng", "Liang"]
LAST = ["Tao", "Gang", "Li", "Jun", "Bin", "Hua", "Fei", "Ying", "Qiang", "Mei", "Hao", "Xin"]


def city() -> tuple[list[MapZone], list[MapPlace]]:
    zones = [(z.name, z.polygon) for z in demo_zones()]
    places = [(w["id"], w["lat"], w["lng"]) for w in demo_city()["warehouses"]]
    return zones, places


def riders(count: int, seed: int = 7) -> list[Rider]:
    """`count` riders spread over the zones; every 7th silent (fix 5 min old), every 11th off
    shift, the rest with a fix 20 s old."""
    rng = random.Random(seed)
    zones = demo_zones()
    out = []
    for n in range(1, count + 1):
        zone = zones[n % len(zones)]
        lat, lng = zone.random_point(rng)
        silent = n % 7 == 0
        out.append(
            Rider(
                id=n,
                name=f"{FIRST[n % len(FIRST)]} {LAST[(n // len(FIRST)) % len(LAST)]}",
                phone=f"139{n:08d}",
                status="offline" if n % 11 == 0 else "online",
                warehouse_id=zone.warehouse_id,
                capacity=3 + n % 3,
                active_orders=0,
                cold_chain=n % 2 == 0,
                last_lat=lat,
                last_lng=lng,
                last_fix_at=NOW - (timedelta(minutes=5) if silent else timedelta(seconds=20)),
            )
        )
    return out


def rider_orders(count: int, seed: int = 7) -> list[Order]:
    """Two orders for every third rider (one of them late for every ninth rider), delivered
    to points in the rider's zone."""
    rng = random.Random(seed + 1)
    zones = demo_zones()
    out = []
    number = 0
    for n in range(3, count + 1, 3):
        zone = zones[n % len(zones)]
        for k in range(2):
            lat, lng = zone.random_point(rng)
            minutes = -4 if (n % 9 == 0 and k == 0) else 15 + 10 * k
            o = order(number % 16, OrderState.DELIVERING, minutes, n)
            o = o.model_copy(update={"id": 5000 + number, "lat": lat, "lng": lng})
            out.append(o)
            number += 1
    return out


def riders_store(count: int = 24) -> Store:
    store = Store(FrozenClock(NOW))
    store.load(rider_orders(count), riders(count), last_seq=500)
    zones, places = city()
    store.set_geography(zones, places)
    store.set_connection(StreamStatus(StreamState.LIVE))
    store.fresh_at = None  # the badge's age would depend on when the test runs
    return store


def riders_app(count: int = 24, *, client: bool = True) -> FreshlineApp:
    """The console on `riders_store`, not live; with a stand-in client for routes and tracks."""
    me = me_as(Role.DISPATCHER, "dispatcher")
    store = riders_store(count)
    app = FreshlineApp(store=store, zone=BEIJING, live=False, me=me)
    if client:
        app.client = TrackClient(store)  # type: ignore[assignment]
    return app


# --- a track to replay, and a client that serves it ------------------------------------------


def sample_track(order_id: int = 5000) -> Track:
    """An order's ride: 20 minutes from the warehouse to the customer, a fix every 15 s, a
    3-minute stop half way, and its timeline (dispatched, then signed)."""
    store = riders_store()
    card = store.orders[order_id]
    start_at = NOW - timedelta(minutes=20)
    origin = (39.9334, 116.455)  # the Chaoyang warehouse
    points: list[TrackPoint] = []
    for n in range(81):
        share = min(n, 40) / 80 if n <= 52 else (n - 12) / 80  # 40..52: standing still
        lat = origin[0] + (card.lat - origin[0]) * share
        lng = origin[1] + (card.lng - origin[1]) * share
        speed = 0.0 if 40 < n <= 52 else 18.0
        points.append(
            TrackPoint(at=start_at + timedelta(seconds=15 * n), lat=lat, lng=lng, speed_kmh=speed)
        )
    stop = TrackStop(
        start=points[40].at, end=points[52].at, lat=points[40].lat, lng=points[40].lng, minutes=3
    )

    def event(seq: int, minutes: float, to_state: OrderState, from_state: OrderState) -> Event:
        return Event(
            seq=seq,
            kind="order.transition",
            order_id=order_id,
            rider_id=card.rider_id,
            warehouse_id="WH-CY",
            from_state=from_state,
            to_state=to_state,
            actor="rider-3",
            role="rider",
            client_addr=None,
            at=start_at + timedelta(minutes=minutes),
            reason=None,
            payload={"version": seq},
        )

    return Track(
        rider_id=card.rider_id,
        order_id=order_id,
        since=points[0].at,
        until=points[-1].at,
        points=points,
        stops=[stop],
        events=[
            event(4, 0, OrderState.DELIVERING, OrderState.PICKING),
            event(5, 10, OrderState.EXCEPTION, OrderState.DELIVERING),
            event(6, 13, OrderState.DELIVERING, OrderState.EXCEPTION),
            event(7, 20, OrderState.SIGNED, OrderState.DELIVERING),
        ],
    )


class TrackClient:
    """Stands in for `FreshlineClient` where the riders screens call it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.token = "t"
        self.routes_asked: list[int] = []
        self.orders = SimpleNamespace(track=self.order_track, get=self.order)
        self.riders = SimpleNamespace(route=self.rider_route)

    async def order_track(self, order_id: int) -> Track:
        if order_id != 5000:
            raise NotFound(404, "no such order")
        return sample_track(order_id)

    async def rider_route(self, rider_id: int) -> RiderRoute:
        self.routes_asked.append(rider_id)
        stops = []
        for order_id in reversed(self.store.orders_of(rider_id)):  # the backend's own sequence
            card = self.store.orders[order_id]
            stops.append(
                RouteStop(
                    order_id=order_id,
                    lat=card.lat,
                    lng=card.lng,
                    eta=None,
                    distance_m=None,
                    promised_at=card.promised_at,
                    predicted_late=False,
                )
            )
        return RiderRoute(rider_id=rider_id, at=NOW, stops=stops)

    async def order(self, order_id: int) -> Order:
        raise NotFound(404, "not in this test")

    async def aclose(self) -> None:
        pass
