"""`freshline archive` killed at each point of a move, on PostgreSQL: the twin of
`test_archive_crash.py`'s SQLite test, in a file of its own so that `make test` runs the two side
by side."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backend.test_archive_crash import killed_at_every_point_of_a_move

pytestmark = [pytest.mark.slow, pytest.mark.long(25)]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_killed_at_every_point_of_a_move_loses_nothing(database_url: str, tmp_path: Path) -> None:
    killed_at_every_point_of_a_move(database_url, tmp_path)
