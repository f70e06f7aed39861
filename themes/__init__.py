"""The console's themes: Textual `Theme` objects carrying Freshline's domain variables.

Colour always has a second channel (glyphs, words), so NO_COLOR and 16-colour terminals read
the same board; themes only make it quicker to read.
"""

from __future__ import annotations

from pathlib import Path

from textual.theme import Theme

APP_CSS = Path(__file__).with_name("freshline.tcss")

DOMAIN_DEFAULTS: dict[str, str] = {
    "lane-ok": "#8fd19e",
    "lane-warn": "#f2c14e",
    "lane-late": "#ff5f5f",
    "lane-dim": "#7a8290",
    "lane-mark": "#5fafff",
    "badge-live": "#4ebf71",
    "badge-trouble": "#f2c14e",
    "badge-offline": "#ff5f5f",
    "severity-critical": "#ff5f5f",
    "severity-warning": "#f2c14e",
    "severity-info": "#5fafff",
    "rider-idle": "#8fd19e",
    "rider-delivering": "#5fafff",
    "rider-late": "#ff5f5f",
    "rider-silent": "#7a8290",
}
"""Variables every theme defines (Textual falls back to these for a theme that does not)."""

DARK = Theme(
    name="freshline-dark",
    primary="#2f8fd8",
    secondary="#1f5f8f",
    accent="#f2a541",
    warning="#f2c14e",
    error="#ff5f5f",
    success="#4ebf71",
    foreground="#dfe3ea",
    background="#11151c",
    surface="#181e27",
    panel="#222a36",
    dark=True,
    variables=dict(DOMAIN_DEFAULTS),
)

LIGHT = Theme(
    name="freshline-light",
    primary="#1b5e9e",
    secondary="#3d7cc0",
    accent="#b35c00",
    warning="#9a6a00",
    error="#b3261e",
    success="#1e7b34",
    foreground="#1d232b",
    background="#f7f8fa",
    surface="#ffffff",
    panel="#e6e9ef",
    dark=False,
    variables=DOMAIN_DEFAULTS
    | {
        "lane-ok": "#1e7b34",
        "lane-warn": "#9a6a00",
        "lane-late": "#b3261e",
        "lane-dim": "#6b7280",
        "lane-mark": "#1b5e9e",
        "badge-live": "#1e7b34",
        "badge-trouble": "#9a6a00",
        "badge-offline": "#b3261e",
        "severity-critical": "#b3261e",
        "severity-warning": "#9a6a00",
        "severity-info": "#1b5e9e",
        "rider-idle": "#1e7b34",
        "rider-delivering": "#1b5e9e",
        "rider-late": "#b3261e",
        "rider-silent": "#6b7280",
    },
)

THEMES: tuple[Theme, ...] = (DARK, LIGHT)
DEFAULT_THEME = DARK.name
