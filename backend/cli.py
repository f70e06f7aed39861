"""`python -m backend serve`: the backend on its own. Heavy imports happen inside the command
so `--help` answers fast. (`freshline serve` hands over to this, without importing it.)"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING, Annotated, Any

import typer

from backend.process import configure_logging, exit_when_stdin_closes

if TYPE_CHECKING:  # only named in annotations: the commands import them when they run
    from backend.db import Database
    from backend.settings import Settings

app = typer.Typer(
    name="python -m backend",
    help="The Freshline backend.",
    add_completion=False,
    no_args_is_help=True,
)


def is_loopback(host: str) -> bool:
    """True when `host` names only this machine (an address or a name resolving to loopback)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL (sqlite+aiosqlite:///file.db or postgresql+asyncpg://...).",
            envvar="FRESHLINE_DATABASE_URL",
        ),
    ] = None,
    demo: Annotated[
        bool | None,
        typer.Option(
            "--demo/--no-demo",
            help="Create the demo city and accounts (loopback only). "
            "Default: the `demo` setting (FRESHLINE_DEMO).",
            show_default=False,
        ),
    ] = None,
    ssl_certfile: Annotated[
        str | None,
        typer.Option(
            help="Serve HTTPS and wss:// with this PEM certificate chain (TLS 1.2 at least).",
            envvar="FRESHLINE_SSL_CERTFILE",
        ),
    ] = None,
    ssl_keyfile: Annotated[
        str | None,
        typer.Option(
            help="The certificate's PEM private key, unless it is in the certificate file.",
            envvar="FRESHLINE_SSL_KEYFILE",
        ),
    ] = None,
    exit_with_stdin: Annotated[
        bool, typer.Option(hidden=True, help="Shut down when stdin closes (a parent died).")
    ] = False,
) -> None:
    """Run the backend; the schema is upgraded on start."""
    import uvicorn

    from backend.app import create_app
    from backend.settings import Settings

    # Arguments beat the environment, which beats the settings file (`Settings`' sources).
    overrides: dict[str, Any] = {}
    if demo is not None:
        overrides["demo"] = demo
    if database_url:
        overrides["database_url"] = database_url
    if ssl_certfile:
        overrides["ssl_certfile"] = ssl_certfile
    if ssl_keyfile:
        overrides["ssl_keyfile"] = ssl_keyfile
    settings = Settings(**overrides)
    if settings.demo and not is_loopback(host):
        typer.echo(
            f"refusing the demo on {host}: demo accounts have known passwords; "
            "bind a loopback address such as 127.0.0.1",
            err=True,
        )
        raise typer.Exit(2)
    if settings.ssl_keyfile and not settings.ssl_certfile:
        typer.echo("--ssl-keyfile needs --ssl-certfile", err=True)
        raise typer.Exit(2)
    configure_logging(settings.log_file, log_format=settings.log_format)
    if exit_with_stdin:
        exit_when_stdin_closes()
    tls: dict[str, Any] = {}
    if settings.ssl_certfile:
        from backend.edge.tls import server_tls

        certfile, keyfile = settings.ssl_certfile, settings.ssl_keyfile
        try:  # checked now: a missing or wrong file stops the start, with its reason
            server_tls(certfile, keyfile)
        except (OSError, ValueError) as exc:
            typer.echo(f"cannot serve TLS with {certfile}: {exc}", err=True)
            raise typer.Exit(2) from None
        tls = {
            "ssl_certfile": certfile,
            "ssl_context_factory": lambda _config, _default: server_tls(certfile, keyfile),
        }
    from backend.edge.guard import ConnectionGuard, guarded_protocols

    try:
        guard = ConnectionGuard.from_settings(settings)
    except ValueError as exc:
        typer.echo(f"cannot start: {exc}", err=True)
        raise typer.Exit(2) from None
    http_protocol, ws_protocol = guarded_protocols(guard)
    if settings.metrics_port == port:
        typer.echo("metrics_port must differ from --port", err=True)
        raise typer.Exit(2)
    options: dict[str, Any] = dict(
        host=host,
        port=port,
        http=http_protocol,
        ws=ws_protocol,
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        ws_per_message_deflate=False,
        # X-Forwarded-For is believed only from `trusted_proxies`, by the app itself (none by
        # default); uvicorn's own default would believe any local peer.
        proxy_headers=False,
        **tls,
        # Our handler (file or stderr) takes uvicorn's records too; it must not install its own.
        log_config=None,
        log_level="info",
    )
    if settings.metrics_port is None:
        uvicorn.run(create_app(settings), **options)
        return
    # One server on two sockets: the API's, and the metrics' on loopback only (the app
    # answers there `/metrics` and nothing else, observability/requests.py).
    config = uvicorn.Config(create_app(settings), **options)
    metrics_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    metrics_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        metrics_socket.bind(("127.0.0.1", settings.metrics_port))
    except OSError as exc:
        typer.echo(f"cannot listen on metrics port {settings.metrics_port}: {exc}", err=True)
        raise typer.Exit(2) from None
    uvicorn.Server(config).run(sockets=[config.bind_socket(), metrics_socket])


keys_app = typer.Typer(
    name="keys",
    help="The field keys personal data is encrypted under (docs/configuration.md).",
    no_args_is_help=True,
)
app.add_typer(keys_app)


def _key_file() -> Any:
    """The settings' key file (generated for development if none is set), or exit 2 when the
    keys come from `field_keys`, which only whoever set them can change."""
    from pathlib import Path

    from backend.crypto.keys import key_source
    from backend.settings import Settings

    source = key_source(Settings())
    if source.path is None:
        typer.echo(
            "the field keys come from field_keys (FRESHLINE_FIELD_KEYS) or live in memory: "
            "add a new key there, make it current and restart; running backends then "
            "re-encrypt in the background",
            err=True,
        )
        raise typer.Exit(2)
    return Path(source.path)


@keys_app.command()
def rotate() -> None:
    """Add a new key to the key file and make it current. Running backends read the file
    again within `privacy_upkeep_seconds` and re-encrypt every value under the older keys in
    the background, reading both meanwhile; `keys status` shows how far they are."""
    from backend.crypto.keys import rotate_file

    path = _key_file()
    old, new = rotate_file(path)
    typer.echo(
        f"key {new} is current in {path} (was {old}, kept for reading). Running backends "
        "re-encrypt in the background; with none running, `keys reseal` does it now."
    )


def _keyed_database() -> tuple[Settings, Database]:
    """The settings, with their field keys installed, and their database (not started):
    what every command that reads or writes personal data opens first. A key file named but
    missing raises ValueError."""
    from backend.crypto.cipher import install
    from backend.crypto.keys import key_source
    from backend.db import Database
    from backend.settings import Settings

    settings = Settings()
    install(key_source(settings).load())
    return settings, Database(
        settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )


def _census() -> dict[str, Any]:
    """Per sealed column, how many values each key holds, with the settings' keys installed."""
    import asyncio

    from backend.privacy.upkeep import key_census

    settings, db = _keyed_database()

    async def census() -> dict[str, Any]:
        from backend.archive.keys import archived_key_census
        from backend.tiers.reads import store_for

        try:
            found: dict[str, Any] = dict(await key_census(db))
            # Archived values count too: a key retired under them would lose them.
            found.update(await archived_key_census(db, store_for(settings)))
            return found
        finally:
            await db.dispose()

    return asyncio.run(census())


@keys_app.command()
def status() -> None:
    """How many encrypted values each key holds, per column (`plain`: not encrypted yet)."""
    from backend.crypto.cipher import active

    census = _census()
    typer.echo(f"current key: {active().current}")
    for label, counts in census.items():
        shown = ", ".join(f"{kid} {n}" for kid, n in sorted(counts.items())) or "empty"
        typer.echo(f"{label}: {shown}")


@keys_app.command()
def reseal() -> None:
    """Re-encrypt every value not under the current key now (what running backends do in
    the background), batch by batch, and the archive's (docs/data-tiers.md); safe beside
    running backends."""
    import asyncio

    from backend.privacy.upkeep import reseal_all

    settings, db = _keyed_database()

    async def run() -> tuple[int, int | None]:
        from backend.archive.keys import reseal_archive
        from backend.archive.schedule import ArchiveBusy, archive_lease, archiver_for

        try:
            await db.start()
            resealed = await reseal_all(db)
            archiver = archiver_for(db, settings)
            try:
                async with archive_lease(db, archiver):
                    return resealed, await reseal_archive(db, archiver.store)
            except ArchiveBusy:
                return resealed, None
        finally:
            await db.dispose()

    resealed, archived = asyncio.run(run())
    typer.echo(f"re-encrypted {resealed} value(s)")
    if archived is None:
        typer.echo("the archive is busy (an archive run): run `keys reseal` again after it")
    else:
        typer.echo(f"re-encrypted {archived} archived value(s)")


@keys_app.command()
def retire(
    key_id: Annotated[str, typer.Argument(help="The old key's id (`keys status`).")],
) -> None:
    """Drop an old key from the key file, once no value is under it any more."""
    from backend.crypto.keys import retire_key

    path = _key_file()
    left = sum(counts.get(key_id, 0) for counts in _census().values())
    if left:
        typer.echo(f"{left} value(s) are still under {key_id}: `keys reseal` first", err=True)
        raise typer.Exit(1)
    try:
        retire_key(path, key_id)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"key {key_id} removed from {path}")


users_app = typer.Typer(
    name="users",
    help="Accounts, from the machine the backend runs on (docs/deployment.md).",
    no_args_is_help=True,
)
app.add_typer(users_app)


@users_app.command("add")
def add_user(
    username: Annotated[str, typer.Argument(help="The new account's name.")],
    role: Annotated[str, typer.Option(help="admin, supervisor, dispatcher, support, viewer.")],
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input, not a prompt.")
    ] = False,
) -> None:
    """Create an account in the configured database: how a new deployment gets its first admin
    (the API creates accounts only for an admin). Recorded as `user.created` by `system`;
    roles that need a scope (merchant, rider, channel) are created through the API."""
    import asyncio
    import sys

    from pydantic import ValidationError

    from backend.auth.passwords import Passwords
    from backend.auth.principal import system_principal
    from backend.auth.service import create_user
    from backend.clock import SystemClock
    from backend.errors import DomainError
    from backend_client.models import UserCreate

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        request = UserCreate(username=username, password=password, role=role)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        typer.echo(f"not created: {problems}", err=True)
        raise typer.Exit(2) from exc
    try:
        settings, db = _keyed_database()
    except ValueError as exc:  # a key file named but missing or unreadable
        typer.echo(f"not created: {exc}", err=True)
        raise typer.Exit(2) from exc
    passwords = Passwords(
        time_cost=settings.argon2_time_cost, memory_cost_kib=settings.argon2_memory_cost_kib
    )

    async def run() -> int:
        try:
            if settings.migrate_on_start:
                await db.migrate()
            await db.start()
            password_hash = await passwords.hash_async(request.password)
            now = SystemClock().now()

            async def job(session: Any) -> int:
                user = await create_user(
                    session,
                    request,
                    password_hash=password_hash,
                    actor=system_principal(),
                    now=now,
                )
                return user.id

            return await db.write(job)
        finally:
            await db.dispose()

    try:
        user_id = asyncio.run(run())
    except DomainError as exc:
        typer.echo(f"not created: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"user {username} ({role}) created, id {user_id}")


@app.command()
def archive(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would move and drop; change nothing.")
    ] = False,
    before: Annotated[
        str | None,
        typer.Option(
            metavar="DAY",
            help="Move only days before DAY (YYYY-MM-DD); never days inside the hot window.",
        ),
    ] = None,
) -> None:
    """Move closed orders (with their items, events, returns) and rider fixes older than
    `hot_window_hours` to Parquet partitions by day, finish a run that was stopped, and drop
    days older than `archive_retention_days` (docs/data-tiers.md). Safe to rerun, and beside
    running backends; one run at a time (exit 3 while another holds the archive)."""
    import asyncio
    from datetime import date

    from backend.app import clock_for
    from backend.archive.schedule import ArchiveBusy, archive_once

    day = None
    if before is not None:
        try:
            day = date.fromisoformat(before)
        except ValueError:
            typer.echo(f"--before {before!r} is not a day (YYYY-MM-DD)", err=True)
            raise typer.Exit(2) from None
    settings, db = _keyed_database()

    async def run() -> Any:
        try:
            await db.migrate()
            await db.start()
            return await archive_once(
                db, settings, clock_for(settings), before=day, dry_run=dry_run
            )
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    except ArchiveBusy as exc:
        typer.echo(f"not archiving: {exc}", err=True)
        raise typer.Exit(3) from None
    verb = "would move" if dry_run else "moved"
    for move in report.moved:
        counts = ", ".join(f"{name} {n}" for name, n in move.counts.items() if n)
        again = " (finishing a stopped run)" if move.resumed else ""
        typer.echo(f"{move.day} part {move.part}: {verb} {counts}{again}")
    for stale in report.stale:
        typer.echo(f"{stale}: changed while moving, left for the next run")
    for dropped in report.dropped:
        typer.echo(f"{dropped}: {'would drop' if dry_run else 'dropped'} (past retention)")
    typer.echo(
        f"{verb} {report.rows} row(s) in {len(report.moved)} day part(s); "
        f"{len(report.dropped)} day(s) {'to drop' if dry_run else 'dropped'}"
    )


model_app = typer.Typer(
    name="model",
    help="The learned ETA's models (docs/eta.md).",
    no_args_is_help=True,
)
app.add_typer(model_app)


@model_app.command("fit")
def model_fit(
    days: Annotated[
        int, typer.Option(min=1, max=365, help="Learn from the orders delivered in these days.")
    ] = 30,
) -> None:
    """Fit the ETA model on the history (orders signed in the last DAYS days and their riders'
    fixes) and write it as the next version in `eta_model_dir`; running backends use it within
    a minute. Exit 1 with too little history (fewer than `eta_min_examples`): nothing written,
    the straight line stays."""
    import asyncio

    from backend.app import clock_for
    from backend.eta.model import TooLittleHistory
    from backend.eta.service import Fitted, fit_history

    settings, db = _keyed_database()

    async def run() -> Fitted:
        try:
            await db.migrate()
            await db.start()
            return await fit_history(db, settings, days=days, now=clock_for(settings).now())
        finally:
            await db.dispose()

    try:
        fitted = asyncio.run(run())
    except TooLittleHistory as exc:
        typer.echo(f"no model written, too little history: {exc}", err=True)
        raise typer.Exit(1) from None
    meta = fitted.model.meta
    typer.echo(
        f"model version {fitted.model.version} written to {fitted.path}: "
        f"{meta['examples']} examples from {meta['days']} day(s), "
        f"fitted in {meta['fit_seconds']:.1f} s"
    )


@model_app.command("list")
def model_list() -> None:
    """The model files in `eta_model_dir`, oldest first, and whether each one loads."""
    from backend.eta.model import ModelFileError, load, versions
    from backend.eta.service import model_dir
    from backend.settings import Settings

    directory = model_dir(Settings())
    found = versions(directory)
    if not found:
        typer.echo(f"no models in {directory}: ETAs are the straight line")
        return
    for version, path in found:
        try:
            meta = load(path).meta
        except ModelFileError as exc:
            typer.echo(f"{version}: not usable ({exc})")
            continue
        typer.echo(
            f"{version}: fitted {meta.get('fitted_at')}, {meta.get('examples')} examples "
            f"from {meta.get('days')} day(s)"
        )


@app.callback()
def backend() -> None:
    """The Freshline backend: `serve` runs it; `keys` looks after the field keys; `users add`
    creates an account (a new deployment's first admin); `archive` moves old data to Parquet;
    `model fit` fits the learned ETA."""


def main() -> None:
    """`python -m backend`."""
    app()
