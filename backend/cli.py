"""The ``maskloop`` command line: the service's commands plus the learning core's."""

import getpass
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from backend.config import Settings, get_settings
from backend.db import make_engine, make_session_factory, session_scope
from backend.errors import DomainError
from backend.orm import Role
from backend.services import accounts
from backend.services import collections as collection_service
from backend.services.importer import IMAGE_SUFFIXES, image_files, import_folder

app = typer.Typer(
    help="maskloop: self-supervised annotation assistant for microscopy.", no_args_is_help=True
)
DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_NAME = "demo-nuclei"


def _session(settings: Settings):  # type: ignore[no-untyped-def]
    return session_scope(make_session_factory(make_engine(settings.database_url)))


def _migrate(settings: Settings) -> None:
    """Bring the schema up to date, nothing more: unlike ``bootstrap.prepare`` this is safe
    beside a running server (no clearing of temporary files, no requeueing of jobs)."""
    from backend.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)  # where the default SQLite file goes
    upgrade(settings.database_url)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _check_port(host: str, port: int) -> None:
    """Fail before the banner when the address is taken, not after announcing a URL that
    belongs to another program. uvicorn binds again right after; the gap is milliseconds."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        _fail(f"--host {host}: {error.strerror}; use an address such as 127.0.0.1 or 0.0.0.0")
    family, kind, proto, _name, address = addresses[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as error:
            _fail(
                f"cannot listen on {host}:{port}: {error.strerror}; another program (perhaps "
                "another maskloop) uses it: stop it or choose another port with --port"
            )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=1, max=65535)] = 8000,
) -> None:
    """Migrate the database, then serve the API and the web UI."""
    import uvicorn

    from backend.bootstrap import prepare
    from backend.main import create_app

    settings = get_settings()
    _check_port(host, port)
    how = prepare(settings, server=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.secho(f"maskloop is serving on http://{shown}:{port}/", fg=typer.colors.GREEN, bold=True)
    typer.echo(f"  {how}")
    typer.echo(
        f"  data in {settings.data_dir.resolve()}; database {settings.database_url.split('@')[-1]}"
    )
    uvicorn.run(create_app(settings, prepared=True), host=host, port=port, log_level="info")


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="run the queued jobs, then exit")] = False,
    check: Annotated[
        bool,
        typer.Option(
            help="exit 0 if a worker on this machine is polling the queue, else 1 "
            "(a container health check); starts nothing"
        ),
    ] = False,
) -> None:
    """Run background jobs (pretrain, train, predict) from the queue.

    ``serve`` starts one by itself; start more, on this or other machines that share the
    database and the data folder, with MASKLOOP_WORKER=none on the server.
    """
    import logging

    from backend.bootstrap import prepare
    from backend.jobs.queue import worker_name
    from backend.jobs.worker import run_worker, stop_on_signals

    settings = get_settings()
    if check:
        raise typer.Exit(_check_worker(settings))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    prepare(settings)
    stop_on_signals()
    run_worker(settings, worker_name(), once=once)


def _check_worker(settings: Settings) -> int:
    from backend.jobs import presence

    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as db:
            here = presence.alive_on_host(db, socket.gethostname(), settings.job_stale_seconds)
            names = [w.name for w in here]
    except SQLAlchemyError as exc:  # any way the database is out of reach is "not healthy"
        typer.echo(f"cannot read the workers table: {exc}", err=True)
        return 1
    finally:
        engine.dispose()
    if not names:
        typer.echo(
            f"no worker on {socket.gethostname()} beat in the last "
            f"{settings.job_stale_seconds:g} s",
            err=True,
        )
        return 1
    typer.echo(f"alive: {', '.join(names)}")
    return 0


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    _migrate(get_settings())
    typer.echo("database is up to date")


@app.command("create-user")
def create_user(
    username: str,
    role: Annotated[str, typer.Option(help="viewer, annotator or admin")] = "annotator",
    password: Annotated[str | None, typer.Option(help="prompted for when left out")] = None,
) -> None:
    """Create a user account."""
    from backend.schemas.accounts import UserCreate

    if role not in {r.value for r in Role}:
        _fail(f"unknown role {role!r}; use viewer, annotator or admin")
    if password is None:
        password = getpass.getpass(f"password for {username}: ")
    try:
        # The API's rules, so that every account made here can log in there.
        UserCreate(username=username, password=password, role=role)  # type: ignore[arg-type]
    except ValidationError as error:
        _fail("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in error.errors()))
    settings = get_settings()
    _migrate(settings)  # a fresh installation: the tables first
    try:
        with _session(settings) as db:
            accounts.create_user(db, username, password, Role(role))
    except DomainError as exc:
        _fail(exc.detail)
    typer.echo(f"created {role} {username!r}")


@app.command()
def token(
    username: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
) -> None:
    """Create an API token for a user and print it (it is shown only once)."""
    settings = get_settings()
    _migrate(settings)
    try:
        with _session(settings) as db:
            _row, secret = accounts.create_token(db, accounts.get_user(db, username), name)
    except DomainError as exc:
        _fail(exc.detail)
    typer.echo(secret)


@app.command("import")
def import_(
    directory: Annotated[Path, typer.Argument(help="folder of images (PNG, JPEG, TIFF)")],
    collection: Annotated[str, typer.Option(help="collection name; created when missing")],
    masks: Annotated[
        Path | None, typer.Option(help="folder of label images with the same stems")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="kind for a new collection: instance or semantic")
    ] = "instance",
    class_name: Annotated[
        list[str], typer.Option("--class", help="class name for a new collection")
    ] = [],  # noqa: B006
) -> None:
    """Import a folder of images (and optionally their masks) into a collection."""
    if not directory.is_dir():
        _fail(f"{directory} is not a folder")
    if masks is not None and not masks.is_dir():
        _fail(f"--masks {masks} is not a folder")
    if kind not in ("instance", "semantic"):
        _fail(f"unknown kind {kind!r}; use instance or semantic")
    if not image_files(directory):
        _fail(
            f"{directory} holds no images: maskloop imports "
            f"{', '.join(sorted(IMAGE_SUFFIXES))} files (it does not look into sub-folders)"
        )
    settings = get_settings()
    from backend.bootstrap import prepare

    prepare(settings)
    report = import_folder(
        settings, directory, collection, masks, kind, class_name, echo=typer.echo
    )
    typer.echo(report.summary())
    if masks is not None and report.without_mask and not report.masks and not report.failed:
        typer.secho(
            f"warning: no file in {masks} has the stem of an image (a.png takes a.png, a.tif or "
            "a.tiff from --masks), so no mask was imported",
            fg=typer.colors.YELLOW,
            err=True,
        )
    if report.failed:
        # Scripts must notice a partial import; what did arrive stays (each file is its own
        # transaction) and running the command again skips it.
        typer.secho(
            f"error: {len(report.failed)} file(s) rejected (listed above); fix them and run "
            "the same command again: what was imported is kept and skipped",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)


@app.command("load-demo")
def load_demo() -> None:
    """Create the demo collection from the bundled sample, unless it exists already."""
    settings = get_settings()
    from backend.bootstrap import prepare

    prepare(settings)
    with _session(settings) as db:
        if collection_service.get_collection_by_name(db, DEMO_NAME) is not None:
            typer.echo(f"demo collection {DEMO_NAME!r} already loaded")
            return
    report = import_folder(
        settings,
        DEMO_DIR / "images",
        DEMO_NAME,
        DEMO_DIR / "labels",
        "instance",
        ["nucleus"],
        mask_limit=8,
        echo=None,
    )
    typer.echo(f"demo collection {DEMO_NAME!r}: {report.summary()}")


def _mount_learning_commands() -> None:
    # The learning core has its own CLI (pretrain, train, predict); it never imports backend.
    from models.cli import app as models_app

    for command in models_app.registered_commands:
        app.registered_commands.append(command)


_mount_learning_commands()


def main() -> None:
    # Click ends the process itself (SystemExit) on success, usage errors and Ctrl-C; what
    # reaches the except clauses is an error raised inside a command.
    try:
        app()
    except ValidationError as error:
        if error.title != Settings.__name__:
            raise
        _settings_error(error)
    except (SQLAlchemyError, OSError) as error:
        # A database that cannot be reached or opened, a folder that cannot be written:
        # configuration, not a bug, so one line that says what to look at.
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        hint = (
            "\n  check MASKLOOP_DATABASE_URL (README, Configuration)"
            if isinstance(error, SQLAlchemyError)
            else ""
        )
        typer.secho(f"error: {first}{hint}", fg=typer.colors.RED, err=True)
        sys.exit(2)


def _settings_error(error: ValidationError) -> None:
    for problem in error.errors():
        name = "MASKLOOP_" + "_".join(str(p) for p in problem["loc"]).upper()
        message = problem["msg"].removeprefix("Value error, ")  # pydantic's wording for ValueError
        typer.secho(f"error: {name}: {message}", fg=typer.colors.RED, err=True)
    sys.exit(2)
