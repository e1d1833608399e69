"""Starting, listing and cancelling jobs, with every check a client can fail up front."""

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.errors import BadInput, Conflict, NotFound
from backend.jobs.queue import DatabaseQueue
from backend.jobs.tasks.train import active_model, resolve_init
from backend.loop.data import latest_annotations
from backend.orm import Collection, Image, Job, JobKind, JobStatus, ModelVersion, User
from backend.orm._types import utcnow
from backend.schemas.loop import JobCreate
from models.networks import ENCODERS
from models.pretext import PRETEXTS

_ALLOWED = {
    "pretrain": {"minutes", "steps", "method", "lr", "encoder"},
    "train": {"minutes", "steps", "epochs", "init", "encoder", "lr", "ensemble"},
    "predict": {"model_id"},
}


def _check_params(db: Session, collection: Collection, body: JobCreate) -> dict[str, object]:
    params = body.params.model_dump(exclude_none=True)
    extra = set(params) - _ALLOWED[body.kind]
    if extra:
        raise BadInput(
            f"{body.kind} jobs do not take {', '.join(sorted(extra))}; they take "
            f"{', '.join(sorted(_ALLOWED[body.kind]))}."
        )
    if "method" in params and params["method"] not in PRETEXTS:
        raise BadInput(
            f"unknown pretext {params['method']!r}; choose one of {', '.join(sorted(PRETEXTS))}."
        )
    if "encoder" in params and params["encoder"] not in ENCODERS:
        raise BadInput(
            f"unknown encoder {params['encoder']!r}; choose one of {', '.join(sorted(ENCODERS))}."
        )
    if body.kind == "pretrain":
        has_images = db.scalar(
            select(Image.id)
            .where(Image.collection_id == collection.id, Image.holdout.is_(False))
            .limit(1)
        )
        if not has_images:
            raise BadInput("the collection has no images to pretrain on; upload images first.")
    elif body.kind == "train":
        if not latest_annotations(db, collection.id):
            raise BadInput(
                "the collection has no labeled images to train on; annotate at least one."
            )
        try:
            init = resolve_init(db, collection.id, params.get("init"))[0]  # type: ignore[arg-type]
        except ValueError as exc:
            raise BadInput(str(exc)) from exc
        if "encoder" in params and init != "scratch":
            # The network comes with the init; an encoder asked for here would be ignored.
            raise BadInput(
                f"encoder applies to training from scratch, but this training starts from "
                f"{'the SSL encoder' if init == 'ssl' else 'the active version'}, whose network "
                "it keeps; give init 'scratch', or pretrain with that encoder."
            )
    elif "model_id" in params:
        model = db.get(ModelVersion, params["model_id"])
        if model is None or model.collection_id != collection.id:
            raise BadInput(
                f"model {params['model_id']} is not a version of collection {collection.id}."
            )
    elif active_model(db, collection.id) is None:
        raise BadInput("there is no active model version to predict with; train one first.")
    return params


def start_job(db: Session, collection: Collection, body: JobCreate, user: User) -> Job:
    params = _check_params(db, collection, body)
    job = DatabaseQueue().enqueue(db, collection.id, JobKind(body.kind), params, user.id, "manual")
    if job.kind == JobKind.train.value:
        _replace_automatic_trainings(db, job, user)
    db.commit()
    return job


def _replace_automatic_trainings(db: Session, job: Job, user: User) -> None:
    """An automatic training still waiting in the queue gives way to one an admin starts.

    Both would train on the same labels (a training reads them when it starts), one after the
    other; the admin's carries the parameters they chose. Only queued ones: a running training
    is never stopped for another, and trainings admins started stay, whatever their order.
    """
    change = (
        update(Job)
        .where(
            Job.collection_id == job.collection_id,
            Job.kind == JobKind.train.value,
            Job.status == JobStatus.queued.value,
            Job.trigger != "manual",
            Job.id != job.id,
        )
        .values(
            status=JobStatus.cancelled.value,
            finished_at=utcnow(),
            eta_seconds=None,
            log_tail=Job.log_tail + f"replaced by job {job.id}, started by {user.username}\n",
        )
    )
    # Conditional on still being queued: one a worker claims meanwhile runs on.
    db.execute(change.execution_options(synchronize_session=False))


def get_job(db: Session, job_id: int) -> Job:
    job = db.get(Job, job_id)
    if job is None:
        raise NotFound(f"No job with id {job_id}.")
    return job


def list_jobs(db: Session, collection_id: int, offset: int, limit: int) -> tuple[list[Job], int]:
    query = select(Job).where(Job.collection_id == collection_id)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(db.scalars(query.order_by(Job.id.desc()).offset(offset).limit(limit))), total


def cancel_job(db: Session, job: Job) -> Job:
    """Each write is conditional on the status just read: a worker may claim the job, or a
    training register its version, between that read and this write. Losing such a race
    means reading the job again and deciding on its new status."""
    for _ in range(3):
        if JobStatus(job.status).finished:
            raise Conflict(
                f"Job {job.id} already ended ({job.status}); there is nothing to cancel."
            )
        if job.status == JobStatus.queued.value:
            change = update(Job).where(Job.id == job.id, Job.status == JobStatus.queued.value)
            change = change.values(
                status=JobStatus.cancelled.value,
                finished_at=utcnow(),
                eta_seconds=None,
                log_tail=(job.log_tail + "cancelled before it started\n")[-4000:],
            )
        else:
            # The worker sees the flag within a second and stops; a training that is past
            # its last check sees it when it registers, and registers nothing.
            change = update(Job).where(Job.id == job.id, Job.status == JobStatus.running.value)
            change = change.values(cancel_requested=True)
        won = db.execute(change.execution_options(synchronize_session=False)).rowcount
        db.commit()
        db.refresh(job)
        if won:
            return job
    raise Conflict(f"Job {job.id} changed status while being cancelled; try again.")
