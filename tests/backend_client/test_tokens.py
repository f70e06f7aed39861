"""TokenStore: FRESHLINE_TOKEN first, then the keyring off the event loop, and the opt-in file.

No real desktop keyring exists here: an in-memory backend stands in for one, and keyring's own
`fail` backend for a machine without any.
"""

from __future__ import annotations

import json
import logging
import stat
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.compat import properties

from backend_client import KeyringUnavailable, TokenStore
from backend_client._tokens import ENV_TOKEN, SERVICE

SERVER = "https://freshline.example"
OTHER = "http://127.0.0.1:8765"


class MemoryKeyring(KeyringBackend):
    """A keyring backend in a dict; records the thread each call ran on."""

    @properties.classproperty
    def priority(cls) -> float:
        # A RuntimeError makes a backend not viable, so keyring never auto-selects this one and
        # defining it cannot change the process-wide default keyring; tests pass it explicitly.
        raise RuntimeError("in-memory test keyring; pass it explicitly")

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}
        self.threads: list[int] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.threads.append(threading.get_ident())
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.threads.append(threading.get_ident())
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.threads.append(threading.get_ident())
        try:
            del self.secrets[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such password") from None


def as_module(backend: Any) -> SimpleNamespace:
    """The module-like object TokenStore takes: get/set/delete_password."""
    return SimpleNamespace(
        get_password=backend.get_password,
        set_password=backend.set_password,
        delete_password=backend.delete_password,
    )


@pytest.fixture
def memory() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def no_keyring() -> SimpleNamespace:
    return as_module(fail.Keyring())


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any stray write (cwd, home, XDG dirs) would land in tmp_path, where tests look."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv(ENV_TOKEN, raising=False)


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*"))


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- a working keyring --------------------------------------------------------------------------


async def test_save_load_forget_round_trip(memory: MemoryKeyring, tmp_path: Path) -> None:
    store = TokenStore(env={}, backend=as_module(memory))
    assert await store.save(SERVER, "tok-1") == "keyring"
    assert memory.secrets == {(SERVICE, SERVER): "tok-1"}
    assert await store.load(SERVER) == "tok-1"

    await store.save(SERVER, "tok-2")
    assert await store.load(SERVER) == "tok-2"

    await store.forget(SERVER)
    assert await store.load(SERVER) is None
    assert memory.secrets == {}
    assert files_under(tmp_path) == []


async def test_load_for_an_unknown_server_is_none(memory: MemoryKeyring) -> None:
    store = TokenStore(env={}, backend=as_module(memory))
    await store.save(SERVER, "tok-1")
    assert await store.load(OTHER) is None
    assert await store.load(SERVER) == "tok-1"


async def test_tokens_are_kept_per_server(memory: MemoryKeyring) -> None:
    store = TokenStore(env={}, backend=as_module(memory))
    await store.save(SERVER, "tok-a")
    await store.save(OTHER, "tok-b")
    await store.forget(SERVER)
    assert await store.load(SERVER) is None
    assert await store.load(OTHER) == "tok-b"


async def test_forget_what_was_never_stored_does_not_raise(memory: MemoryKeyring) -> None:
    store = TokenStore(env={}, backend=as_module(memory))
    await store.forget(SERVER)
    assert await store.load(SERVER) is None


async def test_a_working_keyring_is_preferred_to_the_opted_in_file(
    memory: MemoryKeyring, tmp_path: Path
) -> None:
    token_file = tmp_path / "tokens.json"
    store = TokenStore(env={}, backend=as_module(memory), token_file=token_file)
    assert await store.save(SERVER, "tok-1") == "keyring"
    assert not token_file.exists()
    assert await store.load(SERVER) == "tok-1"


# --- no keyring at all --------------------------------------------------------------------------


async def test_without_keyring_load_and_save_raise_a_clear_error_and_write_nothing(
    no_keyring: SimpleNamespace, tmp_path: Path
) -> None:
    store = TokenStore(env={}, backend=no_keyring)
    with pytest.raises(KeyringUnavailable) as loading:
        await store.load(SERVER)
    with pytest.raises(KeyringUnavailable) as saving:
        await store.save(SERVER, "tok-secret")

    for caught in (loading, saving):
        message = str(caught.value)
        assert "keyring" in message
        assert "sign in each time" in message
        assert "token file" in message
        assert isinstance(caught.value.__cause__, keyring.errors.NoKeyringError)
    assert files_under(tmp_path) == []


async def test_without_keyring_forget_does_not_raise(
    no_keyring: SimpleNamespace, tmp_path: Path
) -> None:
    store = TokenStore(env={}, backend=no_keyring)
    await store.forget(SERVER)
    assert files_under(tmp_path) == []


async def test_keyring_unavailable_is_a_freshline_error(no_keyring: SimpleNamespace) -> None:
    from backend_client import FreshlineError

    with pytest.raises(FreshlineError):
        await TokenStore(env={}, backend=no_keyring).load(SERVER)


# --- the opted-in token file --------------------------------------------------------------------


async def test_opted_in_file_is_written_0600_with_a_warning(
    no_keyring: SimpleNamespace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "config" / "freshline" / "tokens.json"
    store = TokenStore(env={}, backend=no_keyring, token_file=token_file)
    with caplog.at_level(logging.WARNING, logger="backend_client._tokens"):
        where = await store.save(SERVER, "tok-1")

    assert where == str(token_file)
    assert mode_of(token_file) == 0o600
    assert json.loads(token_file.read_text("utf-8")) == {SERVER: "tok-1"}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(token_file) in warnings[0].getMessage()
    assert "plaintext" in warnings[0].getMessage()
    assert await store.load(SERVER) == "tok-1"


async def test_a_pre_existing_0644_file_is_tightened_to_0600(
    no_keyring: SimpleNamespace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "tokens.json"
    token_file.write_text(json.dumps({OTHER: "tok-other"}), "utf-8")
    token_file.chmod(0o644)
    assert mode_of(token_file) == 0o644

    store = TokenStore(env={}, backend=no_keyring, token_file=token_file)
    with caplog.at_level(logging.WARNING, logger="backend_client._tokens"):
        await store.save(SERVER, "tok-1")

    assert mode_of(token_file) == 0o600
    assert json.loads(token_file.read_text("utf-8")) == {OTHER: "tok-other", SERVER: "tok-1"}
    assert any(str(token_file) in r.getMessage() for r in caplog.records)
    assert await store.load(SERVER) == "tok-1"
    assert await store.load(OTHER) == "tok-other"


async def test_the_file_mode_is_0600_whatever_the_umask(
    no_keyring: SimpleNamespace, tmp_path: Path
) -> None:
    import os

    token_file = tmp_path / "tokens.json"
    previous = os.umask(0)
    try:
        await TokenStore(env={}, backend=no_keyring, token_file=token_file).save(SERVER, "t")
    finally:
        os.umask(previous)
    assert mode_of(token_file) == 0o600


async def test_opted_in_file_load_for_an_unknown_server_or_a_missing_file_is_none(
    no_keyring: SimpleNamespace, tmp_path: Path
) -> None:
    token_file = tmp_path / "tokens.json"
    store = TokenStore(env={}, backend=no_keyring, token_file=token_file)
    assert await store.load(SERVER) is None
    assert not token_file.exists()
    await store.save(SERVER, "tok-1")
    assert await store.load(OTHER) is None


async def test_forget_removes_only_that_servers_entry_from_the_file(
    no_keyring: SimpleNamespace, tmp_path: Path
) -> None:
    token_file = tmp_path / "tokens.json"
    store = TokenStore(env={}, backend=no_keyring, token_file=token_file)
    await store.save(SERVER, "tok-1")
    await store.save(OTHER, "tok-2")

    await store.forget(SERVER)

    assert json.loads(token_file.read_text("utf-8")) == {OTHER: "tok-2"}
    assert mode_of(token_file) == 0o600
    assert await store.load(SERVER) is None
    assert await store.load(OTHER) == "tok-2"


async def test_forget_with_an_opted_in_file_that_does_not_exist_writes_nothing(
    no_keyring: SimpleNamespace, tmp_path: Path
) -> None:
    store = TokenStore(env={}, backend=no_keyring, token_file=tmp_path / "tokens.json")
    await store.forget(SERVER)
    assert files_under(tmp_path) == []


async def test_a_corrupt_token_file_reads_as_empty(
    no_keyring: SimpleNamespace, tmp_path: Path
) -> None:
    token_file = tmp_path / "tokens.json"
    token_file.write_text("{not json", "utf-8")
    store = TokenStore(env={}, backend=no_keyring, token_file=token_file)
    assert await store.load(SERVER) is None
    await store.save(SERVER, "tok-1")
    assert json.loads(token_file.read_text("utf-8")) == {SERVER: "tok-1"}


# --- FRESHLINE_TOKEN ----------------------------------------------------------------------------


async def test_freshline_token_wins_over_keyring_and_file(
    memory: MemoryKeyring, no_keyring: SimpleNamespace, tmp_path: Path
) -> None:
    env = {ENV_TOKEN: "from-env"}
    keyring_store = TokenStore(env=env, backend=as_module(memory))
    memory.secrets[(SERVICE, SERVER)] = "from-keyring"
    assert await keyring_store.load(SERVER) == "from-env"
    assert memory.threads == []  # the keyring was not even asked

    token_file = tmp_path / "tokens.json"
    await TokenStore(env={}, backend=no_keyring, token_file=token_file).save(SERVER, "from-file")
    file_store = TokenStore(env=env, backend=no_keyring, token_file=token_file)
    assert await file_store.load(SERVER) == "from-env"
    assert await file_store.load(OTHER) == "from-env"


async def test_freshline_token_wins_even_without_any_keyring(
    no_keyring: SimpleNamespace,
) -> None:
    store = TokenStore(env={ENV_TOKEN: "from-env"}, backend=no_keyring)
    assert await store.load(SERVER) == "from-env"


async def test_an_empty_freshline_token_is_ignored(memory: MemoryKeyring) -> None:
    memory.secrets[(SERVICE, SERVER)] = "from-keyring"
    store = TokenStore(env={ENV_TOKEN: ""}, backend=as_module(memory))
    assert await store.load(SERVER) == "from-keyring"


async def test_the_process_environment_is_read_by_default(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_TOKEN, "from-os-env")
    assert await TokenStore(backend=as_module(memory)).load(SERVER) == "from-os-env"


# --- off the event loop -------------------------------------------------------------------------


async def test_keyring_calls_run_off_the_event_loop_thread(memory: MemoryKeyring) -> None:
    loop_thread = threading.get_ident()
    store = TokenStore(env={}, backend=as_module(memory))
    await store.save(SERVER, "tok-1")
    await store.load(SERVER)
    await store.forget(SERVER)
    assert len(memory.threads) == 3
    assert loop_thread not in memory.threads
