"""The looked book alone: what is new, what looking clears, and what a desk keeps between
runs (a file per machine, server and account; a broken file is ignored, never fatal)."""

from __future__ import annotations

import json
from pathlib import Path

from backend_client.models import OrderState
from console.attention import Attention
from console.looked import Kind, LookedBook, desk_file
from console.noticing import SAVE_AFTER, Noticing
from console.store import FrozenClock, Store
from tests.console.samples import NOW, order


def test_nothing_is_new_until_the_desk_knows_where_it_stands_then_changes_are() -> None:
    book = LookedBook()
    assert not book.is_new(Kind.ORDER, 1, 3)  # no snapshot yet: no marks at all
    book.start({Kind.ORDER: {1: 3, 2: 5}, Kind.ALERT: {7: 1}})
    assert not book.is_new(Kind.ORDER, 1, 3)
    assert book.is_new(Kind.ORDER, 1, 4)  # it changed
    assert book.is_new(Kind.ORDER, 9, 1)  # it came after
    assert not book.is_new(Kind.ALERT, 7, 1) and book.is_new(Kind.ALERT, 8, 1)
    assert book.look(Kind.ORDER, 1, 4) and not book.is_new(Kind.ORDER, 1, 4)
    assert not book.look(Kind.ORDER, 1, 4)  # looking twice changes nothing
    assert book.look_all(Kind.ORDER, [(9, 1), (2, 5), (3, 2)]) == 2
    assert not book.is_new(Kind.ORDER, 3, 2)


def test_a_desk_keeps_what_it_looked_at_across_a_restart_and_forgets_what_left(
    tmp_path: Path,
) -> None:
    path = desk_file("http://127.0.0.1:8765/", "dispatcher", tmp_path)
    assert path.parent == tmp_path and path.name.endswith("-dispatcher.json")
    assert desk_file("http://127.0.0.1:8765", "dispatcher", tmp_path) == path
    assert desk_file("http://127.0.0.1:8766", "dispatcher", tmp_path) != path
    book = LookedBook(path)
    assert not book.started
    book.start({Kind.ORDER: {1: 3, 2: 5}})
    book.look(Kind.ORDER, 4, 1)
    book.save({Kind.ORDER: [1, 4], Kind.ALERT: []})  # order 2 left the board
    assert not book.dirty
    again = LookedBook(path)
    assert again.started
    assert again.seen[Kind.ORDER] == {1: 3, 4: 1}
    assert again.is_new(Kind.ORDER, 1, 4) and not again.is_new(Kind.ORDER, 4, 1)
    assert again.is_new(Kind.ORDER, 2, 5)  # forgotten: if it comes back, it is news


def test_a_broken_or_foreign_file_is_ignored_and_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "desk.json"
    for content in ("{not json", json.dumps([1, 2]), json.dumps({"format": 99, "orders": {}})):
        path.write_text(content)
        book = LookedBook(path)
        assert not book.started and book.seen[Kind.ORDER] == {}
    path.write_text(json.dumps({"format": 1, "orders": {"1": 2, "x": 3, "4": "5", "6": True}}))
    assert LookedBook(path).seen[Kind.ORDER] == {1: 2}  # only what makes sense
    book = LookedBook(path)
    book.look(Kind.ORDER, 9, 1)
    book.save()
    assert json.loads(path.read_text())["orders"] == {"1": 2, "9": 1}


def test_a_desk_that_cannot_write_goes_on_with_its_marks_this_session(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    book = LookedBook(blocker / "looked" / "desk.json")  # a directory that cannot be made
    book.start({Kind.ORDER: {1: 1}})
    book.save()
    assert not book.dirty and not book.is_new(Kind.ORDER, 1, 1)


def test_the_console_saves_a_few_seconds_after_looking_not_on_every_move(tmp_path: Path) -> None:
    now = [100.0]
    store = Store(FrozenClock(NOW))
    store.load([order(0, OrderState.PAID, 30, None)], [], last_seq=5)
    noticing = Noticing(
        store, Attention(), lambda text: None, folder=tmp_path, clock=lambda: now[0]
    )
    noticing.signed_in("http://freshline.test", "support")
    path = noticing.looked.path
    assert path is not None
    noticing.tick()  # the first snapshot: where the desk starts
    noticing.tick()
    assert not path.exists()
    now[0] += SAVE_AFTER
    noticing.tick()
    assert json.loads(path.read_text())["orders"] == {"1000": 3}
    store.orders[1000].version = 4  # it changed, and the desk looked at it
    assert noticing.looked.look(Kind.ORDER, 1000, 4)
    noticing.tick()
    now[0] += SAVE_AFTER - 1
    noticing.tick()
    assert json.loads(path.read_text())["orders"] == {"1000": 3}  # a burst: not yet
    now[0] += 1
    noticing.tick()
    assert json.loads(path.read_text())["orders"] == {"1000": 4}
    # Another account on this desk: its own book, the first one saved and left alone.
    noticing.signed_in("http://freshline.test", "dispatcher")
    assert noticing.looked.path != path and not noticing.looked.started
