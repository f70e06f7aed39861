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
    "map-zone": "#4a5568",
    "map-warehouse": "#f2a541",
    "map-route": "#d787d7",
    "kpi-better": "#4ebf71",
    "kpi-worse": "#ff5f5f",
    "chart-1": "#5fafff",
    "chart-2": "#f2a541",
    "chart-3": "#8fd19e",
    "chart-4": "#d787d7",
    "chart-5": "#f2c14e",
    "chart-6": "#5fd7d7",
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
        "map-zone": "#9aa3b2",
        "map-warehouse": "#b35c00",
        "map-route": "#8e3c8e",
        "kpi-better": "#1e7b34",
        "kpi-worse": "#b3261e",
        "chart-1": "#1b5e9e",
        "chart-2": "#b35c00",
        "chart-3": "#1e7b34",
        "chart-4": "#8e3c8e",
        "chart-5": "#7a5c00",
        "chart-6": "#00727a",
    },
)

HIGH_CONTRAST = Theme(
    name="freshline-high-contrast",
    primary="#ffffff",
    secondary="#ffff00",
    accent="#00ffff",
    warning="#ffff00",
    error="#ff3030",
    success="#00ff00",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#1a1a1a",
    boost="#333333",
    dark=True,
    variables=DOMAIN_DEFAULTS
    | {
        "lane-ok": "#00ff00",
        "lane-warn": "#ffff00",
        "lane-late": "#ff3030",
        "lane-dim": "#c0c0c0",
        "lane-mark": "#00ffff",
        "badge-live": "#00ff00",
        "badge-trouble": "#ffff00",
        "badge-offline": "#ff3030",
        "severity-critical": "#ff3030",
        "severity-warning": "#ffff00",
        "severity-info": "#00ffff",
        "rider-idle": "#00ff00",
        "rider-delivering": "#00ffff",
        "rider-late": "#ff3030",
        "rider-silent": "#c0c0c0",
        "map-zone": "#ffffff",
        "map-warehouse": "#ffff00",
        "map-route": "#ff00ff",
        "kpi-better": "#00ff00",
        "kpi-worse": "#ff3030",
        "chart-1": "#00ffff",
        "chart-2": "#ffff00",
        "chart-3": "#00ff00",
        "chart-4": "#ff00ff",
        "chart-5": "#ffffff",
        "chart-6": "#ff8000",
        "footer-key-foreground": "#ffff00",
        "text-muted": "#d0d0d0",
    },
)
"""Pure black and white with saturated signal colours, for wall screens across a room and for
low vision; nothing is dimmed below legibility."""

# Okabe & Ito's palette: told apart with any common colour-vision deficiency. Good is blue,
# bad is vermilion, caution is yellow; red and green never carry a meaning alone.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#e69f00",
    "sky": "#56b4e9",
    "green": "#009e73",
    "yellow": "#f0e442",
    "blue": "#0072b2",
    "vermilion": "#d55e00",
    "purple": "#cc79a7",
}
OI = OKABE_ITO

COLOUR_BLIND = Theme(
    name="freshline-colour-blind",
    primary=OI["blue"],
    secondary=OI["sky"],
    accent=OI["orange"],
    warning=OI["yellow"],
    error=OI["vermilion"],
    success=OI["sky"],
    foreground="#e8e8e8",
    background="#101418",
    surface="#171c22",
    panel="#222a33",
    dark=True,
    variables=DOMAIN_DEFAULTS
    | {
        "lane-ok": OI["sky"],
        "lane-warn": OI["yellow"],
        "lane-late": OI["vermilion"],
        "lane-dim": "#8a8f98",
        "lane-mark": OI["purple"],
        "badge-live": OI["sky"],
        "badge-trouble": OI["yellow"],
        "badge-offline": OI["vermilion"],
        "severity-critical": OI["vermilion"],
        "severity-warning": OI["yellow"],
        "severity-info": OI["sky"],
        "rider-idle": OI["sky"],
        "rider-delivering": OI["blue"],
        "rider-late": OI["vermilion"],
        "rider-silent": "#8a8f98",
        "map-zone": "#5a6270",
        "map-warehouse": OI["orange"],
        "map-route": OI["purple"],
        "kpi-better": OI["sky"],
        "kpi-worse": OI["vermilion"],
        "chart-1": OI["sky"],
        "chart-2": OI["orange"],
        "chart-3": OI["green"],
        "chart-4": OI["purple"],
        "chart-5": OI["yellow"],
        "chart-6": OI["vermilion"],
    },
)
"""Okabe & Ito's colour-blind-safe palette: blue for good, vermilion for bad, yellow for
caution; every meaning also has a glyph or a word."""

THEMES: tuple[Theme, ...] = (DARK, LIGHT, HIGH_CONTRAST, COLOUR_BLIND)
DEFAULT_THEME = DARK.name
