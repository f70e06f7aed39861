"""The field policy: how much of each personal field an account is shown, in one place.

Driven by the permission table (`permissions.py`): an account holding `phones:read` (the desk
that calls customers and riders: dispatchers, support, supervisors, admins) sees phone numbers
whole; every other account (viewers, merchants, riders, channels) sees them masked,
`138****7474` (`backend_client/phones.py`), with one exception: a rider sees their own number.

Every answer that carries a phone is built through a `FieldPolicy` (`order_view` and
`rider_view` take one and cannot be called without it), so what is built is already what the
account may see: the idempotency and channel receipt caches store those answers as they are,
and the event log keeps only the tail every reader may see (`phone_tail`). Searching obeys the
same rule: an account that sees phones masked matches a phone by no more than the digits the
masked form shows, so it cannot recover a number by asking for it digit by digit.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.auth.permissions import Permission, allowed
from backend.auth.principal import Principal
from backend_client.models import Role
from backend_client.phones import TAIL_DIGITS, mask_phone, phone_tail

__all__ = ["FULL", "FieldPolicy", "phone_tail"]


@dataclass(frozen=True, slots=True)
class FieldPolicy:
    """What of its personal fields one account is shown."""

    full_phones: bool
    """Phone numbers whole (`phones:read`), else masked."""
    own_rider_id: int | None = None
    """The rider this account is: their own record keeps its phone whole."""

    @classmethod
    def of(cls, principal: Principal) -> FieldPolicy:
        """The policy the permission table gives `principal`'s role; a role the table does not
        know (the system acting on its own answers nobody) sees phones masked."""
        role = str(principal.role)
        full = role in _ROLES and allowed(role, Permission.PHONES_READ)
        own = principal.rider_id if role == Role.RIDER else None
        return cls(full_phones=full, own_rider_id=own)

    def customer_phone(self, phone: str) -> str:
        """A customer's phone as this account may see it."""
        return phone if self.full_phones else mask_phone(phone)

    def rider_phone(self, rider_id: int, phone: str) -> str:
        """A rider's phone as this account may see it: a rider's own whole."""
        if self.full_phones or rider_id == self.own_rider_id:
            return phone
        return mask_phone(phone)

    @property
    def phone_search_digits(self) -> int | None:
        """The longest run of digits a phone search may match (None: any)."""
        return None if self.full_phones else TAIL_DIGITS


_ROLES = frozenset(str(r) for r in Role)

FULL = FieldPolicy(full_phones=True)
"""Every field whole: what the desk sees (and the unmasked baseline of `bench/row_views.py`)."""
