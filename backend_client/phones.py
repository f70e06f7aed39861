"""How a phone number is masked: the one form the API answers to accounts that may not see it
whole (backend/auth/fields.py decides who) and the console shows on every screen.

`138****7474`: the first three digits (the carrier's prefix in China) and the last four, enough
to recognise a customer on the phone or at the door and to find their order, not enough to call
them. No Textual or Rich here: the backend masks with the same function the console draws with.
"""

from __future__ import annotations

TAIL_DIGITS = 4
"""What every masked form shows at its end, and all that a phone search may match for an
account that sees phones masked."""


def mask_phone(phone: str) -> str:
    """`13800137474` -> `138****7474`; short numbers keep their last two digits only. Idempotent:
    a masked phone masks to itself."""
    digits = phone.replace(" ", "").replace("-", "")
    if len(digits) <= 7:
        return "*" * max(0, len(digits) - 2) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-TAIL_DIGITS:]


def phone_tail(phone: str) -> str:
    """The digits a masked phone ends with (`7474`; two for a short number): what an event
    carries for a console's search, never more than the masked form shows."""
    return mask_phone(phone).rsplit("*", 1)[-1]
