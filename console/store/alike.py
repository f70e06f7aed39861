"""Whether a name is like what was typed: the board's `/` search forgives a wrong letter, as
the backend's search does (docs/api.md, "Search": whole-name similarity of 75% or one wrong
character in a short name, or a part of the name 85% alike)."""

from __future__ import annotations

from rapidfuzz import fuzz, utils

WHOLE_CUTOFF = 75.0
PART_CUTOFF = 85.0


def whole_cutoff(query: str) -> float:
    """75%, or just under one wrong character's similarity for a short query (most Chinese
    names are three characters: one wrong is 67% alike); two characters: exact only."""
    if len(query) < 3:
        return 100.1
    return min(WHOLE_CUTOFF, 100.0 * (len(query) - 1) / len(query) - 0.1)


def prepared(text: str) -> str:
    """Lower case, punctuation as spaces, trimmed: how both sides are compared."""
    return utils.default_process(text)


def alike(query: str, name: str) -> bool:
    """`query` (already `prepared`) is like `name` as a whole or like a part of it."""
    if not query:
        return False
    name = prepared(name)
    if fuzz.ratio(query, name, score_cutoff=whole_cutoff(query)):
        return True
    return bool(fuzz.partial_ratio(query, name, score_cutoff=PART_CUTOFF))
