"""Field encryption: AES-256-GCM with a key id in every value, and a keyed HMAC blind index.

A stored value reads `fl1:<key id>:<base64 of nonce + ciphertext + tag>`; the column's label
(`orders.address`, ...) is the associated data, so a value copied into another column does not
decrypt there. Old keys stay in the ring for reading while `keys rotate` re-encrypts their
values under the current one (`backend/privacy/upkeep.py`). The blind index (HMAC-SHA-256 under
a key of its own, which never rotates with the encryption keys) answers the questions asked of
encrypted columns: which customer has this phone (the upsert); and the order search's phone
suffixes and name words (`search_tags`: keyed BLAKE2b under a key derived from it, a score of
short tags an order, cheap enough for the write path).

One `FieldCipher` serves the process (`install`, `active`): the column types of the ORM read
it from here, as SQLAlchemy gives a type no context of its own. A process serves one backend;
a test process that starts several backends after one another keeps every key it was given
readable (values of an earlier app stay readable to a later one).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "fl1:"
"""Every encrypted value starts so; anything else is a value written before encryption."""
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_HEX = 12
"""Search tags are the first 48 bits of the HMAC (hex): few enough bytes per order, and one
wrong match in 2^48 comparisons."""
NAME_PREFIX_MAX = 8
"""Name words (and the whole name) are searchable by their first 2 to this many letters, or
whole."""
PHONE_SUFFIX_MIN = 4
"""A phone is searchable by its last 4 or more digits (fewer would match a crowd anyway)."""
READ_CACHE = 100_000
"""Values decrypted lately, kept by their ciphertext: a console's snapshot reads the same open
orders again and again (`bench/field_encryption.py`). Emptied when a customer is erased."""


class FieldKeyError(RuntimeError):
    """A value under a key this process does not have, or one that fails its check."""


def key_id_of(key: bytes) -> str:
    """A key's id: derived from the key, so two different keys never share one."""
    return "k" + hashlib.sha256(b"freshline field key id:" + key).hexdigest()[:10]


class FieldCipher:
    """Encrypts under the current key, decrypts under any key of the ring; blind-index tags."""

    def __init__(
        self,
        keys: Mapping[str, bytes],
        current: str,
        index_key: bytes,
        *,
        reload: Callable[[], FieldCipher | None] | None = None,
    ) -> None:
        if current not in keys:
            raise ValueError(f"the current key {current!r} is not among the keys")
        for kid, key in keys.items():
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {kid!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        if len(index_key) < KEY_BYTES:
            raise ValueError(f"the index key must be at least {KEY_BYTES} bytes")
        self._aead = {kid: AESGCM(key) for kid, key in keys.items()}
        self.keys = dict(keys)
        self.current = current
        self.index_key = index_key
        self._mac = hmac.new(index_key, digestmod=hashlib.sha256)
        self._tag_key = hashlib.sha256(b"freshline search tags:" + index_key).digest()
        self._head = f"{PREFIX}{current}:"
        self._reload = reload
        self._read: dict[tuple[str, str], str] = {}

    # --- Values ---------------------------------------------------------------------------

    def encrypt(self, plain: str, label: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead[self.current].encrypt(nonce, plain.encode(), label.encode())
        return self._head + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, stored: str, label: str) -> str:
        """The plain text of a stored value; a value without the prefix (written before
        encryption, awaiting the upkeep pass) is returned as it is."""
        if not stored.startswith(PREFIX):
            return stored
        known = self._read.get((stored, label))
        if known is not None:
            return known
        kid, _, body = stored[len(PREFIX) :].partition(":")
        aead = self._aead.get(kid) or self._reloaded(kid)
        try:
            raw = binascii.a2b_base64(body, strict_mode=True)
            plain = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], label.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise FieldKeyError(f"a {label} value under key {kid} does not decrypt") from exc
        if len(self._read) >= READ_CACHE:
            self._read.clear()  # cheaper than keeping an order; refilled by the next reads
        self._read[(stored, label)] = plain
        return plain

    def forget(self) -> None:
        """Drop every value decrypted lately (an erased customer's, among them)."""
        self._read.clear()

    def is_current(self, stored: str) -> bool:
        return stored.startswith(self._head)

    def _reloaded(self, kid: str) -> AESGCM:
        # Another process (`keys rotate`, another instance) may have added a key: read the ring
        # again before giving up, so no instance fails for having heard of a rotation late.
        fresh = self._reload() if self._reload is not None else None
        if fresh is not None and kid in fresh.keys:
            self.adopt(fresh)
            return self._aead[kid]
        raise FieldKeyError(f"no key {kid} in the key ring: was the key file replaced?")

    def adopt(self, fresh: FieldCipher) -> None:
        """Take `fresh`'s keys (keeping ours readable) and its current key."""
        for kid, key in fresh.keys.items():
            if kid not in self._aead:
                self._aead[kid] = AESGCM(key)
                self.keys[kid] = key
        self.current = fresh.current
        self._head = f"{PREFIX}{fresh.current}:"
        self.index_key = fresh.index_key
        self._mac, self._tag_key = fresh._mac, fresh._tag_key

    # --- Blind index ----------------------------------------------------------------------

    def blind(self, kind: str, value: str) -> str:
        """The full HMAC of `value` (hex): equal values, equal digests; nothing else learnt."""
        mac = self._mac.copy()  # the key's pads hashed once, not per value
        mac.update(f"{kind}\x00{value}".encode())
        return mac.hexdigest()

    def tag(self, kind: str, value: str) -> str:
        """A search tag: keyed BLAKE2b (a MAC in its own right, where HMAC would hash twice),
        48 bits; an order has a score of them, so they must be cheap."""
        return hashlib.blake2b(
            f"{kind}\x00{value}".encode(), key=self._tag_key, digest_size=TAG_HEX // 2
        ).hexdigest()

    def search_tags(self, name: str, phone: str) -> str:
        """An order's tags, space separated: every suffix of the phone of 4 digits or more,
        and the first 2..8 letters of each word of the name (and of the whole name), or the
        whole word, lower case."""
        tags: list[str] = []
        digits = phone.strip()
        for start in range(len(digits) - PHONE_SUFFIX_MIN + 1):
            tags.append(self.tag("phone-suffix", digits[start:]))
        tags.extend(self.tag("name", p) for p in name_prefixes(name))
        return " ".join(dict.fromkeys(tags))


def name_prefixes(name: str) -> Iterable[str]:
    """What of a name a search may type: each word's (and the whole name's) leading letters."""
    lowered = " ".join(name.lower().split())
    seen: set[str] = set()
    for part in [lowered, *lowered.split(" ")]:
        for end in range(2, min(len(part), NAME_PREFIX_MAX) + 1):
            seen.add(part[:end])
        seen.add(part)  # the whole word or name, however long (or short)
    return sorted(seen)


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} is not base64") from exc


# --- The process's cipher -----------------------------------------------------------------

_active: FieldCipher | None = None


def install(cipher: FieldCipher) -> FieldCipher:
    """Make `cipher` the process's; keys of one installed before stay readable."""
    global _active
    if _active is not None and _active is not cipher:
        for kid, key in _active.keys.items():
            cipher.keys.setdefault(kid, key)
            cipher._aead.setdefault(kid, AESGCM(key))
    _active = cipher
    return cipher


def active() -> FieldCipher:
    if _active is None:
        raise FieldKeyError("no field keys: the backend installs them when it starts")
    return _active


def seal_json(value: Any, label: str) -> str:
    """A JSON answer kept encrypted: the JSON text of a string holding its ciphertext."""
    text = value if isinstance(value, str) else _dumps(value)
    return _dumps(active().encrypt(text, label))


def stored_json(stored: Any) -> Any:
    """A JSON column's value as read: text from SQLite, parsed already from PostgreSQL (where
    a sealed answer arrives as the bare string)."""
    if isinstance(stored, str) and stored.startswith(PREFIX):
        return stored
    return orjson.loads(stored) if isinstance(stored, str | bytes) else stored


def unseal_json_text(stored: Any, label: str) -> str:
    """The JSON text of an answer stored by `seal_json` (or one stored before encryption)."""
    value = stored_json(stored)
    if isinstance(value, str) and value.startswith(PREFIX):
        return active().decrypt(value, label)
    return _dumps(value)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
