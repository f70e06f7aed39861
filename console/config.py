"""The console's settings: environment (`FRESHLINE_*`) over the settings file over defaults.

The settings file is TOML, at `FRESHLINE_CONFIG` or `<user config dir>/freshline/config.toml`:

    server = "http://127.0.0.1:8765"
    theme = "freshline-dark"
    token_file = false      # true: keep tokens in a 0600 plaintext file when there is no keyring
    refresh_hz = 5
    wall_user = "viewer"    # `freshline wall`: the read-only account it signs in as,
    wall_password = "..."   # its password (or FRESHLINE_WALL_PASSWORD), so it signs in by itself,
    wall_rotate_seconds = 20  # and how long each screen stays
    ca_file = "/path/to/ca.pem"  # trust this CA for https:// servers (also FRESHLINE_CA_FILE)
    attention = true                    # ring and notify for alerts (ctrl+g: off for now)
    attention_bell = ["critical"]       # severities that ring the terminal's bell
    attention_notify = ["critical"]     # severities that raise a desktop notification
    attention_desktop = "auto"          # "osc9", "osc777" or "off" (docs/attention.md)
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir, user_log_dir
from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from backend_client.models import AlertSeverity
from console.attention import AttentionSettings, Desktop


def config_path() -> Path:
    explicit = os.environ.get("FRESHLINE_CONFIG")
    return Path(explicit) if explicit else Path(user_config_dir("freshline")) / "config.toml"


class ConsoleConfig(BaseSettings):
    """What the console can be told (docs/console.md, "Settings")."""

    model_config = SettingsConfigDict(env_prefix="FRESHLINE_", extra="ignore")

    server: str | None = None
    """The backend to watch; none means the embedded demo."""
    theme: str = "freshline-dark"
    token_file: bool = False
    """Opt in to a plaintext token file (mode 0600) where there is no keyring."""
    refresh_hz: float = Field(default=5.0, ge=0.5, le=30)
    """How often screens redraw what changed: a change waits at most this long to be drawn
    (5 Hz keeps commit-to-screen p99 under 250 ms; `bench/README.md`)."""
    console_log: Path = Field(
        default_factory=lambda: Path(user_log_dir("freshline")) / "console.log"
    )
    """The console never prints (it draws on the terminal): it logs here."""
    wall_user: str = "viewer"
    """The read-only account `freshline wall` signs in as."""
    wall_password: SecretStr | None = None
    """Its password, so the wall signs in (again) by itself; without it, a kept token."""
    wall_rotate_seconds: float = Field(default=20.0, ge=3, le=3600)
    """How long the wall shows each screen."""

    ca_file: str | None = None
    """A PEM bundle of the CA(s) to verify `https://` servers against instead of the public CAs
    (a company's own CA); `FRESHLINE_CA_FILE` too."""

    attention: bool = True
    """Ring and notify for alerts at all (`ctrl+g` turns it off and on for a session)."""
    attention_bell: list[AlertSeverity] = Field(default_factory=lambda: [AlertSeverity.CRITICAL])
    """The severities of a newly opened alert that ring the terminal's bell."""
    attention_notify: list[AlertSeverity] = Field(default_factory=lambda: [AlertSeverity.CRITICAL])
    """The severities that raise a desktop notification, where the terminal shows one."""
    attention_desktop: Desktop = Desktop.AUTO
    """How to ask for a desktop notification: `auto` (the sequence this terminal is known to
    show, else none), `osc9`, `osc777`, or `off` (docs/attention.md)."""
    looked_dir: Path | None = None
    """Where each desk keeps what it looked at ("since I looked"); none: the user's state
    directory."""

    @property
    def attention_settings(self) -> AttentionSettings:
        return AttentionSettings(
            bell=frozenset(self.attention_bell),
            notify=frozenset(self.attention_notify),
            desktop=self.attention_desktop,
            enabled=self.attention,
        )

    @property
    def token_path(self) -> Path | None:
        return Path(user_config_dir("freshline")) / "tokens.json" if self.token_file else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return (init_settings, env_settings, toml)


def trust_ca(ca_file: str | None) -> None:
    """Make every client of this process (and the processes it starts) verify `https://`
    servers against `ca_file` (`FreshlineClient` reads `FRESHLINE_CA_FILE`); None: unchanged."""
    if ca_file:
        os.environ["FRESHLINE_CA_FILE"] = ca_file
