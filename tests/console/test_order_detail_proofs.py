"""The order's detail lists its proofs of delivery (kind, size, hash, who, when) and `p` draws
the photo and the signature in the terminal; against a real backend, under Pilot."""

from __future__ import annotations

import pytest

from backend_client.models import ProofKind
from console.app import FreshlineApp
from screens.order_detail import OrderDetailScreen
from screens.proof_viewer import ProofViewer
from tests.backend.proof_support import jpeg, png
from tests.console.conftest import until
from tests.console.test_console_live import text_of
from tests.stream_support import Actors, LiveServer

pytestmark = pytest.mark.slow  # the console against a real backend


async def test_the_detail_shows_the_proofs_and_draws_the_pictures(
    backend: LiveServer, actors: Actors
) -> None:
    await actors.online(1)
    order = await actors.assign(await actors.picking(), 1)
    rider = await actors("rider-1")
    order = await rider.orders.transition(order.id, "dispatch", order.version)
    photo = await rider.proofs.upload(order.id, ProofKind.PHOTO, jpeg(120, 90), filename="a.jpg")
    signature = await rider.proofs.upload(order.id, ProofKind.SIGNATURE, png(80, 30))

    app = FreshlineApp(server=backend.base_url, token=await actors.token("dispatcher"))
    async with app.run_test(size=(120, 48)) as pilot:
        await until(pilot, lambda: order.id in app.store.orders, "the board")
        app.push_screen(OrderDetailScreen(order.id))
        detail = app.screen
        assert isinstance(detail, OrderDetailScreen)
        await until(pilot, lambda: detail.proofs is not None, "the proofs")
        shown = text_of(detail.query_one("#proofs"))
        assert "proof photo" in shown and f"sha256 {photo.sha256[:12]}" in shown  # type: ignore[index]
        assert "120x90" in shown and "rider-1 (rider)" in shown
        assert "proof signature" in shown and signature.media_type == "image/png"
        timeline = detail.query_one("#timeline")
        words = [str(timeline.get_row_at(i)[1]) for i in range(timeline.row_count)]
        assert "proof of delivery: photo" in words

        await pilot.press("p")
        viewer = app.screen
        assert isinstance(viewer, ProofViewer)
        await until(pilot, lambda: viewer.drawn == 2, "both pictures drawn")
        picture = text_of(viewer.query_one(f"#picture-{photo.id}"))
        assert "▀" in picture and len(picture.splitlines()) >= 10
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is detail, "back on the detail")
