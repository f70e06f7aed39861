"""The console's commands: one registry (`REGISTRY`) read by the `:` line, the palette and
`freshline act`; reading (`parse`) and completing (`complete`) a line against it.

Plain Python (no Textual), so `freshline act` starts fast and the rules are tested alone.
"""

from console.command_line import builtin as _builtin  # fills REGISTRY
from console.command_line.complete import Completion, complete
from console.command_line.parse import parse
from console.command_line.registry import (
    REGISTRY,
    Answer,
    Arg,
    Command,
    CommandDenied,
    CommandRefused,
    Desk,
    Flag,
    Kind,
    Parsed,
    Registry,
    Session,
)
from console.command_line.vocabulary import StoreWords, Vocabulary, Words, slug

assert _builtin.REGISTRY is REGISTRY

__all__ = [
    "REGISTRY",
    "Answer",
    "Arg",
    "Command",
    "CommandDenied",
    "CommandRefused",
    "Completion",
    "Desk",
    "Flag",
    "Kind",
    "Parsed",
    "Registry",
    "Session",
    "StoreWords",
    "Vocabulary",
    "Words",
    "complete",
    "parse",
    "slug",
]
