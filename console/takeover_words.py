"""Handover proposals and what-if answers in the desk's words: who takes which order and when it
arrives, when the system carries a proposal out by itself, what a reassignment does to a
rider's route. Pure Python (no Textual): the exception queue and the reassign dialog draw it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo

from backend_client.models import (
    Alert,
    RouteWhatIf,
    TakeoverProposal,
    TakeoverState,
    TakeoverTrigger,
)
from console.alert_words import plural

CAUSE = {TakeoverTrigger.ACCIDENT: "accident", TakeoverTrigger.GPS_SILENT: "no GPS"}


def _clock(moment: datetime, zone: tzinfo | None) -> str:
    return f"{moment.astimezone(zone):%H:%M}"


def moves_text(proposal: TakeoverProposal, zone: tzinfo | None) -> str:
    """E.g. "#1003 → Wang Wei 12:41, #1007 → nobody has room"."""
    parts = []
    for move in proposal.moves:
        if move.to_rider_id is None:
            parts.append(f"#{move.order_id} → nobody has room")
            continue
        eta = f" {_clock(move.eta, zone)}" if move.eta is not None else ""
        parts.append(f"#{move.order_id} → {move.to_rider_name or move.to_rider_id}{eta}")
    return ", ".join(parts)


def proposal_line(proposal: TakeoverProposal, now: datetime, zone: tzinfo | None) -> str:
    """One line for the queue: what is proposed, or what happened to it."""
    who = f"{proposal.rider_name} ({CAUSE.get(proposal.trigger, proposal.trigger)})"
    moves = moves_text(proposal, zone)
    match proposal.state:
        case TakeoverState.PROPOSED:
            left = max(0, int((proposal.due_at - now).total_seconds() // 60))
            return (
                f"⇄ Handover proposed for {who}: {moves} · by itself at "
                f"{_clock(proposal.due_at, zone)} (in {left} min) · h accepts, K keeps"
            )
        case TakeoverState.CARRIED_OUT:
            at = _clock(proposal.decided_at, zone) if proposal.decided_at else "?"
            by = "the system" if proposal.decided_by == "system" else proposal.decided_by
            return f"⇄ Handed over by {by} at {at}: {who} {moves} · U undoes"
        case TakeoverState.UNDONE:
            return f"⇄ Handover of {who} undone by {proposal.undone_by}"
        case _:
            return f"⇄ Handover of {who} {proposal.state}: {proposal.outcome or ''}".rstrip(": ")


def standing(proposals: Iterable[TakeoverProposal]) -> list[TakeoverProposal]:
    """The proposals waiting for a decision, oldest first."""
    return sorted((p for p in proposals if p.state == TakeoverState.PROPOSED), key=lambda p: p.id)


def undoable(proposals: Iterable[TakeoverProposal]) -> TakeoverProposal | None:
    """The newest carried-out handover: what one `U` undoes."""
    done = [p for p in proposals if p.state == TakeoverState.CARRIED_OUT]
    return max(done, key=lambda p: p.id) if done else None


def for_alert(
    proposals: Iterable[TakeoverProposal], alert: Alert | None
) -> TakeoverProposal | None:
    """The standing proposal an alert made, or the one for the alert's rider."""
    if alert is None:
        return None
    waiting = standing(proposals)
    for proposal in waiting:
        if proposal.alert_id == alert.id:
            return proposal
    for proposal in waiting:
        if alert.rider_id is not None and proposal.rider_id == alert.rider_id:
            return proposal
    return None


def strip(proposals: list[TakeoverProposal], now: datetime, zone: tzinfo | None) -> str:
    """The queue's handover lines: every standing proposal, and the newest one carried out."""
    lines = [proposal_line(p, now, zone) for p in standing(proposals)]
    done = undoable(proposals)
    if done is not None:
        lines.append(proposal_line(done, now, zone))
    return "\n".join(lines)


def what_if_text(answer: RouteWhatIf | None, zone: tzinfo | None) -> str:
    """E.g. "stop 2 of 3, makes #1007 late" or "stop 1 of 1": what the rider's route becomes."""
    if answer is None:
        return ""
    text = f"stop {answer.stop} of {answer.stops}"
    if answer.made_late:
        ids = ", ".join(f"#{m.order_id}" for m in answer.made_late)
        text += (
            f", makes {ids} late"
            if len(answer.made_late) < 4
            else (f", makes {plural(len(answer.made_late), 'order')} late ({ids})")
        )
    else:
        text += ", nobody made late"
    return text
