"""Sign in: server URL, user, password. Dismisses with the signed-in client.

The form opens on the last user of this server (`console.sign_in.KnownUsers`), at the password,
and says why it asks (no keyring over SSH, a session that ended) above the fields.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from backend_client import (
    ConnectionFailed,
    FreshlineClient,
    FreshlineError,
    NotAuthenticated,
    RateLimited,
)
from backend_client.models import TokenResponse


class LoginScreen(Screen[tuple[FreshlineClient, TokenResponse]]):
    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    LoginScreen > Vertical {
        width: 60; max-width: 100%; height: auto; border: thick $accent;
        background: $surface; padding: 1 2;
    }
    LoginScreen Label { margin-top: 1; }
    LoginScreen #title { text-style: bold; margin: 0; }
    LoginScreen #why { color: $text-muted; margin-top: 1; height: auto; }
    LoginScreen #why.-empty { display: none; }
    LoginScreen #error { color: $error; margin-top: 1; height: auto; }
    LoginScreen Button { margin-top: 1; width: 100%; }
    """
    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit", id="login.quit")]

    def __init__(self, server: str = "", username: str = "", why: str = "") -> None:
        super().__init__()
        self.server, self.username, self.why = server, username, why

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Freshline · sign in", id="title")
            yield Static(self.why, id="why", classes="" if self.why else "-empty")
            yield Label("Server")
            yield Input(self.server, placeholder="http://127.0.0.1:8765", id="server")
            yield Label("User")
            yield Input(self.username, placeholder="dispatcher", id="user")
            yield Label("Password")
            yield Input(password=True, id="password")
            yield Static("", id="error")
            yield Button("Sign in", variant="primary", id="sign-in")
        yield Footer()

    def on_mount(self) -> None:
        empty = [i for i in self.query(Input) if not i.value]
        (empty[0] if empty else self.query_one("#password", Input)).focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs) and not inputs[index + 1].value:
            inputs[index + 1].focus()
        else:
            self.sign_in()

    @on(Button.Pressed, "#sign-in")
    def _pressed(self) -> None:
        self.sign_in()

    @work(group="login", exclusive=True, exit_on_error=False)
    async def sign_in(self) -> None:
        server = self.query_one("#server", Input).value.strip().rstrip("/")
        user = self.query_one("#user", Input).value.strip()
        password = self.query_one("#password", Input).value
        error = self.query_one("#error", Static)
        if not server.startswith(("http://", "https://")):
            error.update("The server is a URL: http://host:port")
            return
        if not user or not password:
            error.update("User and password, please.")
            return
        error.update("Signing in…")
        client = FreshlineClient(server)
        try:
            answer = await client.login(user, password)
        except NotAuthenticated:
            error.update("Wrong user or password.")
        except RateLimited as exc:
            error.update(f"Too many attempts: wait {exc.retry_after:.0f} s.")
        except ConnectionFailed:
            error.update(f"Cannot reach {server}.")
        except FreshlineError as exc:
            error.update(f"The server refused: {exc}")
        else:
            self.dismiss((client, answer))
            return
        await client.aclose()
        self.query_one("#password", Input).value = ""
