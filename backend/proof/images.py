"""Uploaded photos and signatures, made safe to keep: decoded with Pillow and encoded again.

Only what the image shows survives: EXIF (GPS, the phone's serial), comments, colour profiles,
text chunks and anything appended after the image (a ZIP riding behind a JPEG) are left out,
because the stored file is a fresh encoding of the pixels, never the bytes sent. Anything Pillow
cannot decode whole, as JPEG or PNG, is refused with the reason.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import PayloadTooLarge, Unprocessable

FORMATS = ("JPEG", "PNG")
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
LONGEST_SIDE = 2560
"""Photos are kept at most this wide or tall: enough to see the goods and the door, a fraction
of a phone camera's 12 to 50 megapixels on disk."""
JPEG_QUALITY = 85
PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})


@dataclass(frozen=True, slots=True)
class Limits:
    """What an upload may be (settings `proof_max_bytes`, `proof_max_pixels`)."""

    max_bytes: int
    max_pixels: int


@dataclass(frozen=True, slots=True)
class CleanImage:
    """An image re-encoded from its pixels alone, ready to store."""

    content: bytes
    media_type: str
    width: int
    height: int


def clean(data: bytes, limits: Limits) -> CleanImage:
    """Decode `data` as a JPEG or PNG and encode it again; 413 if it is too big, 422 naming why
    if it is not a whole image of those kinds. CPU-bound: call it off the event loop."""
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(
            f"the image is {len(data)} bytes; proofs are at most {limits.max_bytes} bytes"
        )
    if not data:
        raise Unprocessable("the upload is empty: send a JPEG or PNG image")
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that: refuse those too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        except UnidentifiedImageError:
            raise Unprocessable("not a JPEG or PNG image") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Unprocessable(_too_many_pixels(limits)) from None
        except Exception as exc:
            # A hostile file can trip any error inside a decoder (OSError, SyntaxError, struct
            # and index errors...): each is a file we cannot read, never a crash of ours.
            raise Unprocessable(f"a JPEG or PNG damaged or cut short: {exc}") from None
        with image:
            kind = image.format or ""
            width, height = image.size
            # Before decoding: a small file can claim a huge canvas (a decompression bomb).
            if width * height > limits.max_pixels:
                raise Unprocessable(
                    f"the image is {width}x{height} pixels; {_too_many_pixels(limits)}"
                )
            try:
                if kind == "PNG":
                    # A PNG's pixels can all be there with its end gone; only walking every
                    # chunk to IEND (and checking each CRC) tells it was cut short.
                    _verify_png(data)
                image.load()
                # EXIF orientation is read here too: broken EXIF fails as broken pixels do.
                return _encode(image, kind)
            except Exception as exc:  # as above
                # Pillow's "image file is truncated", a broken PNG chunk, a bad Huffman table.
                raise Unprocessable(f"the {kind} image is damaged or cut short: {exc}") from None


def _verify_png(data: bytes) -> None:
    with Image.open(io.BytesIO(data), formats=("PNG",)) as check:
        check.verify()


def _too_many_pixels(limits: Limits) -> str:
    return f"proofs are at most {limits.max_pixels} pixels"


def _encode(image: Image.Image, kind: str) -> CleanImage:
    # Turned upright as the camera meant, since the orientation tag is not kept.
    upright = ImageOps.exif_transpose(image)
    upright.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
    # Some encoders (PNG's colour profile) fall back to what the decoder read: keep nothing of
    # it but a palette's transparent colour, which is part of the pixels.
    upright.info = {k: v for k, v in upright.info.items() if k == "transparency"}
    out = io.BytesIO()
    if kind == "JPEG":
        if upright.mode not in ("L", "RGB"):
            upright = upright.convert("RGB")
        # No `exif`, `icc_profile` or `comment`: Pillow writes only what it is given.
        upright.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        if upright.mode not in PNG_MODES:
            upright = upright.convert("RGBA")
        upright.save(out, "PNG", optimize=True)
    width, height = upright.size
    return CleanImage(out.getvalue(), MEDIA_TYPES[kind], width, height)
