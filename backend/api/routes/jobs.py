import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from backend.api.deps import AdminUser, SessionDep, SettingsDep, ViewerUser
from backend.jobs import presence
from backend.orm import Job, JobStatus
from backend.schemas.loop import JobCreate, JobPublic, JobsPublic, WorkerPublic, WorkersPublic
from backend.services import collections as collection_service
from backend.services import jobs as service

router = APIRouter(tags=["jobs"])

_POLL_S = 0.5
_KEEPALIVE_S = 15.0


@router.post("/collections/{collection_id}/jobs", status_code=status.HTTP_201_CREATED)
def start_job(collection_id: int, body: JobCreate, db: SessionDep, user: AdminUser) -> JobPublic:
    collection = collection_service.get_collection(db, collection_id)
    return JobPublic.model_validate(service.start_job(db, collection, body, user))


@router.get("/collections/{collection_id}/jobs")
def list_jobs(
    collection_id: int,
    db: SessionDep,
    settings: SettingsDep,
    _user: ViewerUser,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobsPublic:
    collection_service.get_collection(db, collection_id)
    rows, total = service.list_jobs(db, collection_id, offset, limit)
    alive = len(presence.alive(db, settings.job_stale_seconds))
    return JobsPublic(
        data=[JobPublic.model_validate(j) for j in rows], count=total, workers_alive=alive
    )


@router.get("/workers")
def list_workers(db: SessionDep, settings: SettingsDep, _user: ViewerUser) -> WorkersPublic:
    """Every worker process that beat lately: alive ones, and ones that stopped beating less
    than a day ago without signing off (killed), marked ``alive: false``."""
    data = [
        WorkerPublic.model_validate(w).model_copy(
            update={"alive": presence.is_alive(w, settings.job_stale_seconds)}
        )
        for w in presence.listed(db)
    ]
    return WorkersPublic(data=data, count=len(data), alive=sum(w.alive for w in data))


@router.get("/jobs/{job_id}")
def get_job(job_id: int, db: SessionDep, _user: ViewerUser) -> JobPublic:
    return JobPublic.model_validate(service.get_job(db, job_id))


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: int, db: SessionDep, _admin: AdminUser) -> JobPublic:
    return JobPublic.model_validate(service.cancel_job(db, service.get_job(db, job_id)))


@router.get("/jobs/{job_id}/events")
def job_events(
    job_id: int, request: Request, db: SessionDep, _user: ViewerUser
) -> StreamingResponse:
    """Server-Sent Events: ``progress`` whenever the job row changes, then ``end``."""
    service.get_job(db, job_id)
    # The stream outlives this function, and the request's session (the user lookup's too)
    # would keep its pooled connection until the stream ends: a few dozen open streams would
    # exhaust the pool. Give it back now; each poll below borrows one for a moment.
    db.close()
    factory = request.app.state.session_factory

    def snapshot() -> JobPublic | None:
        with factory() as session:
            job = session.get(Job, job_id)
            return None if job is None else JobPublic.model_validate(job)

    async def stream() -> AsyncIterator[str]:
        last = ""
        idle = 0.0
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            job = await run_in_threadpool(snapshot)
            if job is None:
                yield f"event: end\ndata: {json.dumps({'id': job_id, 'status': 'deleted'})}\n\n"
                return
            payload = job.model_dump_json()
            if payload != last:
                last, idle = payload, 0.0
                yield f"event: progress\ndata: {payload}\n\n"
            if JobStatus(job.status).finished:
                yield f"event: end\ndata: {payload}\n\n"
                return
            await asyncio.sleep(_POLL_S)
            idle += _POLL_S
            if idle >= _KEEPALIVE_S:
                idle = 0.0
                yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
