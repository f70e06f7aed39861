"""An order's proofs of delivery: each photo and signature drawn in the terminal (half blocks,
`widgets/proof_picture.py`), with its kind, size, hash and who took it when; PINs as a line."""

from __future__ import annotations

import asyncio

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from backend_client import FreshlineError
from backend_client.models import Proof
from console.host import host
from console.proof_words import proof_line
from widgets.proof_picture import half_blocks


class ProofViewer(ModalScreen[None]):
    """The proofs of one order, newest last; `esc` closes."""

    DEFAULT_CSS = """
    ProofViewer { align: center middle; }
    ProofViewer #proofs { width: 90%; height: 90%; border: round $accent; padding: 0 1;
                          background: $surface; }
    ProofViewer .proof-line { text-style: bold; }
    ProofViewer .picture { height: auto; margin: 0 0 1 0; }
    """
    BINDINGS = [Binding("escape,q", "close", "Close", id="proofs.close")]

    def __init__(self, order_id: int, proofs: list[Proof]) -> None:
        super().__init__()
        self.order_id = order_id
        self.proofs = proofs
        self.drawn = 0
        """Proof images drawn so far (tests wait for it)."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="proofs"):
            yield Label(f"Proofs of delivery, order {self.order_id}", id="proofs-title")
            for proof in self.proofs:
                yield Label(proof_line(proof, host(self.app).zone), classes="proof-line")
                if proof.sha256 is not None:
                    yield Static("loading the image…", id=f"picture-{proof.id}", classes="picture")

    def on_mount(self) -> None:
        self.load()

    @work(group="proof-pictures", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        client = host(self.app).client
        if client is None:
            return
        for proof in self.proofs:
            if proof.sha256 is None:
                continue
            slot = self.query_one(f"#picture-{proof.id}", Static)
            try:
                content = await client.proofs.content(self.order_id, proof.sha256)
            except FreshlineError as exc:
                slot.update(f"(not shown: {exc})")
                continue
            width = max(16, min(64, self.size.width - 8))
            # Decoding and scaling is Pillow's work: off the loop that draws the console.
            slot.update(await asyncio.to_thread(half_blocks, content, width))
            self.drawn += 1

    def action_close(self) -> None:
        self.dismiss(None)
