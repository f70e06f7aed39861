"""The sign-in form keeps the last user of the server and says why it asks again."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from console.app import FreshlineApp
from console.sign_in import NO_KEYRING, KnownUsers
from screens.login import LoginScreen
from tests.console.conftest import until
from tests.console.test_console_live import text_of

SERVER = "http://127.0.0.1:9"


async def test_the_form_opens_on_the_last_user_at_the_password_and_says_why(
    tmp_path: Path,
) -> None:
    users = KnownUsers(tmp_path / "users.json")
    users.remember(SERVER, "support")
    app = FreshlineApp(server=SERVER, live=True, users=users, sign_in_why=NO_KEYRING)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen), "the sign-in form")
        form = app.screen
        await until(pilot, lambda: app.focused is not None, "the focus")
        assert form.query_one("#user", Input).value == "support"
        assert app.focused is form.query_one("#password", Input)
        why = text_of(form.query_one("#why", Static))
        assert "No keyring here" in why and "over SSH" in why
        assert form.query_one("#why", Static).region.area > 0  # on screen at 80x24


def test_the_last_user_is_kept_per_server_and_only_the_name(tmp_path: Path) -> None:
    users = KnownUsers(tmp_path / "users.json")
    assert users.last(SERVER) == ""
    users.remember(SERVER + "/", "dispatcher")
    users.remember("http://elsewhere:8765", "support")
    again = KnownUsers(tmp_path / "users.json")
    assert again.last(SERVER) == "dispatcher"
    assert again.last("http://elsewhere:8765") == "support"
    assert "demo-" not in (tmp_path / "users.json").read_text()
