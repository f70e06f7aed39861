"""A warehouse's day of proofs as one ZIP, written while it is sent.

The archive is made on the fly (`zipfile` on a sink that hands its bytes on, no seeking), so a
busy day never sits whole in memory: one proof's content at a time. Photos and signatures are
stored as they are (already compressed); `manifest.csv` lists every proof, PINs too, with the
file each one is in.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import AsyncIterator

from backend.proof.models import ProofRow
from backend.proof.storage import ProofStorage

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}
MANIFEST_COLUMNS = (
    "proof_id",
    "order_id",
    "kind",
    "taken_at",
    "taken_by",
    "taken_role",
    "sha256",
    "media_type",
    "size_bytes",
    "width",
    "height",
    "file",
)


class _Sink(io.RawIOBase):
    """Collects what the ZIP writer writes until it is drained."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]  # bytes is all zipfile gives
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def file_name(row: ProofRow) -> str:
    """Where a proof's content sits in the archive: by order, then proof."""
    extension = EXTENSIONS.get(row.media_type or "", "bin")
    return f"order-{row.order_id}/proof-{row.id}-{row.kind}.{extension}"


async def day_archive(rows: list[ProofRow], storage: ProofStorage) -> AsyncIterator[bytes]:
    """The ZIP of these proofs, chunk by chunk. Content the store no longer has is listed in
    the manifest as `missing`, not left out silently (the answer has begun by then)."""
    sink = _Sink()
    manifest = io.StringIO()
    table = csv.writer(manifest, lineterminator="\n")
    table.writerow(MANIFEST_COLUMNS)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for row in rows:
            where = ""
            if row.sha256 is not None:
                try:
                    content = await asyncio.to_thread(storage.get, row.sha256)
                except KeyError:
                    where = "missing"
                else:
                    where = file_name(row)
                    archive.writestr(where, content)
            table.writerow(
                (
                    row.id,
                    row.order_id,
                    row.kind,
                    row.taken_at.isoformat(),
                    row.taken_by,
                    row.taken_role,
                    row.sha256 or "",
                    row.media_type or "",
                    row.size_bytes,
                    row.width if row.width is not None else "",
                    row.height if row.height is not None else "",
                    where,
                )
            )
            chunk = sink.drain()
            if chunk:
                yield chunk
        archive.writestr("manifest.csv", manifest.getvalue())
    yield sink.drain()
