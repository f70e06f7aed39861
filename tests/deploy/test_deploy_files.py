"""`deploy/` as shipped: the compose file, the settings example and the nginx template agree with
each other and with the backend's settings. No containers run here (no registry); what can be
checked without them is: nginx itself accepts the rendered template, every setting named is
one the backend knows and the example loads through `Settings`, and compose hands the proxy
exactly the template's placeholders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.settings import Settings
from backend_client.models import Channel
from tests.deploy.nginx import DEPLOY, TEMPLATE, Certificates, Nginx, placeholders, render

COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def env_example() -> dict[str, str]:
    """The example's `NAME=value` lines (comments and blanks skipped), as compose reads them."""
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"not NAME=value: {line!r}"
        assert name not in values, f"{name} set twice"
        values[name] = value
    return values


def setting_of(name: str) -> str:
    """The settings field an environment variable sets (FRESHLINE_BUS_URL -> bus_url)."""
    assert name.startswith("FRESHLINE_"), name
    return name.removeprefix("FRESHLINE_").lower()


def backend_environment() -> dict[str, str]:
    """What compose gives each backend: the env file, then its `environment` (which wins)."""
    services = compose()["services"]
    a, b = services["backend-a"], services["backend-b"]
    assert a["env_file"] == b["env_file"] == ".env"
    assert a["environment"] == b["environment"]
    return {**env_example(), **a["environment"]}


def test_compose_runs_the_tested_topology() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "backend-a", "backend-b", "proxy"}
    for name in ("backend-a", "backend-b"):
        backend = services[name]
        assert backend["command"][:2] == ["freshline", "serve"]
        assert "--demo" not in backend["command"]
        assert backend["healthcheck"]["test"][-1].count("/api/v1/health") == 1
    assert services["backend-b"]["depends_on"] == {"backend-a": {"condition": "service_healthy"}}
    proxy = services["proxy"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in proxy["volumes"]}
    # The image renders the template into /etc/nginx/nginx.conf.
    assert mounts["/etc/nginx/templates/nginx.conf.template"] == "./nginx.conf"
    assert proxy["environment"]["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    # The one address the backends trust is the proxy's.
    trusted = json.loads(backend_environment()["FRESHLINE_TRUSTED_PROXIES"])
    assert trusted == [proxy["networks"]["backplane"]["ipv4_address"]]


def test_compose_gives_the_proxy_every_placeholder_of_the_template() -> None:
    environment = compose()["services"]["proxy"]["environment"]
    wanted = placeholders(TEMPLATE.read_text())
    assert wanted <= set(environment), sorted(wanted - set(environment))
    # The test's own rendering fills in the same names (tests/deploy/nginx.py).
    rendered = render(TEMPLATE.read_text(), {name: str(environment[name]) for name in wanted})
    assert "${" not in rendered
    for upstream in ("backend-a:8765", "backend-b:8765"):
        assert f"server {upstream} " in rendered


def test_every_backend_setting_named_is_a_real_one_and_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A misspelt FRESHLINE_ name would be ignored silently (`extra="ignore"`): each must be a
    field, and the values must load as compose gives them."""
    environment = backend_environment()
    named = {name for name in environment if name.startswith("FRESHLINE_")}
    unknown = {name for name in named if setting_of(name) not in Settings.model_fields}
    assert not unknown, f"not settings: {sorted(unknown)}"
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"FRESHLINE_{name.upper()}", raising=False)
    monkeypatch.delenv("FRESHLINE_CONFIG", raising=False)
    for name in named:
        monkeypatch.setenv(name, environment[name])
    settings = Settings()
    assert settings.database_url.startswith("postgresql+asyncpg://freshline:")
    assert settings.bus_url == "redis://redis:6379/0"
    assert settings.trusted_proxies == ["172.30.0.10"]
    assert settings.demo is False
    assert settings.field_keys is not None
    assert settings.ssl_certfile is None  # TLS ends at the proxy
    assert set(settings.channel_secrets) == {str(channel) for channel in Channel}


def test_the_secrets_in_the_example_are_placeholders() -> None:
    example = env_example()
    assert example["POSTGRES_PASSWORD"] == "change-me"
    assert example["FRESHLINE_FIELD_KEYS"] == "change-me"
    assert set(json.loads(example["FRESHLINE_CHANNEL_SECRETS"]).values()) == {"change-me"}


def test_nginx_accepts_the_rendered_template(tmp_path: Path) -> None:
    """`nginx -t` by Debian's nginx on the template as the deployment test renders it."""
    tls = Certificates.issue(tmp_path)
    proxy = Nginx(tmp_path / "nginx", ["127.0.0.1:1", "127.0.0.1:2"], tls)
    assert "test is successful" in proxy.check()


def test_a_placeholder_without_a_value_is_refused() -> None:
    template = TEMPLATE.read_text()
    values = {name: "x" for name in placeholders(template) if name != "FRESHLINE_BACKEND_B"}
    with pytest.raises(KeyError, match="FRESHLINE_BACKEND_B"):
        render(template, values)
