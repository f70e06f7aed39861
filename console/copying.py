"""What `y` copies: an order's id, its customer's phone, or its tracking link, and who may copy
which (the same permissions that decide what the API shows: docs/permissions.md).

Pure Python (no Textual). The text goes to the clipboard through OSC 52 (`App.copy_to_clipboard`
writes `ESC ] 52 ; c ; <base64> BEL`), which the terminal on the desk applies, so it works over
SSH and inside tmux (with `set -g set-clipboard on`).
"""

from __future__ import annotations

from enum import StrEnum

from backend_client.models import Me, Order

PHONES_READ = "phones:read"
TRACKING_READ = "tracking:read"


class CopyWhat(StrEnum):
    """What can be copied from an order."""

    ID = "order id"
    PHONE = "phone"
    LINK = "tracking link"


COPY_KEYS: dict[str, CopyWhat] = {
    "y": CopyWhat.ID,
    "i": CopyWhat.ID,
    "p": CopyWhat.PHONE,
    "l": CopyWhat.LINK,
}
"""The key typed after `y`, and what it copies (`yy` as in vim: the id)."""

ASK = "y or i: the order id · p: the customer's phone · l: the tracking link · esc: nothing"
NEEDS: dict[CopyWhat, tuple[str, str]] = {
    CopyWhat.PHONE: (
        PHONES_READ,
        "this account sees phones masked: whole numbers are for the desk that calls customers",
    ),
    CopyWhat.LINK: (
        TRACKING_READ,
        "tracking links are for the desk and the order's sales channel",
    ),
}


def refusal(me: Me | None, what: CopyWhat) -> str | None:
    """Why `me` may not copy `what`, or None when it may."""
    need = NEEDS.get(what)
    if need is None:
        return None
    permission, why = need
    return None if me is not None and permission in me.permissions else why


def needs_order(what: CopyWhat) -> bool:
    """Whether copying `what` fetches the order (the board holds no whole phone or link)."""
    return what != CopyWhat.ID


def copied_text(what: CopyWhat, order_id: int, order: Order | None, server: str) -> str:
    """The text to copy; ValueError (in words) when the order does not have it."""
    if what == CopyWhat.ID:
        return str(order_id)
    if order is None:
        raise ValueError(f"order {order_id} could not be read")
    if what == CopyWhat.PHONE:
        phone = order.customer.phone
        if "*" in phone:  # the server masked it after all: copying that helps nobody
            raise ValueError("the server shows this account the phone masked")
        return phone
    link = order.tracking_url
    if not link:
        raise ValueError(f"order {order_id} has no tracking link")
    if link.startswith("/"):  # the server has no public address set: its own, then the path
        link = server.rstrip("/") + link
    return link


def shown(what: CopyWhat, text: str) -> str:
    """How the console says what it copied: a phone masked (the screen may be shared)."""
    if what == CopyWhat.PHONE:
        from backend_client.phones import mask_phone

        return mask_phone(text)
    return text
