"""`python -m backend serve` in process: what it hands to uvicorn and which settings win (uvicorn
and the app are stubbed). The real command, real sockets: tests/console/test_cli.py."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner


def write_config(path: Path, **values: object) -> Path:
    lines = []
    for key, value in values.items():
        rendered = f'"{value}"' if isinstance(value, str) else str(value).lower()
        lines.append(f"{key} = {rendered}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def no_freshline_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.startswith("FRESHLINE_"):
            monkeypatch.delenv(key)
    return monkeypatch


@dataclass
class ServeCall:
    exit_code: int
    stderr: str
    settings: Any = None
    uvicorn_kwargs: dict[str, Any] | None = None


def invoke_serve(monkeypatch: pytest.MonkeyPatch, *args: str) -> ServeCall:
    """Run `python -m backend serve *args` in process, capturing the settings and uvicorn's
    arguments."""
    import uvicorn

    import backend.app
    import backend.cli

    call = ServeCall(exit_code=-1, stderr="")

    def fake_create_app(settings: Any = None, **_: Any) -> object:
        call.settings = settings
        return object()

    def fake_run(app: object, **kwargs: Any) -> None:
        call.uvicorn_kwargs = kwargs

    monkeypatch.setattr(backend.app, "create_app", fake_create_app)
    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr(backend.cli, "configure_logging", lambda *_args, **_kwargs: None)
    result = CliRunner().invoke(backend.cli.app, ["serve", *args])
    call.exit_code = result.exit_code
    call.stderr = result.stderr
    return call


def test_serve_turns_websocket_compression_off(no_freshline_env: pytest.MonkeyPatch) -> None:
    """STYLE.md: uvicorn compresses WebSocket messages by default (4x memory); serve must not."""
    call = invoke_serve(
        no_freshline_env, "--port", "9999", "--database-url", "sqlite+aiosqlite:///x.db"
    )
    assert call.exit_code == 0, call.stderr
    assert call.uvicorn_kwargs is not None
    assert call.uvicorn_kwargs["ws_per_message_deflate"] is False
    assert call.uvicorn_kwargs["host"] == "127.0.0.1"
    assert call.uvicorn_kwargs["port"] == 9999
    assert call.settings.demo is False


def test_serve_database_url_argument_beats_environment_beats_file(
    no_freshline_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "f.toml", database_url="sqlite+aiosqlite:///from-file.db")
    no_freshline_env.setenv("FRESHLINE_CONFIG", str(config))
    assert invoke_serve(no_freshline_env).settings.database_url.endswith("from-file.db")
    no_freshline_env.setenv("FRESHLINE_DATABASE_URL", "sqlite+aiosqlite:///from-env.db")
    assert invoke_serve(no_freshline_env).settings.database_url.endswith("from-env.db")
    call = invoke_serve(no_freshline_env, "--database-url", "sqlite+aiosqlite:///from-arg.db")
    assert call.settings.database_url.endswith("from-arg.db")


def test_serve_honours_demo_from_the_environment(no_freshline_env: pytest.MonkeyPatch) -> None:
    """README lists `demo` / FRESHLINE_DEMO as a setting; `serve` without --demo must read it."""
    no_freshline_env.setenv("FRESHLINE_DATABASE_URL", "sqlite+aiosqlite:///x.db")
    no_freshline_env.setenv("FRESHLINE_DEMO", "true")
    call = invoke_serve(no_freshline_env)
    assert call.exit_code == 0, call.stderr
    assert call.settings.demo is True


def test_demo_from_the_environment_never_reaches_a_non_loopback_host(
    no_freshline_env: pytest.MonkeyPatch,
) -> None:
    """However demo is switched on, demo accounts are never served on a public address."""
    no_freshline_env.setenv("FRESHLINE_DATABASE_URL", "sqlite+aiosqlite:///x.db")
    no_freshline_env.setenv("FRESHLINE_DEMO", "true")
    call = invoke_serve(no_freshline_env, "--host", "0.0.0.0")
    refused = call.exit_code != 0 and call.uvicorn_kwargs is None
    assert refused or call.settings.demo is False, call


def test_serve_refuses_a_port_out_of_range(no_freshline_env: pytest.MonkeyPatch) -> None:
    for port in ("0", "65536"):
        call = invoke_serve(no_freshline_env, "--port", port)
        assert call.exit_code == 2
        assert call.uvicorn_kwargs is None


def test_serve_refuses_a_metrics_port_that_is_the_api_port(
    no_freshline_env: pytest.MonkeyPatch,
) -> None:
    """docs/metrics.md: the metrics port serves only `/metrics`; the API's cannot be it."""
    no_freshline_env.setenv("FRESHLINE_METRICS_PORT", "9999")
    call = invoke_serve(
        no_freshline_env, "--port", "9999", "--database-url", "sqlite+aiosqlite:///x.db"
    )
    assert call.exit_code == 2 and "metrics_port" in call.stderr
    assert call.uvicorn_kwargs is None


def test_serve_logs_json_lines_unless_told_plain(no_freshline_env: pytest.MonkeyPatch) -> None:
    """The log format is a setting (json by default; the real lines: test_metrics_server.py)."""
    database = ("--database-url", "sqlite+aiosqlite:///x.db")
    assert invoke_serve(no_freshline_env, *database).settings.log_format == "json"
    no_freshline_env.setenv("FRESHLINE_LOG_FORMAT", "plain")
    assert invoke_serve(no_freshline_env, *database).settings.log_format == "plain"
    no_freshline_env.setenv("FRESHLINE_LOG_FORMAT", "xml")
    assert invoke_serve(no_freshline_env, *database).exit_code != 0
