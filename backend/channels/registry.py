"""The channels this backend takes: every adapter module in `adapters/`, found by itself.

Adding a channel is one new module there (with `ADAPTER = ...`), its name in the `Channel`
enumeration of the wire contract, and its secret in `channel_secrets`.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from backend.channels import adapters
from backend.channels.adapter import ChannelAdapter


@cache
def all_adapters() -> dict[str, ChannelAdapter]:
    """Channel name -> its adapter."""
    found: dict[str, ChannelAdapter] = {}
    for module in pkgutil.iter_modules(adapters.__path__):
        adapter = importlib.import_module(f"{adapters.__name__}.{module.name}").ADAPTER
        found[str(adapter.channel)] = adapter
    return found
