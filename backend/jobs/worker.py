"""The worker: claims jobs from the queue and runs them, one at a time, in this process.

``maskloop serve`` starts one as a child process (the embedded default), so training never
slows the API; ``maskloop worker`` starts one anywhere that reaches the database and the store.
"""

import logging
import os
import signal
import threading
import time
import traceback

from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.jobs.context import JobContext
from backend.jobs.ending import finish
from backend.jobs.presence import Presence
from backend.jobs.queue import DatabaseQueue, worker_name
from backend.jobs.reporter import Reporter
from backend.jobs.tasks import predict, pretrain, train
from backend.loop import triggers
from backend.orm import Collection, Job, JobStatus
from backend.storage import LocalBlobStore

log = logging.getLogger("maskloop.worker")
TASKS = {"pretrain": pretrain.run, "train": train.run, "predict": predict.run}
_HEARTBEAT_S = 10.0


def run_job(
    settings: Settings, factory: sessionmaker[Session], store: LocalBlobStore, job: Job
) -> str:
    """Run one claimed job to its end; every way out leaves the row finished."""
    reporter = Reporter(factory, job.id)
    ctx = JobContext(settings, factory, store, DatabaseQueue(), reporter, job.worker)
    beating = threading.Event()

    def heartbeat() -> None:
        while not beating.wait(_HEARTBEAT_S):
            reporter.heartbeat()

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    try:
        reporter.log(f"started {job.kind} (attempt {job.attempts})")
        status = TASKS[job.kind](ctx, job.id)
        reporter.flush()
        error = None
        if status == "cancelled":
            reporter.log("cancelled; nothing was registered")
        elif status == "interrupted":
            # Requeued after a missed heartbeat while it ran: another run registers instead.
            log.warning("job %s was requeued while this worker ran it; dropped", job.id)
    except Exception as exc:  # a failed job is data, not a crash of the worker
        status, error = JobStatus.failed.value, f"{type(exc).__name__}: {exc}"
        log.warning("job %s failed: %s", job.id, error)
        reporter.log_lines.append(traceback.format_exc(limit=4))
        reporter.flush()
    finally:
        beating.set()
    finish(factory, job.id, job.worker, status, error)
    if job.kind == "train" and status in (JobStatus.cancelled.value, JobStatus.failed.value):
        with factory() as db:
            collection = db.get(Collection, job.collection_id)
            if collection is not None:
                triggers.after_training_ended_without_a_version(db, collection)
                db.commit()
    return status


def run_worker(
    settings: Settings,
    name: str | None = None,
    stop: threading.Event | None = None,
    poll_s: float = 0.5,
    once: bool = False,
) -> None:
    name = name or worker_name()
    stop = stop or threading.Event()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    store = LocalBlobStore(settings.blob_dir)
    queue = DatabaseQueue()
    with factory() as db:
        requeued = queue.requeue_interrupted(db, settings.job_stale_seconds)
    if requeued:
        log.warning("requeued %d interrupted jobs", requeued)
    log.info("worker %s polling for jobs", name)
    presence = Presence(factory, name).start()
    try:
        while not stop.is_set():
            with factory() as db:
                job = queue.claim(db, name)
            if job is None:
                if once:
                    return
                stop.wait(poll_s)
                continue
            log.info("job %s: %s for collection %s", job.id, job.kind, job.collection_id)
            presence.job_id = job.id
            try:
                run_job(settings, factory, store, job)
            finally:
                presence.job_id = None
    finally:
        presence.stop()
        engine.dispose()


def watch_parent(parent_pid: int, period_s: float = 1.0) -> threading.Thread:
    """Send this process SIGTERM once ``parent_pid`` is no longer its parent.

    An embedded worker whose server was killed would otherwise live on as an orphan, holding
    the database and claiming jobs for a service that is not there. Polling the parent id is
    portable, unlike Linux's PR_SET_PDEATHSIG.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(period_s)
        log.warning("parent process %d is gone; stopping", parent_pid)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def stop_on_signals(stop: threading.Event | None = None) -> None:
    """SIGTERM and SIGINT end the worker through its ``finally`` blocks (Python's default for
    SIGTERM skips them), so ``docker stop`` signs the worker off the workers table."""

    def terminate(*_: object) -> None:
        # Stop now, even mid-job: the job stays 'running' and the next start requeues it,
        # which is what a restart promises. Waiting for a 10-minute training is not.
        if stop is not None:
            stop.set()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)


def main() -> None:
    """Entry point of the embedded worker process (``python -m backend.jobs.worker``)."""
    from backend.config import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    stop = threading.Event()
    stop_on_signals(stop)
    parent = os.environ.get("MASKLOOP_WORKER_PARENT_PID")
    if parent:
        watch_parent(int(parent))
    prefix = os.environ.get("MASKLOOP_WORKER_NAME_PREFIX", "worker")
    run_worker(get_settings(), worker_name(prefix), stop)


if __name__ == "__main__":
    main()
