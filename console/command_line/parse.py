"""Reading a command line: `assign 8 li-fang`, `orders zone=Haidian late`, `order 8 cancel
"customer called"`. Every refusal says why in words, and nothing is done.

Words are split as a shell does (quotes keep a reason together). The first word names the
command (or a unique start of one); `order 8 VERB ...` (likewise `alert`, `rider`) reads as
`VERB 8 ...`. Then, in any order: flags (`late`, `--best`), options (`zone=Haidian`,
`--zone=Haidian`, `--zone Haidian`), and the positional arguments in their order; a `TEXT`
argument takes every remaining word.
"""

from __future__ import annotations

import difflib
import shlex

from backend_client.models import Me
from console.command_line.registry import (
    Arg,
    Command,
    CommandDenied,
    CommandRefused,
    Kind,
    Parsed,
    Registry,
)
from console.command_line.vocabulary import Vocabulary, slug
from console.roles import denial

SUBJECTS = ("order", "alert", "rider")
YES = "yes"
"""`--yes`: answers a command's question beforehand (`freshline act`, and the console too)."""


def split(line: str) -> list[str]:
    """The words of `line` (a leading `:` dropped), quotes keeping words together."""
    text = line.strip().removeprefix(":").strip()
    try:
        return shlex.split(text)
    except ValueError:
        raise CommandRefused("a quote is not closed: nothing done") from None


def find(registry: Registry, name: str) -> Command:
    """The command called `name`, or the one command whose name starts with it."""
    command = registry.get(name.lower())
    if command is not None:
        return command
    starting = [n for n in registry.names() if n.startswith(name.lower())]
    if len(starting) == 1:
        found = registry.get(starting[0])
        assert found is not None
        return found
    if starting:
        raise CommandRefused(f"`{name}` could be {_either(starting)}: type more of it")
    close = difflib.get_close_matches(name.lower(), registry.names(), n=2, cutoff=0.6)
    hint = f"; did you mean {_either(close)}?" if close else "; `help` lists them all"
    raise CommandRefused(f"there is no command `{name}`{hint}")


def _either(names: list[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def subject_first(registry: Registry, words: list[str]) -> list[str]:
    """`order 8 cancel why` -> `cancel 8 why` when `cancel` is about an order."""
    if len(words) >= 3 and words[0].lower() in SUBJECTS:
        command = registry.get(words[2].lower())
        if command is not None and command.subject == words[0].lower():
            return [words[2], words[1], *words[3:]]
    return words


def parse(
    line: str, registry: Registry, words: Vocabulary, me: Me | None = None, *, console: bool = True
) -> Parsed:
    """`line` as a checked command, or `CommandRefused` with the reason."""
    tokens = subject_first(registry, split(line))
    if not tokens:
        raise CommandRefused("type a command (`help` lists them)")
    command = find(registry, tokens[0])
    if not console and command.send is None:
        raise CommandRefused(
            f"`{command.name}` works on the console only; `act` takes the commands that change "
            "something (`help` lists them)"
        )
    why = denial(me, command.guard) if command.guard else None
    if why:
        raise CommandDenied(f"`{command.name}` is not for this account: {why}")
    parsed = _read(command, tokens[1:], words)
    if parsed.bare and command.action is not None:
        if console:
            return parsed  # the screen's own key: the order or alert under the cursor
        raise CommandRefused(f"`{command.name}` needs its arguments here: {command.usage}")
    missing = [a for a in command.args if a.required and a.name not in parsed.values]
    if missing:
        raise CommandRefused(f"`{command.name}` needs {_article(missing[0])}: {command.usage}")
    if command.check is not None:
        command.check(parsed)
    return parsed


def _article(arg: Arg) -> str:
    words = {
        Kind.ORDER: "an order id",
        Kind.ALERT: "an alert id",
        Kind.RIDER: "a rider",
        Kind.ZONE: "a zone",
        Kind.NUMBER: f"a number ({arg.name})",
        Kind.TEXT: f"a {arg.name}",
    }
    return words.get(arg.kind, f"a {arg.name}")


def _read(command: Command, tokens: list[str], words: Vocabulary) -> Parsed:
    values: dict[str, int | str] = {}
    flags: set[str] = set()
    flag_names = {f.name for f in command.flags} | ({YES} if command.confirm else set())
    options = {o.name: o for o in command.options}
    positional = list(command.args)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        bare = token.removeprefix("--")
        name, equals, value = bare.partition("=")
        if token.startswith("--") and not equals and bare in options:
            if index >= len(tokens):
                raise CommandRefused(f"`--{bare}` needs a value: {bare}=…")
            name, equals, value = bare, "=", tokens[index]
            index += 1
        if equals and name in options:
            if name in values:
                raise CommandRefused(f"`{name}=` is given twice")
            values[name] = check(options[name], value, words)
            continue
        if equals and (token.startswith("--") or name.isidentifier() or not positional):
            taken = ", ".join(f"{o}=" for o in options) or "none"
            raise CommandRefused(f"`{command.name}` has no option `{name}=` (it takes: {taken})")
        if not equals and bare.lower() in flag_names:
            flags.add(bare.lower())
            continue
        if token.startswith("--"):
            taken = ", ".join(f"--{f}" for f in sorted(flag_names)) or "none"
            raise CommandRefused(f"`{command.name}` has no switch `{token}` (it takes: {taken})")
        if not positional:
            raise CommandRefused(f"`{token}` is one word too many: {command.usage}")
        arg = positional.pop(0)
        if arg.kind == Kind.TEXT:
            rest = [token]
            while index < len(tokens) and not _is_named(tokens[index], options, flag_names):
                rest.append(tokens[index])
                index += 1
            values[arg.name] = check(arg, " ".join(rest), words)
        else:
            values[arg.name] = check(arg, token, words)
    return Parsed(command, values, frozenset(flags))


def _is_named(token: str, options: dict[str, Arg], flags: set[str]) -> bool:
    bare = token.removeprefix("--")
    return bare.partition("=")[0] in options or (token.startswith("--") and bare in flags)


def check(arg: Arg, text: str, words: Vocabulary) -> int | str:
    """One argument's words as its value, or `CommandRefused` saying what is wrong."""
    if arg.kind in (Kind.ORDER, Kind.ALERT):
        number = text.removeprefix("#")
        if not number.isdigit() or len(number) > 12 or int(number) < 1:
            what = "an order" if arg.kind == Kind.ORDER else "an alert"
            raise CommandRefused(f"`{text}` is not {what} id (a number such as 8)")
        return int(number)
    if arg.kind == Kind.NUMBER:
        if not text.lstrip("-").isdigit():
            raise CommandRefused(f"{arg.name} must be a whole number, not `{text}`")
        amount = int(text)
        if not arg.low <= amount <= arg.high:
            raise CommandRefused(f"{arg.name} must be from {arg.low} to {arg.high}, not {amount}")
        return amount
    if arg.kind == Kind.RIDER:
        return rider(text, words)
    if arg.kind == Kind.ZONE:
        return zone(text, words)
    if arg.kind == Kind.CHOICE:
        chosen = text.lower()
        if chosen not in arg.choices:
            raise CommandRefused(f"{arg.name} is one of {', '.join(arg.choices)}; not `{text}`")
        return chosen
    if not text.strip():
        raise CommandRefused(f"{arg.name} is empty")
    if len(text) > 500:
        raise CommandRefused(f"{arg.name} is longer than 500 characters")
    return text


def rider(text: str, words: Vocabulary) -> int:
    """A rider by `#id`, id, slug (`li-fang`) or the one slug starting so; else why not."""
    riders = words.riders()
    wanted = text.removeprefix("#")
    if wanted.isdigit():
        rider_id = int(wanted)
        if riders and rider_id not in riders:
            raise CommandRefused(f"there is no rider #{rider_id}")
        return rider_id
    if not riders:
        raise CommandRefused(f"no riders known yet to find `{text}` among: give a rider id (#3)")
    key = slug(text)
    exact = [i for i, name in riders.items() if slug(name) == key]
    if len(exact) == 1:
        return exact[0]
    starting = exact or [i for i, name in riders.items() if key and slug(name).startswith(key)]
    if len(starting) == 1:
        return starting[0]
    if starting:
        names = sorted(f"{slug(riders[i])} (#{i})" for i in starting)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise CommandRefused(f"`{text}` could be {shown}: say which")
    close = difflib.get_close_matches(key, [slug(n) for n in riders.values()], n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    raise CommandRefused(f"there is no rider called `{text}`{hint}")


def zone(text: str, words: Vocabulary) -> str:
    """A zone by name, any case; any name when the zones are not known."""
    zones = words.zones()
    if not zones:
        return text
    by_key = {z.lower(): z for z in zones}
    if text.lower() in by_key:
        return by_key[text.lower()]
    starting = [z for key, z in by_key.items() if key.startswith(text.lower())]
    if len(starting) == 1:
        return starting[0]
    close = difflib.get_close_matches(text.lower(), list(by_key), n=1, cutoff=0.6)
    hint = f"; did you mean {by_key[close[0]]}?" if close else f" (zones: {', '.join(zones)})"
    raise CommandRefused(f"there is no zone `{text}`{hint}")
