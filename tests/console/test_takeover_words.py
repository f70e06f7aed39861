"""The handover proposals and the what-if in the desk's words (pure: no Textual)."""

from __future__ import annotations

from datetime import timedelta

from backend_client.models import (
    MadeLate,
    Rider,
    RiderSuggestion,
    RouteWhatIf,
    TakeoverMove,
    TakeoverProposal,
)
from console.takeover_words import for_alert, proposal_line, strip, undoable, what_if_text
from screens.reassign import suggestion_line
from tests.console.samples import BEIJING, NOW

DUE = NOW + timedelta(minutes=4)


def proposal(n: int, state: str, **extra: object) -> TakeoverProposal:
    fields: dict[str, object] = {
        "id": n,
        "rider_id": 1,
        "rider_name": "Li Lei",
        "trigger": "accident",
        "alert_id": 30 + n,
        "reason": "traffic accident",
        "state": state,
        "moves": [
            TakeoverMove(
                order_id=1003,
                version=4,
                status="EXCEPTION",
                promised_at=NOW,
                to_rider_id=2,
                to_rider_name="Wang Wei",
                eta=NOW + timedelta(minutes=11),
            ),
            TakeoverMove(
                order_id=1007, version=2, status="DELIVERING", promised_at=NOW, to_rider_id=None
            ),
        ],
        "proposed_at": NOW,
        "due_at": DUE,
        "version": 1,
        **extra,
    }
    return TakeoverProposal.model_validate(fields)


def test_a_standing_proposal_says_who_takes_what_and_when_it_happens_by_itself() -> None:
    line = proposal_line(proposal(1, "proposed"), NOW, BEIJING)
    local = f"{(NOW + timedelta(minutes=11)).astimezone(BEIJING):%H:%M}"
    assert f"#1003 → Wang Wei {local}" in line and "#1007 → nobody has room" in line
    assert f"by itself at {DUE.astimezone(BEIJING):%H:%M} (in 4 min)" in line
    assert "Li Lei (accident)" in line and "h accepts, K keeps" in line


def test_the_strip_lists_standing_ones_and_the_newest_carried_out() -> None:
    done_old = proposal(1, "carried_out", decided_at=NOW, decided_by="system")
    done_new = proposal(3, "carried_out", decided_at=NOW, decided_by="dispatcher")
    waiting = proposal(2, "proposed")
    proposals = [done_new, waiting, done_old, proposal(4, "undone", undone_by="dispatcher")]
    assert undoable(proposals) is done_new
    lines = strip(proposals, NOW, BEIJING).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("⇄ Handover proposed")
    assert lines[1].startswith("⇄ Handed over by dispatcher") and lines[1].endswith("U undoes")
    assert strip([], NOW, BEIJING) == ""


def test_an_alert_finds_its_own_proposal_or_its_riders() -> None:
    from tests.console.sample_apps import queue_app

    alert = next(iter(queue_app().store.alerts.alerts.values()))
    mine = proposal(1, "proposed", alert_id=alert.id)
    assert for_alert([mine], alert) is mine
    assert for_alert([proposal(2, "proposed", alert_id=999)], alert) is None
    assert for_alert([proposal(3, "dismissed", alert_id=alert.id)], alert) is None
    assert for_alert([mine], None) is None


def test_the_reassign_line_shows_the_route_with_the_order_in_it() -> None:
    rider = Rider.model_validate(
        {
            "id": 2,
            "name": "Wang Wei",
            "warehouse_id": "WH-CY",
            "status": "online",
            "capacity": 4,
            "active_orders": 1,
            "cold_chain": False,
            "phone": "138****7474",
            "last_lat": None,
            "last_lng": None,
            "last_fix_at": None,
        }
    )
    later = NOW + timedelta(minutes=20)
    what_if = RouteWhatIf(
        eta=NOW + timedelta(minutes=14),
        stop=1,
        stops=2,
        late=False,
        made_late=[MadeLate(order_id=1007, promised_at=later, eta_before=later, eta_after=later)],
    )
    suggestion = RiderSuggestion(rider=rider, distance_m=1200, eta_minutes=9, what_if=what_if)
    line = suggestion_line(suggestion, NOW, NOW + timedelta(minutes=20), BEIJING)
    # The ETA is the route's (14 min), not the straight ride's (9 min).
    assert f"ETA {(NOW + timedelta(minutes=14)).astimezone(BEIJING):%H:%M}, 6m early" in line
    assert line.endswith("· stop 1 of 2, makes #1007 late")
    plain = suggestion.model_copy(update={"what_if": None})
    assert "stop" not in suggestion_line(plain, NOW, None, BEIJING)
    alone = what_if.model_copy(update={"made_late": [], "stops": 1})
    assert what_if_text(alone, None) == "stop 1 of 1, nobody made late"
