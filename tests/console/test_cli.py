"""The `freshline` command for real: the installed script, real uvicorn, real sockets.

Each server runs as a subprocess on a free loopback port with cheap password hashing and its
log in a temporary file (`tests.servers`); it is always killed in a `finally`, whatever the
test did.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import empty_postgres_database
from tests.servers import FRESHLINE, Server, clean_env, free_port, running

DESK_ACCOUNTS = ["dispatcher", "supervisor", "support", "admin", "viewer"]
# docs/getting-started.md "Demo accounts", written out: what `--demo` promises to create.
DEMO_USERNAMES = {
    *DESK_ACCOUNTS,
    *(f"merchant-wh-{w}" for w in ("cy", "wj", "hd", "dc", "xc", "ft")),
    *(f"rider-{n}" for n in range(1, 25)),
    *(f"channel-{c}" for c in ("app", "mini-program", "meituan", "eleme", "store", "group-buy")),
}
DEFAULT_TOKEN_TTL = timedelta(minutes=720)
WIDE_TERMINAL = {"COLUMNS": "200"}  # typer's rich help must not wrap option names away


# --- Running the real command -------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@contextmanager
def serving(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """`freshline serve --port FREE *args`, healthy on entry, killed on exit whatever happened."""
    with running(tmp_path, *args, env={**WIDE_TERMINAL, **(env or {})}) as server:
        health = server.wait_healthy()
        assert health.json()["status"] == "ok"
        assert health.json()["clock_speed"] == 1.0
        yield server


def stop_cleanly(server: Server) -> None:
    """SIGTERM: the server shuts its app down (lifespan and all) and exits within seconds."""
    code = server.stop()
    # uvicorn finishes its graceful shutdown, then re-raises the signal it caught, so the
    # conventional "terminated by SIGTERM" status is as clean as 0.
    assert code in (0, -signal.SIGTERM), f"exit status {code}:\n{server.output()}"
    output = server.output()
    assert "Application shutdown complete" in output, output
    assert "Traceback" not in output, output


def sign_in(client: httpx.Client, username: str, password: str | None = None) -> httpx.Response:
    return client.post(
        "/api/v1/auth/token",
        data={"username": username, "password": password or f"demo-{username}"},
    )


def token(client: httpx.Client, username: str) -> dict[str, Any]:
    response = sign_in(client, username)
    assert response.status_code == 200, response.text
    return response.json()


def usernames(client: httpx.Client) -> list[str]:
    headers = {"Authorization": f"Bearer {token(client, 'admin')['access_token']}"}
    response = client.get("/api/v1/users", headers=headers)
    assert response.status_code == 200, response.text
    return [user["username"] for user in response.json()]


def assert_expires_in(answer: dict[str, Any], ttl: timedelta) -> None:
    expires_at = datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00"))
    assert expires_at.tzinfo is not None, answer
    expected = datetime.now(UTC) + ttl
    assert abs(expires_at - expected) < timedelta(seconds=60), (answer, expected)


def run_command(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert FRESHLINE is not None, "the freshline console script is not installed (pip install -e .)"
    return subprocess.run(
        [FRESHLINE, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


# --- One demo server shared by the read-only checks ---------------------------------------------


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp_path = tmp_path_factory.mktemp("demo-server")
    with serving(tmp_path, "--demo", "--database-url", sqlite_url(tmp_path / "f.db")) as server:
        yield server


@pytest.mark.slow  # the module's `freshline serve`
@pytest.mark.parametrize("username", DESK_ACCOUNTS)
def test_demo_desk_account_gets_a_bearer_token(demo_server: Server, username: str) -> None:
    with demo_server.client() as client:
        answer = token(client, username)
        assert set(answer) == {"access_token", "token_type", "role", "expires_at"}
        assert answer["token_type"] == "bearer"
        assert answer["role"] == username
        assert isinstance(answer["access_token"], str)
        assert len(answer["access_token"]) >= 20
        assert_expires_in(answer, DEFAULT_TOKEN_TTL)
        me = client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {answer['access_token']}"}
        )
        assert me.status_code == 200, me.text
        assert me.json()["username"] == username


@pytest.mark.slow  # the module's `freshline serve`
def test_wrong_password_or_unknown_user_is_401(demo_server: Server) -> None:
    with demo_server.client() as client:
        for username, password in [("dispatcher", "demo-admin"), ("nobody", "demo-nobody")]:
            response = sign_in(client, username, password)
            assert response.status_code == 401, response.text
            assert "detail" in response.json()
            assert response.headers.get("www-authenticate", "").lower().startswith("bearer")
        assert client.get("/api/v1/orders").status_code == 401


@pytest.mark.slow  # the module's `freshline serve`
def test_demo_creates_every_account_readme_lists(demo_server: Server) -> None:
    with demo_server.client() as client:
        assert set(usernames(client)) == DEMO_USERNAMES


@pytest.mark.slow  # the module's `freshline serve`
def test_service_log_goes_to_the_log_file(demo_server: Server) -> None:
    """README: `log_file` is where the service logs (stderr only when it is unset)."""
    log = demo_server.read("freshline.log")
    assert "seeded the demo city" in log, log
    # uvicorn's own records are the service's log too: with a log file, not on stderr.
    stderr = demo_server.read("stderr.txt")
    assert "Application startup complete" in log, f"log file:\n{log}\nstderr:\n{stderr}"
    assert "Application startup complete" not in stderr, stderr


# --- Starting, stopping, restarting -------------------------------------------------------------


@pytest.mark.slow  # a `freshline serve` of its own
def test_restart_on_the_same_database_is_idempotent(tmp_path: Path) -> None:
    database = sqlite_url(tmp_path / "f.db")
    with serving(tmp_path, "--demo", "--database-url", database) as first:
        with first.client() as client:
            before = usernames(client)
        stop_cleanly(first)
    assert len(before) == len(DEMO_USERNAMES)

    with serving(tmp_path, "--demo", "--database-url", database) as second:
        with second.client() as client:
            after = usernames(client)
            token(client, "dispatcher")
        stop_cleanly(second)
    assert after == before


@pytest.mark.slow  # a `freshline serve` process (that refuses)
@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_demo_refuses_a_non_loopback_host(tmp_path: Path, host: str) -> None:
    database = tmp_path / "f.db"
    port = free_port()
    result = run_command(
        "serve",
        "--demo",
        "--host",
        host,
        "--port",
        str(port),
        "--database-url",
        sqlite_url(database),
        env=clean_env(tmp_path, **WIDE_TERMINAL),
        cwd=tmp_path,
    )
    assert result.returncode != 0, result
    assert "loopback" in result.stderr.lower(), result.stderr
    assert host in result.stderr, result.stderr
    # Refused before anything started: no server, no database, nothing listening.
    assert "Uvicorn running" not in result.stdout + result.stderr
    assert not database.exists()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow  # a `freshline serve` of its own
def test_demo_on_localhost_is_allowed(tmp_path: Path) -> None:
    with serving(
        tmp_path, "--demo", "--host", "localhost", "--database-url", sqlite_url(tmp_path / "f.db")
    ) as server:
        with server.client() as client:
            assert token(client, "dispatcher")["role"] == "dispatcher"
        stop_cleanly(server)


@pytest.mark.slow  # a `freshline serve` of its own
def test_without_demo_there_are_no_demo_accounts(tmp_path: Path) -> None:
    database = tmp_path / "f.db"
    with serving(tmp_path, "--database-url", sqlite_url(database)) as server:
        with server.client() as client:
            for username in ("dispatcher", "admin"):
                assert sign_in(client, username).status_code == 401
        stop_cleanly(server)
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM warehouses").fetchone() == (0,)


# --- Configuration ------------------------------------------------------------------------------


def write_config(path: Path, **values: object) -> Path:
    lines = []
    for key, value in values.items():
        rendered = f'"{value}"' if isinstance(value, str) else str(value).lower()
        lines.append(f"{key} = {rendered}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow  # a `freshline serve` of its own
def test_config_file_is_honoured_and_the_environment_beats_it(tmp_path: Path) -> None:
    database = tmp_path / "from-config.db"
    config = write_config(
        tmp_path / "freshline.toml", database_url=sqlite_url(database), token_ttl_minutes=5
    )
    with serving(tmp_path, "--demo", env={"FRESHLINE_CONFIG": str(config)}) as server:
        with server.client() as client:
            assert_expires_in(token(client, "dispatcher"), timedelta(minutes=5))
        stop_cleanly(server)
    assert database.exists(), "database_url from the config file was not used"

    env = {"FRESHLINE_CONFIG": str(config), "FRESHLINE_TOKEN_TTL_MINUTES": "7"}
    with serving(tmp_path, "--demo", env=env) as server:
        with server.client() as client:
            assert_expires_in(token(client, "dispatcher"), timedelta(minutes=7))
        stop_cleanly(server)


@pytest.fixture
def no_freshline_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.startswith("FRESHLINE_"):
            monkeypatch.delenv(key)
    return monkeypatch


def test_settings_read_the_config_file(no_freshline_env: pytest.MonkeyPatch, tmp_path: Path):
    from backend.settings import Settings

    config = write_config(
        tmp_path / "freshline.toml",
        database_url="sqlite+aiosqlite:///from-file.db",
        token_ttl_minutes=5,
        max_body_bytes=4096,
        demo=True,
        log_file=str(tmp_path / "x.log"),
    )
    no_freshline_env.setenv("FRESHLINE_CONFIG", str(config))
    settings = Settings()
    assert settings.database_url == "sqlite+aiosqlite:///from-file.db"
    assert settings.token_ttl_minutes == 5
    assert settings.max_body_bytes == 4096
    assert settings.demo is True
    assert settings.log_file == str(tmp_path / "x.log")
    assert settings.default_promise_minutes == 45  # untouched keys keep their defaults


def test_settings_precedence_arguments_then_environment_then_file(
    no_freshline_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from backend.settings import Settings

    config = write_config(
        tmp_path / "freshline.toml",
        database_url="sqlite+aiosqlite:///from-file.db",
        token_ttl_minutes=5,
    )
    no_freshline_env.setenv("FRESHLINE_CONFIG", str(config))
    no_freshline_env.setenv("FRESHLINE_TOKEN_TTL_MINUTES", "7")
    no_freshline_env.setenv("FRESHLINE_DATABASE_URL", "sqlite+aiosqlite:///from-env.db")
    assert Settings().token_ttl_minutes == 7
    assert Settings().database_url == "sqlite+aiosqlite:///from-env.db"
    assert Settings(token_ttl_minutes=9).token_ttl_minutes == 9


def test_settings_refuse_a_bad_value_in_the_file(
    no_freshline_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pydantic import ValidationError

    from backend.settings import Settings

    config = write_config(
        tmp_path / "freshline.toml", database_url="sqlite+aiosqlite:///x.db", token_ttl_minutes=0
    )
    no_freshline_env.setenv("FRESHLINE_CONFIG", str(config))
    with pytest.raises(ValidationError):
        Settings()


# --- Help -------------------------------------------------------------------------------------


def test_help_lists_the_commands_and_options(tmp_path: Path) -> None:
    env = clean_env(tmp_path, **WIDE_TERMINAL)
    top = run_command("--help", env=env, cwd=tmp_path)
    assert top.returncode == 0, top.stderr
    assert "Usage" in top.stdout
    for command in ("serve", "demo", "simulate"):
        assert command in top.stdout, top.stdout

    serve = run_command("serve", "--help", env=env, cwd=tmp_path)
    assert serve.returncode == 0, serve.stderr
    for option in ("--host", "--port", "--database-url", "--demo"):
        assert option in serve.stdout, serve.stdout

    simulate = run_command("simulate", "--help", env=env, cwd=tmp_path)
    assert simulate.returncode == 0, simulate.stderr
    for option in ("--server", "--orders-per-hour", "--riders", "--flat", "--no-desk"):
        assert option in simulate.stdout, simulate.stdout


def test_serve_and_simulate_are_the_backends_own_modules(tmp_path: Path) -> None:
    """`freshline serve` and `simulate` hand their arguments to `python -m backend serve` and
    `python -m backend.sim`: the same answer either way (here, to a bad option)."""
    env = clean_env(tmp_path, **WIDE_TERMINAL)
    for ours, module in ((["serve"], ["backend", "serve"]), (["simulate"], ["backend.sim"])):
        mine = run_command(*ours, "--seed=x", "--port=x", env=env, cwd=tmp_path)
        theirs = subprocess.run(
            [sys.executable, "-m", *module, "--seed=x", "--port=x"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        assert mine.returncode == theirs.returncode == 2, (mine, theirs)
        assert mine.stderr == theirs.stderr
        assert f"python -m {' '.join(module)}" in mine.stderr


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow  # a real `freshline serve` migrating and seeding PostgreSQL
def test_serve_demo_on_postgresql(tmp_path: Path) -> None:
    with (
        empty_postgres_database("freshline_cli") as url,
        serving(tmp_path, "--demo", "--database-url", url) as server,
    ):
        with server.client() as client:
            answer = token(client, "dispatcher")
            assert answer["token_type"] == "bearer"
            assert answer["role"] == "dispatcher"
            assert set(usernames(client)) == DEMO_USERNAMES
        stop_cleanly(server)
