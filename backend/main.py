"""Wires the application together: settings, database, store, routers, error handlers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from backend.api import handlers
from backend.api.limits import BodySizeLimit
from backend.api.routes import (
    annotations,
    auth,
    collections,
    health,
    images,
    jobs,
    loop,
    model_versions,
    tokens,
    users,
)
from backend.bootstrap import prepare
from backend.config import Settings, get_settings
from backend.db import make_engine, make_session_factory
from backend.jobs.embedded import EmbeddedWorker
from backend.storage import LocalBlobStore

FRONTEND_DIR = Path(__file__).resolve().parent.parent / "frontend"


def create_app(settings: Settings | None = None, *, prepared: bool = False) -> FastAPI:
    """The ASGI app. ``prepared``: the caller already ran ``backend.bootstrap.prepare`` (as
    ``maskloop serve`` does, migrating first), so start-up skips repeating it."""
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Under another ASGI server nobody migrated; run the idempotent repairs and ensure the
        # admin here (the schema itself is `maskloop migrate`'s job).
        if not prepared:
            prepare(app.state.settings, migrate=False, server=True)
        worker = EmbeddedWorker(app.state.settings)
        if app.state.settings.worker == "embedded":
            worker.start()
        try:
            yield
        finally:
            worker.stop()
            app.state.engine.dispose()

    app = FastAPI(title="maskloop", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.store = LocalBlobStore(settings.blob_dir)

    handlers.install(app)
    app.include_router(health.router)
    for module in (
        auth,
        users,
        tokens,
        collections,
        images,
        annotations,
        jobs,
        model_versions,
        loop,
    ):
        app.include_router(module.router, prefix="/api/v1")
    if (FRONTEND_DIR / "index.html").is_file():
        app.mount("/", StaticFiles(directory=FRONTEND_DIR, html=True), name="frontend")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    return app
