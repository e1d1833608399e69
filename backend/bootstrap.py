"""Start-up work shared by ``maskloop serve`` and the app's lifespan."""

import logging

from backend.blobs import sweep_orphans
from backend.config import Settings
from backend.db import make_engine, make_session_factory, session_scope
from backend.jobs.queue import DatabaseQueue
from backend.migrate import upgrade
from backend.services import accounts
from backend.storage import LocalBlobStore

log = logging.getLogger("maskloop")


def admin_password_file(settings: Settings):  # type: ignore[no-untyped-def]
    return settings.data_dir / "initial-admin-password.txt"


def prepare(settings: Settings, *, migrate: bool = True, server: bool = False) -> str:
    """Migrate, repair what a crash left behind, ensure the admin account.

    Safe beside running servers and workers (``maskloop import`` or a second worker): only
    files and jobs abandoned for longer than a grace period are touched. ``server``: a server
    is starting, so the jobs of its embedded worker, which died with the last server, are
    requeued at once.

    Returns a line telling a person how to log in.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate:
        upgrade(settings.database_url)
    store = LocalBlobStore(settings.blob_dir)
    store.clear_tmp(older_than_s=settings.orphan_grace_seconds)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as db:
            swept = sweep_orphans(db, store, settings.orphan_grace_seconds)
            if swept:
                log.warning("removed %d unreferenced blobs left by an interrupted write", swept)
            admin, generated = accounts.ensure_admin(
                db, settings.admin_username, settings.admin_password
            )
            if settings.admin_token:
                accounts.ensure_admin_token(db, admin, settings.admin_token)
            embedded = server and settings.worker == "embedded"
            requeued = DatabaseQueue().requeue_interrupted(
                db, settings.job_stale_seconds, embedded_only=embedded
            )
            if requeued:
                log.warning("requeued %d jobs interrupted by the last shutdown", requeued)
    finally:
        engine.dispose()
    path = admin_password_file(settings)
    if generated:
        path.write_text(generated + "\n")
        path.chmod(0o600)
    if settings.admin_password:
        return f"log in as {settings.admin_username!r} with the password in MASKLOOP_ADMIN_PASSWORD"
    if path.is_file():
        password = path.read_text().strip()
        return f"log in as {settings.admin_username!r} with password {password!r} (from {path})"
    return (
        f"log in as {settings.admin_username!r} "
        "(password set earlier; reset it with MASKLOOP_ADMIN_PASSWORD)"
    )
