"""`Sealed`: a text column the ORM encrypts on the way in and decrypts on the way out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from backend.crypto.cipher import active


class Sealed(TypeDecorator[str]):
    """Personal text kept encrypted (`backend/crypto/cipher.py`), under the column's `label`.

    Only reads and writes of the value itself work: comparing it in SQL compares ciphertexts
    (each with its own nonce), so lookups go through the blind index columns instead."""

    impl = Text
    cache_ok = True

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else active().encrypt(value, self.label)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else active().decrypt(value, self.label)
