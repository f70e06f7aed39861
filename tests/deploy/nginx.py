"""Debian's nginx in front of test backends, running the shipped `deploy/nginx.conf`.

The template is read from the repository and its `${NAME}` placeholders filled in with free
ports and paths in a temporary folder: the config under test is the one compose runs. nginx
runs in the foreground (`daemon off;`) as the current user, with its pid, logs and buffers in
that folder; `proxying` stops it on exit whatever happened, so no nginx or port outlives a test.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import signal
import ssl
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.servers import STOP_TIMEOUT_S, free_port, poll_health

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TEMPLATE = DEPLOY / "nginx.conf"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""`${NAME}`, as envsubst (the nginx image's template step) replaces it."""


def nginx_binary() -> str:
    """Debian's nginx (in /usr/sbin, which a user's PATH may lack); missing: skip, or fail
    under CI (`make test` installs it through `make system`)."""
    found = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
    if found:
        return found
    message = "nginx is not installed (make system installs Debian's package)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def placeholders(template: str) -> set[str]:
    """The names a template expects to be given."""
    return set(PLACEHOLDER.findall(template))


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with every placeholder filled in; KeyError naming any left without a value
    (envsubst would leave it as it is, and nginx would refuse the file or misread it)."""
    missing = placeholders(template) - set(values)
    if missing:
        raise KeyError(f"no value for {sorted(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


@dataclass(frozen=True)
class Certificates:
    """A server certificate for `localhost` and 127.0.0.1, from a throwaway CA (trustme)."""

    cert: Path
    key: Path
    ca: Path

    @classmethod
    def issue(cls, folder: Path) -> Certificates:
        ca = trustme.CA()
        issued = ca.issue_cert("localhost", "127.0.0.1")
        cert, key, ca_file = folder / "proxy-cert.pem", folder / "proxy-key.pem", folder / "ca.pem"
        issued.cert_chain_pems[0].write_to_path(str(cert))
        for blob in issued.cert_chain_pems[1:]:
            blob.write_to_path(str(cert), append=True)
        issued.private_key_pem.write_to_path(str(key))
        ca.cert_pem.write_to_path(str(ca_file))
        return cls(cert, key, ca_file)

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


class Nginx:
    """`deploy/nginx.conf` rendered for `backends` (two `host:port`) on a free port, in a
    prefix folder of its own."""

    def __init__(self, folder: Path, backends: Sequence[str], tls: Certificates) -> None:
        self.prefix = folder
        self.port = free_port()
        self.tls = tls
        for name in ("logs", "run", "temp"):
            (folder / name).mkdir(parents=True, exist_ok=True)
        backend_a, backend_b = backends
        self.values = {
            "FRESHLINE_PROXY_LISTEN": f"127.0.0.1:{self.port}",
            "FRESHLINE_TLS_CERT": str(tls.cert),
            "FRESHLINE_TLS_KEY": str(tls.key),
            "FRESHLINE_BACKEND_A": backend_a,
            "FRESHLINE_BACKEND_B": backend_b,
            "NGINX_WORKER_PROCESSES": "2",
            "NGINX_RUN_DIR": str(folder / "run"),
            "NGINX_LOG_DIR": str(folder / "logs"),
            "NGINX_TEMP_DIR": str(folder / "temp"),
        }
        self.conf = folder / "nginx.conf"
        self.conf.write_text(render(TEMPLATE.read_text(), self.values))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """What clients are given: the proxy's https address (the certificate names localhost)."""
        return f"https://localhost:{self.port}"

    def command(self, *extra: str) -> list[str]:
        # `user` only matters (and is only obeyed) when started by root: the workers then run
        # as the same user, who can read the test's folders.
        foreground = f"daemon off; user {getpass.getuser()};"
        startup_log = str(self.prefix / "logs" / "startup.log")
        return [
            nginx_binary(),
            *("-p", str(self.prefix), "-c", str(self.conf), "-e", startup_log),
            *("-g", foreground, *extra),
        ]

    def check(self) -> str:
        """`nginx -t` on the rendered file: its verdict, failing the test if it refuses it."""
        done = subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stderr

    def start(self) -> None:
        with (self.prefix / "logs" / "stderr.txt").open("ab") as stderr:
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr
            )

    def wait_ready(self) -> None:
        """Poll the backends' health through the proxy until it answers 200; fail, with the
        logs, if nginx exits first or it takes longer than START_TIMEOUT_S."""
        assert self.process is not None, "nginx was never started"
        poll_health(self.process, "nginx", self.output, self.url, self.tls.context(), until_ok=True)

    def stop(self) -> None:
        """Fast shutdown (SIGTERM), SIGKILL if it hangs: the port is free afterwards."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def access_log(self) -> list[str]:
        path = self.prefix / "logs" / "access.log"
        return path.read_text().splitlines() if path.exists() else []

    def output(self) -> str:
        return "\n".join(
            f"--- nginx {path.name}\n{path.read_text(errors='replace')}"
            for path in sorted((self.prefix / "logs").glob("*"))
        )


@contextmanager
def proxying(folder: Path, backends: Sequence[str], tls: Certificates) -> Iterator[Nginx]:
    """nginx in front of `backends`, ready on entry, stopped on exit whatever happened."""
    nginx = Nginx(folder, backends, tls)
    try:
        nginx.start()
        nginx.wait_ready()
        yield nginx
    finally:
        nginx.stop()
