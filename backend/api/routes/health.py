from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from backend.jobs import presence

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str
    # Workers polling the queue now (beat within MASKLOOP_JOB_STALE_SECONDS). 0 is not
    # unhealthy for the API, which serves without them, but queued jobs will wait.
    workers: int


@router.get("/healthz", responses={503: {"model": Health}})
def healthz(request: Request, response: Response) -> Health:
    """Liveness of the API and its database (503 when the database does not answer), and how
    many workers are polling the queue. No login: load balancers and Docker ask it."""
    settings = request.app.state.settings
    try:
        # Reading the workers table is the database probe as well: no separate SELECT 1.
        with request.app.state.session_factory() as db:
            workers = len(presence.alive(db, settings.job_stale_seconds))
    except SQLAlchemyError as exc:
        reason = str(exc.orig if getattr(exc, "orig", None) else exc).splitlines()[0][:300]
        response.status_code = 503
        return Health(status="unavailable", database=f"{type(exc).__name__}: {reason}", workers=0)
    return Health(status="ok", database="ok", workers=workers)
