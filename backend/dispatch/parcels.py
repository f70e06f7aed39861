"""Packing an order into parcels a rider can carry, and whether an order fits an open parcel.

Pure rules, no I/O. A parcel is what one rider takes on one trip: at most `max_load_g` in all,
of which at most `cold_box_g` cold-chain goods (the cold box). Units are never cut in two.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Limits:
    """What one rider carries: in all, and in the cold-chain box."""

    max_load_g: int
    cold_box_g: int


@dataclass(frozen=True, slots=True)
class Line:
    """One order line: `quantity` units of `unit_weight_g` each."""

    line: int
    sku: str
    quantity: int
    unit_weight_g: int
    cold_chain: bool


@dataclass(slots=True)
class Parcel:
    """Units of lines packed together: line number -> quantity."""

    units: dict[int, int] = field(default_factory=dict)
    weight_g: int = 0
    cold_weight_g: int = 0

    def room_for(self, line: Line, limits: Limits) -> int:
        """How many more units of `line` fit."""
        if line.unit_weight_g <= 0:
            return line.quantity
        room = (limits.max_load_g - self.weight_g) // line.unit_weight_g
        if line.cold_chain:
            room = min(room, (limits.cold_box_g - self.cold_weight_g) // line.unit_weight_g)
        return max(0, room)

    def add(self, line: Line, quantity: int) -> None:
        self.units[line.line] = self.units.get(line.line, 0) + quantity
        self.weight_g += quantity * line.unit_weight_g
        if line.cold_chain:
            self.cold_weight_g += quantity * line.unit_weight_g


class TooHeavy(ValueError):
    """A single unit weighs more than a rider (or the cold box) can carry."""

    def __init__(self, line: Line, limit_g: int, what: str) -> None:
        super().__init__(
            f"one unit of {line.sku} weighs {line.unit_weight_g / 1000:g} kg, more than "
            f"{what} ({limit_g / 1000:g} kg)"
        )
        self.line = line


def pack(lines: list[Line], limits: Limits) -> list[Parcel]:
    """Parcels for an order: cold-chain lines first (they fill the box), heaviest units first,
    each unit into the first parcel with room. One parcel when everything fits."""
    for line in lines:
        if line.unit_weight_g > limits.max_load_g:
            raise TooHeavy(line, limits.max_load_g, "one rider carries")
        if line.cold_chain and line.unit_weight_g > limits.cold_box_g:
            raise TooHeavy(line, limits.cold_box_g, "one cold-chain box holds")
    parcels: list[Parcel] = []
    for line in sorted(lines, key=lambda x: (not x.cold_chain, -x.unit_weight_g, x.line)):
        left = line.quantity
        for parcel in parcels:
            if left == 0:
                break
            taken = min(left, parcel.room_for(line, limits))
            if taken:
                parcel.add(line, taken)
                left -= taken
        while left:
            parcel = Parcel()
            taken = min(left, parcel.room_for(line, limits))
            parcel.add(line, taken)
            parcels.append(parcel)
            left -= taken
    return parcels


def fits(
    weight_g: int, cold_weight_g: int, adding: Parcel, limits: Limits, *, rider_cold: bool | None
) -> bool:
    """Whether `adding` joins a parcel of `weight_g` (`cold_weight_g` of it cold) within the
    limits; `rider_cold` is whether its rider (if it has one yet) carries a cold-chain box."""
    if weight_g + adding.weight_g > limits.max_load_g:
        return False
    if cold_weight_g + adding.cold_weight_g > limits.cold_box_g:
        return False
    return not (adding.cold_weight_g and rider_cold is False)
