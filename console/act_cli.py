"""`freshline act`: the console's commands that change something, for scripts and chat
bridges: `freshline act order 8 reassign --best`, `freshline act ack 12 on my way`.

The same registry, checks and words as the console's `:` line (`console.command_line`), sent
through the API as the signed-in user, so the server applies the same permissions and keeps
the same audit trail. Exit 0 when done, 1 when refused (the server, the account's
permissions, not signed in, unreachable), 2 when the command itself is wrong; the reason on
standard error, or everything as one JSON object on standard output with `--json`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from backend_client import FreshlineClient
    from console.command_line import Command, Words
    from console.config import ConsoleConfig

DONE, REFUSED, WRONG = 0, 1, 2
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
"""The command's own switches (`--best`, `--yes`) reach it as words."""


def act(
    context: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(
            help="The backend (also FRESHLINE_SERVER or the settings file).", show_default=False
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="Sign in as this account for this one call (password from FRESHLINE_PASSWORD, "
            "else asked); default: the token `freshline login` kept.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object on standard output, done or not.")
    ] = False,
) -> None:
    """Run one of the console's commands: `act order 8 reassign --best`, `act assign 8
    li-fang`, `act cancel 8 "customer called" --yes`, `act ack 12 on my way`, `act snooze 12
    30`, `act move li-fang Haidian`. The same checks, permissions and audit as the console."""
    from console.command_line import CommandRefused
    from console.config import ConsoleConfig

    words = list(context.args)
    if not words or words[0] in ("help", "--help"):
        typer.echo(listing())
        raise typer.Exit(DONE if words else WRONG)
    try:
        tokens, command = _command_of(words)
    except CommandRefused as refused:
        _say(as_json, WRONG, refused.reason)
    config = ConsoleConfig(server=server) if server else ConsoleConfig()
    if not config.server:
        _say(as_json, WRONG, "no server: give --server, or set FRESHLINE_SERVER")
    password = None
    if user is not None:
        password = os.environ.get("FRESHLINE_PASSWORD") or typer.prompt(
            f"password for {user}", hide_input=True
        )
    code, said = asyncio.run(
        _act(config, config.server.rstrip("/"), tokens, command, user, password)
    )
    if as_json:
        typer.echo(json.dumps(said, ensure_ascii=False))
    elif code == DONE:
        typer.echo(said["answer"])
    else:
        typer.echo(f"not done: {said['reason']}", err=True)
    raise typer.Exit(code)


def listing() -> str:
    """The commands `act` runs, one a line, as `help` shows them."""
    from console.command_line import REGISTRY

    lines = ["freshline act COMMAND ... (the console's `:` commands that change something):"]
    lines += [f"  {c.usage:<48} {c.summary}" for c in REGISTRY if c.send is not None]
    return "\n".join(lines)


def _say(as_json: bool, code: int, reason: str) -> NoReturn:
    if as_json:
        typer.echo(json.dumps({"ok": False, "reason": reason}))
    else:
        typer.echo(f"not done: {reason}", err=True)
    raise typer.Exit(code)


def _command_of(words: list[str]) -> tuple[list[str], Command]:
    """The command's words (`order 8 reassign` read as `reassign 8`) and the command they
    name, checked before the server is asked anything (`CommandRefused`)."""
    from console.command_line import REGISTRY, CommandRefused
    from console.command_line.parse import find, split, subject_first

    tokens = subject_first(REGISTRY, split(" ".join(shlex.quote(w) for w in words)))
    command = find(REGISTRY, tokens[0])
    if command.send is None:
        raise CommandRefused(
            f"`{command.name}` works on the console only; `act` takes the commands that change "
            "something (`freshline act help` lists them)"
        )
    return tokens, command


async def _act(
    config: ConsoleConfig,
    server: str,
    tokens: list[str],
    command: Command,
    user: str | None,
    password: str | None,
) -> tuple[int, dict[str, object]]:
    from backend_client import FreshlineClient, FreshlineError
    from console.command_line import REGISTRY, CommandDenied, CommandRefused, Session, parse
    from console.command_line.parse import YES
    from console.kept_token import NotSignedIn, kept_token

    token = None
    if user is None:
        try:
            token = await kept_token(config, server)
        except NotSignedIn as exc:
            return REFUSED, {"ok": False, "reason": f"{exc}, or give --user"}
    try:
        async with FreshlineClient(server, token=token) as client:
            if user is not None and password is not None:
                await client.login(user, password)
            me = await client.me()
            vocabulary = await _words(client, command)
            try:
                line = " ".join(shlex.quote(t) for t in tokens)
                parsed = parse(line, REGISTRY, vocabulary, me, console=False)
            except CommandDenied as denied:
                return REFUSED, {"ok": False, "reason": denied.reason}
            except CommandRefused as refused:
                return WRONG, {"ok": False, "reason": refused.reason}
            question = command.confirm(parsed) if command.confirm else None
            if question and not parsed.flag(YES):
                reason = f"{question} Add --yes to do it."
                return WRONG, {"ok": False, "reason": reason}
            assert command.send is not None
            try:
                answer = await command.send(Session(client, me, via="freshline act"), parsed)
            except CommandRefused as refused:
                return REFUSED, {"ok": False, "reason": refused.reason}
    except FreshlineError as exc:
        return REFUSED, {"ok": False, "reason": str(exc)}
    return DONE, {"ok": True, "command": command.name, "answer": answer.text, **answer.data}


async def _words(client: FreshlineClient, command: Command) -> Words:
    """The names the command's arguments need: riders and zones, fetched only if it has them."""
    from console.command_line import Kind, Words

    kinds = {a.kind for a in (*command.args, *command.options)}
    words = Words()
    if Kind.RIDER in kinds:
        words.rider_names = {r.id: r.name for r in await client.riders.all()}
    if Kind.ZONE in kinds:
        words.zone_names = sorted({z.name for z in await client.warehouses.zones()})
    return words
