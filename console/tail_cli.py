"""`freshline tail`: the live stream on standard output, one line per message, resumable.

For scripts and chat bridges (docs/rewind.md). It is `backend_client`'s stream client, so every
event comes once and in `seq` order across reconnections and backend restarts; the resume file
carries the last `seq` written from one run to the next. Heavy imports happen inside.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

if TYPE_CHECKING:
    from backend_client import FreshlineClient, StreamMessage
    from backend_client.models import Topic
    from console.config import ConsoleConfig


class TailRefused(Exception):
    """No stream: not signed in, refused, or the resume file unreadable; the message says why."""


def read_resume(path: Path) -> int | None:
    """The `seq` a resume file holds, None when there is no file yet."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TailRefused(f"cannot read the resume file {path}: {exc.strerror}") from None
    if not text.isdigit():
        raise TailRefused(f"the resume file {path} holds {text[:40]!r}, not a seq")
    return int(text)


def write_resume(path: Path, seq: int) -> None:
    """Replace the resume file's `seq` at once (a crash leaves the old one or the new one)."""
    part = path.with_name(f".{path.name}.part")
    part.write_text(f"{seq}\n")
    os.replace(part, path)


def line_of(message: StreamMessage, as_json: bool) -> str | None:
    """The line `message` becomes, or None for a connection state (told on standard error)."""
    from backend_client import StreamStatus
    from backend_client.models import EventMessage

    if isinstance(message, StreamStatus):
        return None
    if as_json:
        return message.model_dump_json()
    if isinstance(message, EventMessage):
        change = f"{message.from_state} -> {message.to_state}" if message.to_state else ""
        subject = f"order {message.order_id}" if message.order_id is not None else ""
        if not subject and message.rider_id is not None:
            subject = f"rider {message.rider_id}"
        parts = [str(message.seq), message.at.isoformat(), message.kind, subject, change]
        return "  ".join(part for part in parts if part)
    return f"{message.type}  {message.model_dump_json()}"


async def follow(
    client: FreshlineClient,
    topics: list[Topic],
    since: int | None,
    out: TextIO,
    *,
    as_json: bool,
    resume: Path | None,
    count: int | None,
) -> int:
    """Write the stream to `out` from after `since` (None: from now on) until `count` events
    or cancelled; each event's `seq` goes to `resume` once its line is out. Returns how many
    events were written."""
    from backend_client import StreamStatus
    from backend_client.models import EventMessage

    written = 0
    async with client.stream(list(topics), since=since) as stream:
        async for message in stream:
            if isinstance(message, StreamStatus):
                detail = f": {message.detail}" if message.detail else ""
                print(f"tail: {message.state}{detail}", file=sys.stderr, flush=True)
                continue
            line = line_of(message, as_json)
            if line is None:
                continue
            out.write(line + "\n")
            out.flush()
            if isinstance(message, EventMessage):
                written += 1
                if resume is not None:
                    write_resume(resume, message.seq)
                if count is not None and written >= count:
                    break
    return written


def tail(
    topic: Annotated[
        list[str],
        typer.Option(
            "--topic",
            help="orders, riders, alerts, stock, audit or kpi; repeat for several.",
        ),
    ],
    json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    from_seq: Annotated[
        int | None,
        typer.Option(
            "--from",
            min=0,
            help="Start after this seq (default: the resume file's, else from now on).",
            show_default=False,
        ),
    ] = None,
    resume_file: Annotated[
        Path | None,
        typer.Option(
            help="Keep the last seq written here and start after it next time.",
            show_default=False,
        ),
    ] = None,
    count: Annotated[
        int | None,
        typer.Option(min=1, help="Stop after this many events.", show_default=False),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            help="The backend (also FRESHLINE_SERVER or the settings file).", show_default=False
        ),
    ] = None,
) -> None:
    """The live stream as lines on standard output: every event once, in seq order, across
    reconnections and backend restarts. Signs in with the token `freshline login` kept (or
    FRESHLINE_TOKEN)."""
    from backend_client.models import Topic
    from console.config import ConsoleConfig

    known = [t.value for t in Topic]
    wrong = [t for t in topic if t not in known]
    if wrong:
        raise typer.BadParameter(
            f"{', '.join(wrong)}: not a topic (one of {', '.join(known)})", param_hint="--topic"
        )
    config = ConsoleConfig(server=server) if server else ConsoleConfig()
    if not config.server:
        typer.echo("no server: give --server, set FRESHLINE_SERVER, or `freshline login`", err=True)
        raise typer.Exit(2)
    try:
        since = from_seq
        if since is None and resume_file is not None:
            since = read_resume(resume_file)
        asyncio.run(_tail(config, [Topic(t) for t in topic], since, json, resume_file, count))
    except TailRefused as refusal:
        typer.echo(f"tail: {refusal}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


async def _tail(
    config: ConsoleConfig,
    topics: list[Topic],
    since: int | None,
    as_json: bool,
    resume: Path | None,
    count: int | None,
) -> None:
    from backend_client import FreshlineClient, FreshlineError
    from console.kept_token import NotSignedIn, kept_token

    assert config.server is not None
    server = config.server.rstrip("/")
    try:
        token = await kept_token(config, server)
    except NotSignedIn as exc:
        raise TailRefused(str(exc)) from None
    async with FreshlineClient(server, token=token) as client:
        try:
            await follow(
                client, topics, since, sys.stdout, as_json=as_json, resume=resume, count=count
            )
        except FreshlineError as exc:
            raise TailRefused(f"the stream from {server} stopped: {exc}") from None
