"""Routes: recording a proof of delivery, reading proofs back, a warehouse's day as a ZIP."""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile

from backend.auth.deps import CanExportProofs, CanReadProofs, CanRecordProofs
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.errors import DomainError, Forbidden, NotFound, Unprocessable
from backend.idempotency import IDEMPOTENT, run_once
from backend.inventory.models import WarehouseRow
from backend.inventory.router import WarehouseId
from backend.orders import service as orders
from backend.paths import OrderId
from backend.proof import pins
from backend.proof.deps import ProofStorageDep
from backend.proof.export import day_archive
from backend.proof.images import Limits, clean
from backend.proof.models import ProofRow
from backend.proof.service import (
    IMAGE_KINDS,
    StoredImage,
    check_provable,
    keep,
    proof_view,
    proofs_of,
    proofs_of_day,
    record_proof,
)
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend_client.models import Day, PinProof, Proof, ProofKind, Role

router = APIRouter(tags=["proof of delivery"], responses=PROTECTED)

Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The content's SHA-256.")]
DayQuery = Annotated[Day, Query(description="The business day, e.g. 2026-11-22.")]
PIN_PATTERN = re.compile(r"^[0-9]{4,8}$")
FORM_FIELDS = frozenset({"kind", "file", "pin"})

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["kind"],
                    "properties": {
                        "kind": {"type": "string", "enum": [str(k) for k in ProofKind]},
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The photo or signature (JPEG or PNG).",
                        },
                        "pin": {"type": "string", "pattern": PIN_PATTERN.pattern},
                    },
                }
            },
            "application/json": {"schema": {"$ref": "#/components/schemas/PinProof"}},
        },
    }
}


def document_pin_body(app: FastAPI) -> None:
    """Put `PinProof` among the schema's components: the upload route reads its body itself
    (a form or JSON), so FastAPI does not know the model its JSON body is."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["PinProof"] = PinProof.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI documents this override


class UnsupportedMediaType(DomainError):
    status_code = 415


async def _upload(request: Request, max_bytes: int) -> tuple[ProofKind, bytes | None, str | None]:
    """The proof sent: (kind, image bytes, PIN). Multipart for an image (or a PIN), JSON
    `{"pin"}` for a PIN; anything else is refused naming what is wrong."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json":
        try:
            body = PinProof.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        return ProofKind.PIN, None, body.pin
    if media not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise UnsupportedMediaType(
            "send multipart/form-data (kind, file) for a photo or signature, or "
            'application/json {"pin": ...} for the PIN'
        )
    # Read whole first (the body limit has bounded it): the form is parsed from this copy, and
    # the Idempotency-Key's fingerprint needs the raw body again afterwards.
    await request.body()
    async with request.form(max_files=1, max_fields=4) as form:
        unknown = sorted(set(form.keys()) - FORM_FIELDS)
        if unknown:
            raise Unprocessable(f"unknown form fields: {', '.join(unknown)}")
        raw_kind = form.get("kind")
        try:
            kind = ProofKind(raw_kind if isinstance(raw_kind, str) else "")
        except ValueError:
            raise Unprocessable("kind: one of photo, signature, pin") from None
        upload, pin = form.get("file"), form.get("pin")
        if kind == ProofKind.PIN:
            if upload is not None or not isinstance(pin, str) or not PIN_PATTERN.match(pin):
                raise Unprocessable("a PIN proof is the field pin alone: 4 to 8 digits")
            return kind, None, pin
        if pin is not None or not isinstance(upload, UploadFile):
            raise Unprocessable(f"a {kind} proof is the image, as the form's file field")
        # One byte past the cap is enough to know it is too big.
        return kind, await upload.read(max_bytes + 1), None


@router.post(
    "/orders/{order_id}/proof",
    response_model=Proof,
    status_code=201,
    responses={
        **TOO_LARGE,
        **errors(
            {
                404: "No such order in your scope.",
                409: "The order is not out for delivery (or in exception), or its PIN is "
                "spent after too many wrong tries.",
                413: "The image is larger than `proof_max_bytes`.",
                415: "Neither multipart/form-data nor JSON.",
                422: "Not a JPEG or PNG, damaged or cut short, too many pixels, a wrong PIN "
                "(`attempts_left`), or a malformed form.",
            }
        ),
    },
    openapi_extra={**IDEMPOTENT, **UPLOAD_BODY},
)
async def post_proof(
    order_id: OrderId,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    storage: ProofStorageDep,
    principal: CanRecordProofs,
):
    """Prove a delivery at the door: a photo or the customer's signature (multipart: `kind`,
    `file`; JPEG or PNG, re-encoded so nothing but the picture is kept), or the PIN the
    customer was given (JSON `{"pin"}`; wrong ones are counted, `pin_max_failures` spend it).
    Nothing is stored for a refused upload. The order's `sign` cites its proofs."""
    kind, data, pin = await _upload(request, settings.proof_max_bytes)
    now = clock.now()
    # Everything the caller could get wrong is checked before anything is stored.
    async with db.read() as session:
        check_provable(await orders.load_order(session, order_id, principal), kind)
    stored: StoredImage | None = None
    if kind in IMAGE_KINDS:
        assert data is not None
        limits = Limits(settings.proof_max_bytes, settings.proof_max_pixels)
        stored = await keep(storage, await asyncio.to_thread(clean, data, limits))

    async def act(session):
        order = await orders.load_order(session, order_id, principal, for_update=True)
        row = await record_proof(
            session,
            order,
            kind=kind,
            actor=principal,
            now=now,
            image=stored,
            pin=pin,
            pin_max_failures=settings.pin_max_failures,
        )
        return 201, proof_view(row)

    # The same proof is the same request, however the form around it was framed.
    same = hashlib.sha256(
        f"{request.url.path}\n{kind}\n{stored.sha256 if stored else ''}\n{pin or ''}".encode()
    ).hexdigest()
    try:
        return await run_once(request, db, principal, now, act, fingerprint=same)
    except pins.WrongPin:
        # Counted apart: the refused transaction took everything of its own back.
        await db.write(lambda session: pins.count_failure(session, order_id))
        raise


READ = errors({404: "No such order in your scope."})


@router.get("/orders/{order_id}/proofs", response_model=list[Proof], responses=READ)
async def list_proofs(order_id: OrderId, db: DbDep, principal: CanReadProofs) -> list[Proof]:
    """The order's proofs of delivery, oldest first."""
    async with db.read() as session:
        await orders.load_order(session, order_id, principal)
        return [proof_view(row) for row in await proofs_of(session, order_id)]


@router.get(
    "/orders/{order_id}/proofs/{sha256}",
    response_class=Response,
    responses={
        **errors({404: "No such order in your scope, or no proof of it with this content."}),
        200: {
            "content": {"image/jpeg": {}, "image/png": {}},
            "description": "The photo or signature, as stored.",
        },
    },
)
async def get_proof_content(
    order_id: OrderId,
    sha256: Sha256,
    db: DbDep,
    storage: ProofStorageDep,
    principal: CanReadProofs,
) -> Response:
    """A photo or signature of the order, by its hash (as `GET .../proofs` lists it)."""
    async with db.read() as session:
        await orders.load_order(session, order_id, principal)
        media_type = await session.scalar(
            select(ProofRow.media_type)
            .where(ProofRow.order_id == order_id, ProofRow.sha256 == sha256)
            .limit(1)
        )
    if media_type is None:
        raise NotFound(f"order {order_id} has no proof with content {sha256}")
    try:
        content = await asyncio.to_thread(storage.get, sha256)
    except KeyError:
        raise NotFound(f"the content {sha256} is no longer in the proof storage") from None
    return Response(content, media_type=media_type)


@router.get(
    "/warehouses/{warehouse_id}/proofs.zip",
    response_class=StreamingResponse,
    responses={
        **errors(
            {
                403: "A merchant of another warehouse.",
                404: "No such warehouse.",
            }
        ),
        200: {
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The day's photos and signatures, and manifest.csv of every proof.",
        },
    },
)
async def export_day(
    warehouse_id: WarehouseId,
    day: DayQuery,
    db: DbDep,
    settings: SettingsDep,
    storage: ProofStorageDep,
    principal: CanExportProofs,
) -> StreamingResponse:
    """A business day's proofs of one warehouse (midnight to midnight in `time_zone`) as a
    ZIP: `order-<id>/proof-<id>-<kind>.jpg|png`, and `manifest.csv` listing every proof (PINs
    too) with who took it when and the file it is in. Streamed as it is written."""
    if principal.role == Role.MERCHANT and principal.warehouse_id != warehouse_id:
        raise Forbidden(f"a merchant of {principal.warehouse_id} exports its own proofs only")
    async with db.read() as session:
        if await session.get(WarehouseRow, warehouse_id) is None:
            raise NotFound(f"no warehouse {warehouse_id}")
        rows = await proofs_of_day(session, warehouse_id, day, settings.zone)
    name = f"proofs-{warehouse_id}-{day.isoformat()}.zip"
    return StreamingResponse(
        day_archive(rows, storage),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
