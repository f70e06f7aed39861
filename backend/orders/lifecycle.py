"""The order lifecycle as a pure table: states, actions, roles, guards and effects.

No I/O here. The service asks `decide()` whether an action applies, then checks the guards and
carries out the effects the rule names, inside one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from backend.auth.principal import SYSTEM_ROLE
from backend.errors import Forbidden, IllegalTransition
from backend_client.models import OrderAction, OrderState, Role

S = OrderState
A = OrderAction


class Guard(StrEnum):
    """A condition on the order beyond its state."""

    RIDER_ASSIGNED = "rider_assigned"


class Effect(StrEnum):
    """What else changes with the state, in the same transaction."""

    RESERVE_STOCK = "reserve_stock"
    """Reserve every line; if any is short, the order goes on to OUT_OF_STOCK."""
    REQUIRE_STOCK = "require_stock"
    """Reserve every line; if any is still short, refuse the action."""
    RELEASE_STOCK = "release_stock"
    """Give reserved units back to the warehouse."""
    CONSUME_STOCK = "consume_stock"
    """The goods leave the warehouse: reserved units come off the shelf."""
    RESTOCK_RETURNED = "restock_returned"
    """Returned goods go back on the shelf."""
    RELEASE_RIDER = "release_rider"
    """The rider no longer carries the order: their load drops by one."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One action: the states it applies to, where it leads, and who may take it."""

    action: OrderAction
    sources: frozenset[OrderState]
    target: OrderState
    roles: frozenset[str]
    guards: tuple[Guard, ...] = ()
    effects: tuple[Effect, ...] = ()
    needs_reason: bool = False
    by_request: str | None = None
    """Taken only by deciding a return or claim request (docs/orders.md, "Returns and claims"),
    never as a transition of its own: the request says where to go instead."""


def _roles(*roles: Role | str) -> frozenset[str]:
    return frozenset(str(r) for r in (Role.ADMIN, *roles))


STAFF_DESK = (Role.SUPERVISOR, Role.SUPPORT)

RULES: tuple[Rule, ...] = (
    Rule(
        A.PAY, frozenset({S.CREATED}), S.PAID, _roles(Role.CHANNEL), effects=(Effect.RESERVE_STOCK,)
    ),
    Rule(A.START_PICKING, frozenset({S.PAID}), S.PICKING, _roles(Role.MERCHANT, Role.DISPATCHER)),
    Rule(
        A.REPORT_OUT_OF_STOCK,
        frozenset({S.PAID, S.PICKING}),
        S.OUT_OF_STOCK,
        _roles(Role.MERCHANT, Role.DISPATCHER, SYSTEM_ROLE),
        effects=(Effect.RELEASE_STOCK,),
        needs_reason=True,
    ),
    Rule(
        A.RESTOCK,
        frozenset({S.OUT_OF_STOCK}),
        S.PICKING,
        _roles(Role.MERCHANT, Role.DISPATCHER),
        effects=(Effect.REQUIRE_STOCK,),
    ),
    Rule(
        A.DISPATCH,
        frozenset({S.PICKING}),
        S.DELIVERING,
        _roles(Role.MERCHANT, Role.RIDER, Role.DISPATCHER),
        guards=(Guard.RIDER_ASSIGNED,),
        effects=(Effect.CONSUME_STOCK,),
    ),
    Rule(
        A.SIGN,
        frozenset({S.DELIVERING}),
        S.SIGNED,
        _roles(Role.RIDER, Role.DISPATCHER),
        effects=(Effect.RELEASE_RIDER,),
    ),
    Rule(
        A.REPORT_EXCEPTION,
        frozenset({S.DELIVERING}),
        S.EXCEPTION,
        _roles(Role.RIDER, Role.DISPATCHER, *STAFF_DESK),
        needs_reason=True,
    ),
    Rule(
        A.RESUME,
        frozenset({S.EXCEPTION}),
        S.DELIVERING,
        # The system resumes with another rider when it carries out a handover nobody decided
        # in time (backend/takeover).
        _roles(Role.DISPATCHER, Role.SUPERVISOR, SYSTEM_ROLE),
        guards=(Guard.RIDER_ASSIGNED,),
    ),
    # From SIGNED: after sale, within `after_sale_hours` (returns/service.py).
    Rule(
        A.START_RETURN,
        frozenset({S.EXCEPTION, S.SIGNED}),
        S.RETURNING,
        _roles(*STAFF_DESK),
        needs_reason=True,
        by_request="approving a return or an exchange: POST /orders/{id}/returns (or "
        "/exchanges), then /requests/{id}/approve",
    ),
    Rule(
        A.COMPLETE_RETURN,
        frozenset({S.RETURNING}),
        S.RETURNED,
        _roles(Role.MERCHANT, *STAFF_DESK),
        effects=(Effect.RESTOCK_RETURNED, Effect.RELEASE_RIDER),
    ),
    Rule(
        A.START_CLAIM,
        frozenset({S.EXCEPTION, S.SIGNED}),
        S.CLAIMING,
        _roles(*STAFF_DESK),
        effects=(Effect.RELEASE_RIDER,),
        needs_reason=True,
        by_request="approving a claim: POST /orders/{id}/claims, then /requests/{id}/approve",
    ),
    Rule(A.SETTLE_CLAIM, frozenset({S.CLAIMING}), S.CLAIM_SETTLED, _roles(*STAFF_DESK)),
    Rule(
        A.CANCEL,
        frozenset({S.CREATED, S.PAID, S.OUT_OF_STOCK}),
        S.CANCELLED,
        _roles(Role.CHANNEL, Role.DISPATCHER, *STAFF_DESK),
        effects=(Effect.RELEASE_STOCK, Effect.RELEASE_RIDER),
        needs_reason=True,
    ),
)

RULES_BY_ACTION: dict[OrderAction, Rule] = {rule.action: rule for rule in RULES}

FINAL_STATES = frozenset({S.SIGNED, S.RETURNED, S.CLAIM_SETTLED, S.CANCELLED})

# States in which the order no longer takes a slot of its rider's capacity.
RIDER_FREE_STATES = frozenset({S.SIGNED, S.RETURNED, S.CLAIMING, S.CLAIM_SETTLED, S.CANCELLED})

# States in which an order may be given to (or moved to) another rider.
ASSIGNABLE_STATES = frozenset({S.PAID, S.PICKING, S.OUT_OF_STOCK, S.DELIVERING, S.EXCEPTION})

# The order column that records when each state was reached.
STAGE_COLUMN: dict[OrderState, str] = {
    S.PAID: "paid_at",
    S.PICKING: "picking_at",
    S.OUT_OF_STOCK: "out_of_stock_at",
    S.DELIVERING: "delivering_at",
    S.SIGNED: "signed_at",
    S.EXCEPTION: "exception_at",
    S.RETURNING: "returning_at",
    S.RETURNED: "returned_at",
    S.CLAIMING: "claiming_at",
    S.CLAIM_SETTLED: "claim_settled_at",
    S.CANCELLED: "cancelled_at",
}


def decide(state: OrderState, action: OrderAction, role: str) -> Rule:
    """The rule for `action` from `state` by `role`, or the refusal that explains why not."""
    rule = rule_from(state, action)
    if str(role) not in rule.roles:
        raise Forbidden(f"role {role} may not {action} an order")
    if rule.by_request:
        raise Forbidden(f"{action} is not a transition of its own; it happens by {rule.by_request}")
    return rule


def rule_from(state: OrderState, action: OrderAction) -> Rule:
    """The rule for `action` if it applies to `state`, whoever asks (the caller has decided
    who may); IllegalTransition naming both states if not."""
    rule = RULES_BY_ACTION[action]
    if state not in rule.sources:
        allowed = ", ".join(sorted(rule.sources))
        raise IllegalTransition(
            f"cannot {action} an order in {state}: {action} leads from {allowed} to "
            f"{rule.target}, so {state} -> {rule.target} is not a legal transition",
            from_state=str(state),
            to_state=str(rule.target),
        )
    return rule


def actions_for(state: OrderState, role: str) -> list[OrderAction]:
    """The actions `role` may take on an order in `state` (for menus and dimmed keys)."""
    return [
        r.action for r in RULES if state in r.sources and str(role) in r.roles and not r.by_request
    ]


def roles_taking_any_action() -> frozenset[str]:
    """Every role that appears in the table (they may call the transition endpoint)."""
    return frozenset().union(*(rule.roles for rule in RULES)) - {SYSTEM_ROLE}
