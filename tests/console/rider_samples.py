"""Riders for the map's tests and benchmark: the demo city's zones and warehouses, and riders
placed in them deterministically (a seed), in every state, around the samples' fixed moment."""

from __future__ import annotations

import random
from datetime import timedelta

from backend.sim.city import demo_city, demo_zones
from backend_client.models import Me, Order, OrderState, Rider, Role
from backend_client.stream import StreamState, StreamStatus
from console.app import FreshlineApp
from console.store import FrozenClock, MapPlace, MapZone, Store
from tests.console.samples import BEIJING, NOW, order

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


def riders_app(count: int = 24) -> FreshlineApp:
    me = Me(id=1, username="dispatcher", role=Role.DISPATCHER)
    return FreshlineApp(store=riders_store(count), zone=BEIJING, live=False, me=me)
