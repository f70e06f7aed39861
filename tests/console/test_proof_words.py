"""Proofs in words and pictures without a server: the summary line, and an image drawn as
half blocks (two pixels a cell) whose colours are the image's."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from PIL import Image

from backend_client.models import Proof, ProofKind
from console.proof_words import proof_line, proofs_summary, size_words
from widgets.proof_picture import half_blocks


def proof(kind: ProofKind, **fields: object) -> Proof:
    values: dict[str, object] = {
        "id": 1,
        "order_id": 7,
        "kind": kind,
        "sha256": "ab" * 32,
        "media_type": "image/jpeg",
        "size_bytes": 12_600,
        "width": 640,
        "height": 480,
        "taken_by": "rider-1",
        "taken_role": "rider",
        "taken_at": datetime(2026, 11, 22, 10, 2, tzinfo=UTC),
        **fields,
    }
    return Proof.model_validate(values)


def test_a_proof_reads_as_one_line_in_the_business_zone() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    assert proof_line(proof(ProofKind.PHOTO), zone) == (
        "photo · 12.3 kB · 640x480 · sha256 abababababab… · rider-1 (rider) 11-22 18:02"
    )
    pin = proof(ProofKind.PIN, sha256=None, media_type=None, size_bytes=0, width=None, height=None)
    assert proof_line(pin, zone) == "PIN matched · rider-1 (rider) 11-22 18:02"
    assert proofs_summary([], zone) == "proof: none yet"
    assert proofs_summary([pin], zone).startswith("proof PIN matched")
    assert [size_words(n) for n in (900, 2048, 3 * 1024 * 1024)] == ["900 B", "2.0 kB", "3.0 MB"]


def test_an_image_is_drawn_in_half_blocks_with_its_colours() -> None:
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 10, 40, 20))  # the lower half blue
    out = io.BytesIO()
    image.save(out, "PNG")
    text = half_blocks(out.getvalue(), 20)
    lines = text.plain.splitlines()
    assert len(lines) == 5 and all(line == "▀" * 20 for line in lines)  # 20x10 pixels

    # One span a cell: the upper pixel is the foreground, the lower the background.
    def colours(cell: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        style = text.spans[cell].style
        assert not isinstance(style, str) and style.color and style.bgcolor
        assert style.color.triplet and style.bgcolor.triplet
        return tuple(style.color.triplet), tuple(style.bgcolor.triplet)

    assert colours(0) == ((255, 0, 0), (255, 0, 0))  # the top row: red over red
    assert colours(len(text.spans) - 1) == ((0, 0, 255), (0, 0, 255))  # the bottom: blue
    upper, lower = colours(2 * 20)  # the middle row straddles the edge: redder over bluer
    assert upper[0] > upper[2] and lower[2] > lower[0]
    assert half_blocks(b"not an image", 20).plain == "(the image could not be read)"
