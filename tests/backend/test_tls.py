"""`freshline serve --ssl-certfile/--ssl-keyfile`: a real uvicorn over TLS, certificates from a
throwaway CA (trustme); the client verifies against a custom CA, and the stream runs over wss."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from backend_client import ConnectionFailed, FreshlineClient, StreamState, StreamStatus
from backend_client.models import EventMessage
from tests.servers import FRESHLINE, Server, clean_env, running
from tests.support import customer

pytestmark = pytest.mark.slow


class TlsServer:
    def __init__(self, server: Server, ca_file: Path) -> None:
        self.server = server
        self.ca_file = ca_file
        self.url = f"https://localhost:{server.port}"

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(tmp_path: Path, ca: trustme.CA) -> Iterator[TlsServer]:
    issued = ca.issue_cert("localhost", "127.0.0.1")
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    for blob in issued.cert_chain_pems:
        with cert.open("ab") as out:
            out.write(blob.bytes())
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    database = f"sqlite+aiosqlite:///{tmp_path / 'tls.db'}"
    args = ("--demo", "--database-url", database, "--ssl-certfile", str(cert))
    args += ("--ssl-keyfile", str(key))
    with running(tmp_path, *args, name="tls") as server:
        served = TlsServer(server, ca_file)
        server.wait_healthy(served.url, served.context())
        yield served


def handshake(port: int, context: ssl.SSLContext) -> str:
    """The TLS version a handshake with `context` settles on."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        version = tls.version()
        assert version is not None
        return version


async def test_the_client_verifies_against_a_custom_ca(tls_server: TlsServer) -> None:
    async with FreshlineClient(tls_server.url, ca_file=str(tls_server.ca_file)) as client:
        await client.login("dispatcher", "demo-dispatcher")
        assert (await client.me()).role == "dispatcher"
    # The same through FRESHLINE_CA_FILE, as the console, the wall and the simulator get it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FRESHLINE_CA_FILE", str(tls_server.ca_file))
        async with FreshlineClient(tls_server.url) as client:
            assert (await client.health()).time_zone


async def test_an_unknown_ca_is_refused(tls_server: TlsServer, tmp_path: Path) -> None:
    stranger = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    for ca_file in (str(stranger), None):  # another CA; the public ones
        async with FreshlineClient(tls_server.url, ca_file=ca_file, retries=0) as client:
            with pytest.raises(ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED"):
                await client.health()


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
async def test_tls_13_preferred_12_accepted_11_refused(tls_server: TlsServer) -> None:
    port = tls_server.server.port
    assert await asyncio.to_thread(handshake, port, tls_server.context()) == "TLSv1.3"
    twelve = tls_server.context()
    twelve.maximum_version = ssl.TLSVersion.TLSv1_2
    assert await asyncio.to_thread(handshake, port, twelve) == "TLSv1.2"
    eleven = tls_server.context()
    eleven.minimum_version = ssl.TLSVersion.TLSv1
    eleven.maximum_version = ssl.TLSVersion.TLSv1_1
    eleven.set_ciphers("DEFAULT:@SECLEVEL=0")  # this side would speak 1.1; the server must not
    with pytest.raises(ssl.SSLError) as refused:
        await asyncio.to_thread(handshake, port, eleven)
    # The hello went out (this side could speak 1.1) and the server refused it: by an alert, or
    # by hanging up on it.
    reasons = ("ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "UNEXPECTED_EOF_WHILE_READING")
    assert any(reason in str(refused.value) for reason in reasons), refused.value
    assert await asyncio.to_thread(handshake, port, twelve) == "TLSv1.2"


async def test_answers_over_tls_ask_for_tls_from_then_on(tls_server: TlsServer) -> None:
    async with httpx.AsyncClient(verify=tls_server.context()) as client:
        health = await client.get(f"{tls_server.url}/api/v1/health")
    assert health.headers["strict-transport-security"].startswith("max-age=")
    assert health.headers["x-content-type-options"] == "nosniff"


async def test_the_stream_over_wss(tls_server: TlsServer) -> None:
    ca_file = str(tls_server.ca_file)
    async with (
        FreshlineClient(tls_server.url, ca_file=ca_file) as watcher,
        FreshlineClient(tls_server.url, ca_file=ca_file) as channel,
    ):
        await watcher.login("dispatcher", "demo-dispatcher")
        await channel.login("channel-app", "demo-channel-app")
        stream = watcher.stream(["orders"])
        assert stream.url.startswith("wss://")
        async with stream:
            async for message in stream:
                if isinstance(message, StreamStatus) and message.state == StreamState.LIVE:
                    break
                assert not (
                    isinstance(message, StreamStatus) and message.state == StreamState.RECONNECTING
                ), message
            async with httpx.AsyncClient(
                base_url=tls_server.url, verify=tls_server.context()
            ) as http:
                created = await http.post(
                    "/api/v1/orders",
                    headers={"Authorization": f"Bearer {channel.token}"},
                    json={
                        "external_id": "EXT-TLS-1",
                        "customer": customer(),
                        "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
                    },
                )
            assert created.status_code == 201, created.text
            async for message in stream:
                if isinstance(message, EventMessage) and message.order_id == created.json()["id"]:
                    break


def freshline(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `freshline` command, with no FRESHLINE_* setting but those given."""
    assert FRESHLINE is not None
    return subprocess.run(
        [FRESHLINE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(tmp_path, FRESHLINE_CONFIG=str(tmp_path / "none.toml")),
        stdin=subprocess.DEVNULL,
    )


def test_freshline_login_verifies_against_ca_file(tls_server: TlsServer, tmp_path: Path) -> None:
    login = ("login", "--server", tls_server.url, "--user", "dispatcher")
    trusted = freshline(
        tmp_path, "--ca-file", str(tls_server.ca_file), *login, "--password", "demo-dispatcher"
    )
    # Signed in either way; whether a keyring could keep the token depends on the machine.
    assert "signed in" in trusted.stdout + trusted.stderr, trusted
    assert "cannot sign in" not in trusted.stderr
    untrusted = freshline(tmp_path, *login, "--password", "demo-dispatcher")
    assert untrusted.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr, untrusted


def test_a_bad_certificate_stops_the_start(tmp_path: Path) -> None:
    serve = ("serve", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'tls.db'}")
    missing = freshline(tmp_path, *serve, "--ssl-certfile", str(tmp_path / "missing.pem"))
    assert missing.returncode == 2
    assert "cannot serve TLS with" in missing.stderr, missing.stderr
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    broken = freshline(tmp_path, *serve, "--ssl-certfile", str(garbage))
    assert broken.returncode == 2
    assert "cannot serve TLS with" in broken.stderr, broken.stderr
    key_only = freshline(tmp_path, *serve, "--ssl-keyfile", str(garbage))
    assert key_only.returncode == 2
    assert "--ssl-keyfile needs --ssl-certfile" in key_only.stderr
