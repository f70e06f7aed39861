"""Proofs of delivery in a dispatcher's words: one line each (no Textual here)."""

from __future__ import annotations

from datetime import tzinfo

from backend_client.models import Proof, ProofKind

KIND_WORDS = {
    ProofKind.PHOTO: "photo",
    ProofKind.SIGNATURE: "signature",
    ProofKind.PIN: "PIN matched",
}
HASH_SHOWN = 12
"""Hex digits of a hash shown: enough to tell proofs apart and to find the file."""


def size_words(size_bytes: int) -> str:
    if size_bytes < 1024:
        return f"{size_bytes} B"
    if size_bytes < 1024 * 1024:
        return f"{size_bytes / 1024:.1f} kB"
    return f"{size_bytes / 1024 / 1024:.1f} MB"


def proof_line(proof: Proof, zone: tzinfo | None) -> str:
    """`photo · 12.3 kB · 640x480 · sha256 acc19292544e… · rider-1 (rider) 18:02`."""
    parts = [KIND_WORDS.get(proof.kind, str(proof.kind))]
    if proof.sha256 is not None:
        parts.append(size_words(proof.size_bytes))
        if proof.width and proof.height:
            parts.append(f"{proof.width}x{proof.height}")
        parts.append(f"sha256 {proof.sha256[:HASH_SHOWN]}…")
    taken = proof.taken_at.astimezone(zone)
    parts.append(f"{proof.taken_by} ({proof.taken_role}) {taken:%m-%d %H:%M}")
    return " · ".join(parts)


def proofs_summary(proofs: list[Proof], zone: tzinfo | None) -> str:
    """Every proof of an order, a line each; or that there is none yet."""
    if not proofs:
        return "proof: none yet"
    return "\n".join(f"proof {proof_line(p, zone)}" for p in proofs)
