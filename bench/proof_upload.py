"""What keeping a proof photo costs: decoding, checking and encoding it again (so nothing but
its pixels is kept) and storing the result, beside storing the bytes as they were sent.

    .venv/bin/python bench/proof_upload.py                 # 20 photos each way, 5 rounds
    .venv/bin/python bench/proof_upload.py --photos 5 --rounds 1

A phone-sized photo (3000x2250, textured like a doorstep, about 1-2 MB as JPEG) in this
process; samples alternate between the two ways, so a machine busy with something else slows
both alike. The figure is the CPU (user + system) per photo of `images.clean` then
`DiskStorage.put`, the baseline `DiskStorage.put` of the bytes as sent (what keeping the upload
without cleaning it would cost: the same fsync'd, content-addressed write). Each photo differs
(one pixel), so no store is skipped as a duplicate. No goal: the figure is what the safety of
re-encoding costs, a rider's phone upload at a time.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from backend.proof.images import Limits, clean
from backend.proof.storage import DiskStorage

LIMITS = Limits(max_bytes=8_000_000, max_pixels=36_000_000)


SIZE = (3000, 2250)


def photos(count: int, first: int) -> list[bytes]:
    """`count` JPEGs that differ in one pixel each (numbered from `first`: no two rounds share
    one), textured so they compress like photos."""
    texture = Image.effect_noise(SIZE, 40).convert("RGB")
    base = Image.blend(texture, Image.linear_gradient("L").resize(SIZE).convert("RGB"), 0.5)
    out = []
    for n in range(first, first + count):
        base.putpixel((n % SIZE[0], n // SIZE[0]), (255, 255, 255))
        buffer = io.BytesIO()
        base.save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def cpu_per_photo(work: Callable[[bytes], object], batch: list[bytes]) -> float:
    start = time.process_time()
    for photo in batch:
        work(photo)
    return (time.process_time() - start) / len(batch)


def keepable(photo: bytes) -> bytes:
    return clean(photo, LIMITS).content


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="freshline-bench-proof-") as folder:
        cleaned_store = DiskStorage(Path(folder) / "cleaned")
        raw_store = DiskStorage(Path(folder) / "raw")
        cleaned: list[float] = []
        raw: list[float] = []
        batch: list[bytes] = []
        for round_ in range(args.rounds):
            # New photos every round: a hash stored already would skip the write.
            batch = photos(args.photos, round_ * args.photos)
            cleaned.append(cpu_per_photo(lambda p: cleaned_store.put(keepable(p)), batch))
            raw.append(cpu_per_photo(raw_store.put, batch))
        kept = clean(batch[0], LIMITS)
    cleaned_s, raw_s = statistics.median(cleaned), statistics.median(raw)
    return {
        "photos": args.photos,
        "rounds": args.rounds,
        "sent_bytes": len(batch[0]),
        "kept_bytes": len(kept.content),
        "kept_size": [kept.width, kept.height],
        "cleaned_cpu_s": cleaned_s,
        "raw_cpu_s": raw_s,
        "ratio": cleaned_s / raw_s if raw_s else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    print(json.dumps(run(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
