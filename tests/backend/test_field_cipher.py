"""The field cipher and where its keys come from, without a backend."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from backend.crypto.cipher import PREFIX, FieldCipher, FieldKeyError, name_prefixes, new_key
from backend.crypto.keys import DEV_KEY_FILE, key_source, new_ring_text, parse_ring, rotate_file
from backend.settings import Settings


def ring() -> FieldCipher:
    return parse_ring(new_ring_text(), "test", reload=None)


def test_a_value_carries_its_key_id_and_decrypts_only_in_its_own_column() -> None:
    cipher = ring()
    sealed = cipher.encrypt("13800138000", "orders.customer_phone")
    assert sealed.startswith(f"{PREFIX}{cipher.current}:") and "13800138000" not in sealed
    assert sealed != cipher.encrypt("13800138000", "orders.customer_phone")  # its own nonce
    assert cipher.decrypt(sealed, "orders.customer_phone") == "13800138000"
    with pytest.raises(FieldKeyError):
        cipher.decrypt(sealed, "customers.phone")  # copied into another column: refused
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(FieldKeyError):
        cipher.decrypt(tampered, "orders.customer_phone")
    with pytest.raises(FieldKeyError):
        ring().decrypt(sealed, "orders.customer_phone")  # another ring: no such key
    assert cipher.decrypt("written before", "orders.address") == "written before"


def test_a_key_ring_refuses_short_keys_and_a_missing_current_key() -> None:
    with pytest.raises(ValueError, match="32"):
        FieldCipher({"k": b"short"}, "k", new_key())
    with pytest.raises(ValueError, match="current"):
        FieldCipher({"k": new_key()}, "other", new_key())
    with pytest.raises(ValueError, match="field keys in test"):
        parse_ring('{"current": "k"}', "test", reload=None)


def test_search_tags_are_the_typed_prefixes_of_names_and_suffixes_of_phones() -> None:
    cipher = ring()
    tags = cipher.search_tags("Zhao  Min", "13712345678").split()
    assert cipher.tag("phone-suffix", "5678") in tags
    assert cipher.tag("phone-suffix", "13712345678") in tags
    assert cipher.tag("phone-suffix", "678") not in tags  # 4 digits at least
    for typed in ("zh", "zhao", "min", "zhao min"):
        assert cipher.tag("name", typed) in tags, typed
    assert cipher.tag("name", "hao") not in tags  # the start of a word, not its middle
    assert "zhao mi" in name_prefixes("Zhao Min")
    assert cipher.blind("phone", "13712345678") == ring_twin(cipher).blind("phone", "13712345678")


def ring_twin(cipher: FieldCipher) -> FieldCipher:
    """The same ring as another instance loads it."""
    return FieldCipher(cipher.keys, cipher.current, cipher.index_key)


def test_without_keys_configured_a_development_key_file_is_made_beside_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'data' / 'f.db'}")
    with caplog.at_level(logging.WARNING, logger="backend.crypto.keys"):
        source = key_source(settings)
    assert source.path == (tmp_path / "data" / DEV_KEY_FILE).resolve()
    assert stat.S_IMODE(source.path.stat().st_mode) == 0o600
    assert "generated a development key file" in caplog.text
    first = source.load()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="backend.crypto.keys"):
        again = key_source(settings).load()
    assert again.keys == first.keys and caplog.text == ""  # made once, then used


def test_configured_keys_are_used_and_a_missing_key_file_refuses_to_start(tmp_path: Path) -> None:
    text = new_ring_text()
    from_settings = key_source(Settings(database_url="sqlite+aiosqlite:///x.db", field_keys=text))
    assert from_settings.path is None
    assert from_settings.load().current == json.loads(text)["current"]
    with pytest.raises(ValueError, match="does not exist"):
        key_source(
            Settings(
                database_url="sqlite+aiosqlite:///x.db",
                field_key_file=str(tmp_path / "missing.json"),
            )
        )


def test_rotating_a_key_file_keeps_the_old_keys_for_reading(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(new_ring_text(), encoding="utf-8")
    before = parse_ring(path.read_text(encoding="utf-8"), "k", reload=None)
    sealed = before.encrypt("Sanlitun Rd 19", "orders.address")
    old, new = rotate_file(path)
    after = parse_ring(path.read_text(encoding="utf-8"), "k", reload=None)
    assert (old, after.current) == (before.current, new) and old in after.keys
    assert after.index_key == before.index_key  # the blind index does not rotate
    assert after.decrypt(sealed, "orders.address") == "Sanlitun Rd 19"
    assert not after.is_current(sealed) and after.is_current(after.encrypt("x", "orders.address"))
