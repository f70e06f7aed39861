"""Images for the proof tests: real JPEGs and PNGs made by Pillow, and broken ones."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from backend.proof import pins
from tests.support import Api

SECRET = "secret-spot 39.9361N 116.4551E"


def jpeg(width: int = 64, height: int = 48, *, exif: bool = True) -> bytes:
    """A JPEG with EXIF that gives away where and with what it was taken."""
    image = Image.new("RGB", (width, height), (200, 40, 40))
    tags = Image.Exif()
    if exif:
        tags[0x010E] = SECRET  # ImageDescription
        tags[0x010F] = "PhoneMaker"  # Make
        tags[0x8825] = {1: "N", 2: (39.0, 56.0, 10.0), 3: "E", 4: (116.0, 27.0, 18.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=tags.tobytes(), comment=SECRET.encode())
    return out.getvalue()


def png(width: int = 40, height: int = 20) -> bytes:
    image = Image.new("L", (width, height), 255)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def photo_form(content: bytes, kind: str = "photo", **fields: Any) -> dict[str, Any]:
    """httpx arguments for a multipart proof upload."""
    return {"data": {"kind": kind, **fields}, "files": {"file": ("door.jpg", content)}}


async def out_for_delivery(
    api: Api, rider: int, channel_user: str = "channel-app", **fields: Any
) -> dict[str, Any]:
    created = await api.create_order(channel_user=channel_user, **fields)
    order = await api.act(channel_user, created, "pay")
    order = await api.act("dispatcher", order, "start_picking")
    order = await api.assign(order, rider)
    return await api.act(f"rider-{rider}", order, "dispatch")


async def pin_of(api: Api, order_id: int) -> str:
    async with api.app.state.runtime.db.read() as session:
        pin = await pins.customer_pin(session, order_id)
    assert pin is not None
    return pin
