"""Telling a complaint in a channel's refund reason: the platforms send the customer's reason as
free text (or their own canned phrases, in Chinese or English), and a refund whose reason is
about the service (the goods' quality, lateness, the rider, a wrong item, damage) is a complaint
as well as a refund. A reason that names none (changed my mind, ordered twice) is not one.

Words are matched case-insensitively as substrings; the first category in `WORDS` order with a
match wins, so the more specific categories come first (a "wrong item" is not "quality")."""

from __future__ import annotations

from backend_client.models import ComplaintCategory

C = ComplaintCategory

WORDS: dict[ComplaintCategory, tuple[str, ...]] = {
    C.WRONG_ITEM: (
        "wrong item",
        "wrong product",
        "not what i ordered",
        "missing item",
        "item missing",
        "missing",
        "送错",
        "错发",
        "漏发",
        "少送",
        "少发",
        "发错",
    ),
    C.LATE: (
        "late",
        "delay",
        "overdue",
        "took too long",
        "never arrived",
        "not delivered",
        "超时",
        "延误",
        "送达慢",
        "配送慢",
        "迟到",
        "未送达",
    ),
    C.RIDER_CONDUCT: (
        "rude",
        "rider",
        "courier",
        "driver",
        "impolite",
        "attitude",
        "骑手",
        "态度",
        "配送员",
    ),
    C.DAMAGED: (
        "damaged",
        "broken",
        "crushed",
        "leak",
        "smashed",
        "破损",
        "压坏",
        "漏了",
        "碎了",
    ),
    C.QUALITY: (
        "quality",
        "not fresh",
        "stale",
        "rotten",
        "spoiled",
        "spoilt",
        "mouldy",
        "moldy",
        "wilted",
        "bad smell",
        "smells",
        "expired",
        "质量",
        "不新鲜",
        "变质",
        "腐烂",
        "发霉",
        "过期",
        "异味",
    ),
}
"""Each category's words, most specific category first."""


def category_of(reason: str | None) -> ComplaintCategory | None:
    """The complaint a refund reason makes, or None when it makes none."""
    if not reason:
        return None
    text = reason.casefold()
    for category, words in WORDS.items():
        if any(word in text for word in words):
            return category
    return None
