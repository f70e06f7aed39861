"""`freshline report` against a real `freshline serve --demo`: signed in with `freshline login`'s
token, it writes the backend's Markdown, CSV and PDF for the day (the same figures as the API);
a bad day, no token or a refused role fail with a reason and a non-zero exit."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pypdf
import pytest

from tests.servers import FRESHLINE, Server, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("report-cli"), "--demo") as server:
        yield server


def freshline(home: Path, server: Server, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The installed command with its own config folder, a token file and no keyring."""
    assert FRESHLINE is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRESHLINE_")}
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        FRESHLINE_SERVER=server.base_url,
        FRESHLINE_TOKEN_FILE="true",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    return subprocess.run([FRESHLINE, *args], env=env, capture_output=True, timeout=120)


def login(home: Path, server: Server, user: str) -> None:
    done = freshline(home, server, "login", "--user", user, "--password", f"demo-{user}")
    assert done.returncode == 0, done.stderr.decode()


def test_the_report_is_the_backends_in_every_format(server: Server, tmp_path: Path) -> None:
    login(tmp_path, server, "supervisor")
    with server.client() as http:
        token = http.post(
            "/api/v1/auth/token", data={"username": "viewer", "password": "demo-viewer"}
        ).json()["access_token"]
        day = http.get("/api/v1/reports/day", headers={"Authorization": f"Bearer {token}"}).json()[
            "day"
        ]
    # The demo runs on: the day's figures move, so the files are checked against each other's
    # shape and against the API's own day and sections, not frozen numbers.
    md = freshline(tmp_path, server, "report", "--day", day)
    assert md.returncode == 0, md.stderr.decode()
    text = md.stdout.decode()
    assert text.startswith(f"# Freshline day report {day} (Asia/Shanghai), every warehouse")
    for heading in ("## KPIs per warehouse and channel", "## Riders on time", "## Claims paid"):
        assert heading in text

    out = tmp_path / "day.csv"
    written = freshline(
        tmp_path, server, "report", "--day", day, "--format", "csv", "--out", str(out)
    )
    assert written.returncode == 0, written.stderr.decode()
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert {r["day"] for r in rows} == {day}
    assert {"kpi", "claims_paid"} <= {r["section"] for r in rows}  # (others: when there is any)

    pdf = tmp_path / "day.pdf"
    written = freshline(
        tmp_path, server, "report", "--day", day, "--format", "pdf", "--out", str(pdf)
    )
    assert written.returncode == 0, written.stderr.decode()
    printed = "".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages)
    assert f"Freshline day report {day}" in printed and "Channel reconciliation" in printed


def test_bad_days_missing_tokens_and_refused_roles_fail_with_a_reason(
    server: Server, tmp_path: Path
) -> None:
    nobody = freshline(tmp_path, server, "report")
    assert nobody.returncode == 1 and b"freshline login" in nobody.stderr

    bad = freshline(tmp_path, server, "report", "--day", "22/11/2026")
    assert bad.returncode == 2 and b"YYYY-MM-DD" in bad.stderr
    login(tmp_path, server, "rider-1")
    refused = freshline(tmp_path, server, "report")
    assert refused.returncode == 1 and b"may not reports:read" in refused.stderr
    later = freshline(tmp_path, server, "report", "--day", "8999-01-01")
    assert later.returncode == 1

    login(tmp_path, server, "merchant-wh-cy")
    mine = freshline(tmp_path, server, "report", "--format", "md")
    assert mine.returncode == 0, mine.stderr.decode()
    assert b"warehouse WH-CY" in mine.stdout and b"reconciliation" not in mine.stdout
    other = freshline(tmp_path, server, "report", "--warehouse", "WH-WJ")
    assert other.returncode == 1 and b"WH-CY" in other.stderr
    with httpx.Client(base_url=server.base_url) as http:
        assert http.get("/api/v1/reports/day").status_code == 401
