"""Completing the word being typed: command names, then each argument by its kind (zones,
rider slugs, order and alert ids, choices), options (`zone=`) and flags."""

from __future__ import annotations

from dataclasses import dataclass

from console.command_line.parse import SUBJECTS, YES, CommandRefused, find, split
from console.command_line.registry import Arg, Command, Kind, Registry
from console.command_line.vocabulary import Vocabulary, slug

MOST = 40
"""Candidates offered at most (order ids on a busy day run to thousands)."""


@dataclass(frozen=True)
class Completion:
    """What may follow: the line up to the word being typed, and candidates for that word."""

    head: str
    """Everything before the word being completed (kept as typed)."""
    word: str
    candidates: list[str]

    @property
    def line(self) -> str:
        """The line completed as far as every candidate agrees (a space after a whole one)."""
        if not self.candidates:
            return self.head + self.word
        if len(self.candidates) == 1:
            chosen = self.candidates[0]
            return self.head + chosen + ("" if chosen.endswith("=") else " ")
        common = _common_start(self.candidates)
        return self.head + (common if len(common) > len(self.word) else self.word)


def complete(line: str, registry: Registry, words: Vocabulary) -> Completion:
    """The candidates for the last word of `line` (empty if it is past anything known)."""
    prefix = line[: len(line) - len(line.lstrip())]
    text = line.lstrip()
    colon = ":" if text.startswith(":") else ""
    text = text.removeprefix(":")
    ends_in_space = text == "" or text[-1].isspace()
    try:
        tokens = split(text)
    except CommandRefused:
        return Completion(line, "", [])
    word = "" if ends_in_space else tokens.pop()
    head = prefix + colon + text[: len(text) - len(word)]
    if not tokens:
        names = [n for n in registry.names() if n.startswith(word.lower())]
        return Completion(head, word, names)
    subject = tokens[0].lower()
    if subject in SUBJECTS and len(tokens) == 2:  # `order 8 ` then its verbs
        verbs = [c.name for c in registry if c.subject == subject]
        return Completion(head, word, [v for v in verbs if v.startswith(word.lower())])
    if subject in SUBJECTS and len(tokens) >= 3:
        verb = registry.get(tokens[2].lower())
        if verb is not None and verb.subject == subject:
            return Completion(head, word, _candidates(verb, [tokens[1], *tokens[3:]], word, words))
    try:
        command = find(registry, tokens[0])
    except CommandRefused:
        return Completion(head, word, [])
    return Completion(head, word, _candidates(command, tokens[1:], word, words))


def _candidates(command: Command, before: list[str], word: str, words: Vocabulary) -> list[str]:
    options = {o.name: o for o in command.options}
    flags = [f.name for f in command.flags] + ([YES] if command.confirm else [])
    name, equals, value = word.removeprefix("--").partition("=")
    if equals and name in options:
        start = word[: len(word) - len(value)]
        return [start + v for v in _values(options[name], value, words)]
    used = 0
    for token in before:
        bare = token.removeprefix("--").partition("=")
        if bare[1] and bare[0] in options:
            continue
        if bare[0].lower() in flags:
            continue
        used += 1
    named = [f"{o}=" for o in options] + flags
    if word.startswith("--"):
        return [f"--{n}" for n in named if n.startswith(word[2:])]
    found: list[str] = []
    remaining = command.args[used:]
    if remaining and remaining[0].kind != Kind.TEXT:
        found += _values(remaining[0], word, words)
    found += [n for n in named if n.startswith(word.lower()) and n.rstrip("=") not in before]
    return found[:MOST]


def _values(arg: Arg, word: str, words: Vocabulary) -> list[str]:
    typed = word.lower()
    if arg.kind == Kind.ZONE:
        return [z for z in words.zones() if z.lower().startswith(typed)]
    if arg.kind == Kind.RIDER:
        slugs = sorted({slug(n) for n in words.riders().values()})
        return [s for s in slugs if s.startswith(slug(word) if word else "")]
    if arg.kind == Kind.CHOICE:
        return [c for c in arg.choices if c.startswith(typed)]
    if arg.kind in (Kind.ORDER, Kind.ALERT):
        ids = words.orders() if arg.kind == Kind.ORDER else words.alerts()
        digits = word.removeprefix("#")
        return [str(i) for i in ids if str(i).startswith(digits)][:MOST]
    return []


def _common_start(texts: list[str]) -> str:
    """The longest start every text shares (character by character, as typed)."""
    first, last = min(texts), max(texts)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]
