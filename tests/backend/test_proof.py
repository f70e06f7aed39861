"""Proof of delivery through the real app on SQLite and PostgreSQL: uploads cleaned and stored
by hash, every refused upload storing nothing, the PIN with its tries counted, and who may read
what."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from backend.clock import ManualClock
from backend.proof.models import ProofRow
from tests.backend.proof_support import SECRET, jpeg, out_for_delivery, photo_form, pin_of, png
from tests.support import Api, customer, started

LIMIT = 60_000


@pytest.fixture
def proof_dir(tmp_path: Path) -> Path:
    return tmp_path / "proof-store"


@pytest.fixture
async def api(database_url: str, clock: ManualClock, proof_dir: Path) -> AsyncIterator[Api]:
    settings = {"proof_dir": str(proof_dir), "proof_max_bytes": LIMIT, "proof_max_pixels": 250_000}
    async for api in started(database_url, clock, **settings):
        yield api


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def proof_rows(api: Api) -> int:
    async with api.app.state.runtime.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(ProofRow)) or 0)


async def test_a_photo_is_stored_cleaned_by_its_hash_and_read_back(api: Api, proof_dir: Path):
    await api.rider_online(1)
    order = await out_for_delivery(api, 1)
    sent = jpeg() + b"PK\x03\x04 a zip riding behind the picture"
    key = {"Idempotency-Key": "door-photo-1"}
    path = f"/orders/{order['id']}/proof"
    first = await api.post("rider-1", path, headers=key, **photo_form(sent))
    again = await api.post("rider-1", path, headers=key, **photo_form(sent))
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    proof = first.json()
    assert (proof["kind"], proof["taken_by"], proof["taken_role"]) == ("photo", "rider-1", "rider")
    assert (proof["media_type"], proof["width"], proof["height"]) == ("image/jpeg", 64, 48)

    # One file, named by the hash of what is stored: a fresh encoding of the pixels alone.
    [file] = stored_files(proof_dir)
    kept = file.read_bytes()
    assert file.name == proof["sha256"] == hashlib.sha256(kept).hexdigest()
    assert proof["size_bytes"] == len(kept)
    assert SECRET.encode() not in kept and b"PhoneMaker" not in kept and b"PK\x03\x04" not in kept
    assert kept.endswith(b"\xff\xd9")  # nothing after the image's end
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == "JPEG" and not image.getexif() and "comment" not in image.info
    assert await proof_rows(api) == 1

    # Read back by who may: the list, then the content by hash.
    for reader in ("rider-1", "dispatcher", "support", "viewer", "admin"):
        listed = await api.get(reader, f"/orders/{order['id']}/proofs")
        assert listed.status_code == 200 and listed.json() == [proof], reader
        content = await api.get(reader, f"/orders/{order['id']}/proofs/{proof['sha256']}")
        assert content.status_code == 200 and content.content == kept, reader
        assert content.headers["content-type"] == "image/jpeg"
    # Another rider's order, a hash of another order, a role without the permission.
    assert (await api.get("rider-2", f"/orders/{order['id']}/proofs")).status_code == 404
    other = await out_for_delivery(api, 1)
    wrong = await api.get("admin", f"/orders/{other['id']}/proofs/{proof['sha256']}")
    assert wrong.status_code == 404
    assert (await api.get("channel-app", f"/orders/{order['id']}/proofs")).status_code == 403
    timeline = (await api.get("admin", f"/orders/{order['id']}/timeline")).json()
    assert timeline[-1]["kind"] == "order.proof"
    assert timeline[-1]["payload"]["proof"]["sha256"] == proof["sha256"]

    # The same picture for another order reuses the file; a PNG signature stays a PNG.
    reused = await api.post("dispatcher", f"/orders/{other['id']}/proof", **photo_form(sent))
    assert reused.json()["sha256"] == proof["sha256"]
    signed = await api.post(
        "rider-1", f"/orders/{other['id']}/proof", **photo_form(png(), kind="signature")
    )
    assert signed.status_code == 201, signed.text
    assert (signed.json()["kind"], signed.json()["media_type"]) == ("signature", "image/png")
    assert len(stored_files(proof_dir)) == 2


async def test_refused_uploads_answer_why_and_store_nothing(api: Api, proof_dir: Path):
    await api.rider_online(1)
    await api.rider_online(2)
    order = await out_for_delivery(api, 1)
    picking = await api.act(
        "dispatcher", await api.act("channel-app", await api.create_order(), "pay"), "start_picking"
    )
    path = f"/orders/{order['id']}/proof"
    whole = jpeg(200, 150)
    huge = Image.new("1", (1000, 1000))  # a million pixels in a few hundred bytes
    bomb = io.BytesIO()
    huge.save(bomb, "PNG")
    big = io.BytesIO()
    Image.effect_noise((256, 256), 100).convert("RGB").save(big, "PNG")
    assert len(big.getvalue()) > LIMIT
    events = await api.event_count()

    refusals = [
        ("rider-1", path, photo_form(big.getvalue()), 413, "at most"),
        ("rider-1", path, photo_form(b"%PDF-1.7 not a picture"), 422, "not a JPEG or PNG"),
        ("rider-1", path, photo_form(b""), 422, "empty"),
        ("rider-1", path, photo_form(whole[: len(whole) // 2]), 422, "cut short"),
        ("rider-1", path, photo_form(png()[:-20]), 422, "cut short"),
        ("rider-1", path, photo_form(bomb.getvalue()), 422, "pixels"),
        ("rider-1", path, photo_form(whole, kind="selfie"), 422, "kind"),
        ("rider-1", path, photo_form(whole, pin="123456"), 422, "image"),
        ("rider-1", path, photo_form(whole, note="hi"), 422, "unknown form fields"),
        ("rider-1", path, {"data": {"kind": "photo"}}, 422, "file"),
        ("rider-1", path, {"content": whole, "headers": {"content-type": "image/jpeg"}}, 415, ""),
        ("rider-1", path, {"json": {"pin": "12ab"}}, 422, ""),
        ("rider-2", path, photo_form(whole), 404, "no order"),
        ("merchant-wh-cy", path, photo_form(whole), 403, "may not"),
        ("support", path, photo_form(whole), 403, "may not"),
        ("dispatcher", f"/orders/{picking['id']}/proof", photo_form(whole), 409, "PICKING"),
        ("rider-1", "/orders/999999/proof", photo_form(whole), 404, ""),
    ]
    for who, where, request, status, why in refusals:
        headers = request.pop("headers", {})
        response = await api.post(who, where, headers=headers, **request)
        assert response.status_code == status, (who, where, status, response.text)
        assert why.lower() in str(response.json()["detail"]).lower(), response.text
    assert stored_files(proof_dir) == []
    assert await proof_rows(api) == 0
    assert await api.event_count() == events


async def test_the_pin_proves_a_delivery_and_wrong_tries_spend_it(api: Api):
    await api.rider_online(1)
    order = await out_for_delivery(api, 1)
    other = await out_for_delivery(api, 1)
    pin = await pin_of(api, order["id"])
    assert len(pin) == 6 and pin.isdigit()
    wrong = f"{(int(pin) + 1) % 10**6:06d}"

    first = await api.post("rider-1", f"/orders/{order['id']}/proof", json={"pin": wrong})
    assert first.status_code == 422 and first.json()["attempts_left"] == 4
    right = await api.post("rider-1", f"/orders/{order['id']}/proof", json={"pin": pin})
    assert right.status_code == 201, right.text
    assert (right.json()["kind"], right.json()["sha256"]) == ("pin", None)
    # The other order's PIN is its own; five wrong tries spend it, the right one too after.
    other_pin = await pin_of(api, other["id"])
    wrong = f"{(int(other_pin) + 1) % 10**6:06d}"
    left = []
    for _ in range(5):
        answer = await api.post("dispatcher", f"/orders/{other['id']}/proof", json={"pin": wrong})
        assert answer.status_code == 422
        left.append(answer.json()["attempts_left"])
    assert left == [4, 3, 2, 1, 0]
    spent = await api.post("rider-1", f"/orders/{other['id']}/proof", json={"pin": other_pin})
    assert spent.status_code == 409 and "no longer counts" in spent.json()["detail"]
    # Multipart carries a PIN as well.
    form = await api.post(
        "rider-1", f"/orders/{order['id']}/proof", data={"kind": "pin", "pin": pin}
    )
    assert form.status_code == 201, form.text
    assert await proof_rows(api) == 2


async def test_sign_needs_the_proofs_the_policy_asks_for_and_cites_them(
    database_url: str, clock: ManualClock, tmp_path: Path
):
    policy = {"warehouses": {"WH-CY": ["photo"]}, "channels": {"app": ["pin"]}}
    async for api in started(database_url, clock, proof_dir=str(tmp_path), proof=policy):
        await api.rider_online(1)
        order = await out_for_delivery(api, 1)
        refused = await api.act("rider-1", order, "sign", expect=409)
        assert refused["missing"] == ["photo", "pin"]
        assert "photo (asked by warehouse WH-CY)" in refused["detail"]
        assert "pin (asked by channel app)" in refused["detail"]
        photo = await api.post("rider-1", f"/orders/{order['id']}/proof", **photo_form(jpeg()))
        assert photo.status_code == 201
        still = await api.act("rider-1", order, "sign", expect=409)
        assert still["missing"] == ["pin"]
        pin = await api.post(
            "rider-1", f"/orders/{order['id']}/proof", json={"pin": await pin_of(api, order["id"])}
        )
        assert pin.status_code == 201
        signed = await api.act("rider-1", order, "sign")
        assert signed["status"] == "SIGNED"
        timeline = (await api.get("admin", f"/orders/{order['id']}/timeline")).json()
        sign = next(e for e in timeline if e["to_state"] == "SIGNED")
        assert sign["payload"]["proofs"] == [
            {"id": photo.json()["id"], "kind": "photo", "sha256": photo.json()["sha256"]},
            {"id": pin.json()["id"], "kind": "pin", "sha256": None},
        ]
        # Signed, the order takes no more proof.
        late = await api.post("rider-1", f"/orders/{order['id']}/proof", **photo_form(png()))
        assert late.status_code == 409
        # A warehouse and channel the policy does not name sign as before, citing nothing.
        free = await out_for_delivery(api, 1, channel_user="channel-meituan", warehouse_id="WH-HD")
        assert (await api.act("rider-1", free, "sign"))["status"] == "SIGNED"


async def test_a_days_proofs_download_as_a_zip_for_the_desk_and_the_store(api: Api):
    await api.rider_online(1)
    order = await out_for_delivery(api, 1)
    photo = await api.post("rider-1", f"/orders/{order['id']}/proof", **photo_form(jpeg()))
    pin = await api.post(
        "rider-1", f"/orders/{order['id']}/proof", json={"pin": await pin_of(api, order["id"])}
    )
    # 18:00 in Shanghai, the business time zone: 7 hours on it is the next business day.
    api.clock.advance(hours=7)
    later = await api.post(
        "rider-1", f"/orders/{order['id']}/proof", **photo_form(png(), "signature")
    )
    assert later.status_code == 201
    day = "2026-11-22"
    path = f"/warehouses/WH-CY/proofs.zip?day={day}"

    for reader in ("merchant-wh-cy", "support", "admin"):
        answer = await api.get(reader, path)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
            names = archive.namelist()
            photo_file = f"order-{order['id']}/proof-{photo.json()['id']}-photo.jpg"
            assert names == [photo_file, "manifest.csv"]
            content = archive.read(photo_file)
            assert hashlib.sha256(content).hexdigest() == photo.json()["sha256"]
            manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        assert [(m["proof_id"], m["kind"], m["file"]) for m in manifest] == [
            (str(photo.json()["id"]), "photo", photo_file),
            (str(pin.json()["id"]), "pin", ""),
        ]
        assert (
            manifest[0]["taken_by"] == "rider-1" and manifest[0]["sha256"] == photo.json()["sha256"]
        )
    following = await api.get("admin", "/warehouses/WH-CY/proofs.zip?day=2026-11-23")
    with zipfile.ZipFile(io.BytesIO(following.content)) as archive:
        signature = f"order-{order['id']}/proof-{later.json()['id']}-signature.png"
        assert archive.namelist() == [signature, "manifest.csv"]
    empty = await api.get("admin", "/warehouses/WH-CY/proofs.zip?day=2026-11-20")
    with zipfile.ZipFile(io.BytesIO(empty.content)) as archive:
        assert archive.namelist() == ["manifest.csv"]

    assert (await api.get("merchant-wh-hd", path)).status_code == 403
    assert (await api.get("rider-1", path)).status_code == 403
    assert (await api.get("channel-app", path)).status_code == 403
    assert (await api.get("admin", f"/warehouses/WH-NONE/proofs.zip?day={day}")).status_code == 404
    assert (
        await api.get("admin", "/warehouses/WH-CY/proofs.zip?day=22-11-2026")
    ).status_code == 422


async def test_erasing_the_customer_discards_their_photos_and_keeps_the_record(
    api: Api, proof_dir: Path
):
    await api.rider_online(1)
    order = await out_for_delivery(api, 1)
    other = await out_for_delivery(api, 1, customer=customer(phone="13900139000"))
    photo = await api.post("rider-1", f"/orders/{order['id']}/proof", **photo_form(jpeg()))
    signature = await api.post(
        "rider-1", f"/orders/{order['id']}/proof", **photo_form(png(), "signature")
    )
    # Another customer's order with the same picture keeps it.
    shared = await api.post("rider-1", f"/orders/{other['id']}/proof", **photo_form(jpeg()))
    assert shared.json()["sha256"] == photo.json()["sha256"]
    await api.act("rider-1", order, "sign")
    assert len(stored_files(proof_dir)) == 2

    client = await api.client.delete(
        f"/api/v1/customers/{order['customer']['id']}", headers=await api.auth("admin")
    )
    assert client.status_code == 200, client.text
    assert [p.name for p in stored_files(proof_dir)] == [photo.json()["sha256"]]
    kept = (await api.get("admin", f"/orders/{order['id']}/proofs")).json()
    assert [(p["kind"], p["sha256"], p["taken_by"]) for p in kept] == [
        ("photo", None, "rider-1"),
        ("signature", None, "rider-1"),
    ]
    gone = await api.get("admin", f"/orders/{order['id']}/proofs/{signature.json()['sha256']}")
    assert gone.status_code == 404
    still = await api.get("admin", f"/orders/{other['id']}/proofs/{photo.json()['sha256']}")
    assert still.status_code == 200
