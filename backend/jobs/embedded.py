"""The embedded worker: one child process started and stopped with the API server."""

import logging
import os
import subprocess
import sys
import threading
import time

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.jobs.queue import DatabaseQueue, worker_name

log = logging.getLogger("maskloop")


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as MASKLOOP_* variables, so the child sees exactly what the parent uses,
    including settings made in code rather than in the environment."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"MASKLOOP_{name.upper()}"] = str(value)
    return env


class EmbeddedWorker:
    """Starts the worker process and restarts it when it dies: a worker killed by the kernel
    (out of memory) or by a crash in native code would otherwise leave every job of the
    service queued, and its running job marked running, until the server restarts."""

    def __init__(self, settings: Settings, check_every_s: float = 1.0) -> None:
        self.settings = settings
        self.check_every_s = check_every_s
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.started_at = 0.0  # when the current process was started (monotonic)
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="worker-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        env = settings_env(self.settings)
        env["MASKLOOP_WORKER_NAME_PREFIX"] = "embedded"
        # The child exits when this process is gone, however it went (SIGKILL skips stop()).
        env["MASKLOOP_WORKER_PARENT_PID"] = str(os.getpid())
        self.process = subprocess.Popen([sys.executable, "-m", "backend.jobs.worker"], env=env)
        self.started_at = time.monotonic()
        log.info("embedded worker started (pid %s)", self.process.pid)

    def _watch(self) -> None:
        backoff = 1.0
        while not self._stopping.wait(self.check_every_s):
            process = self.process
            if process is None or process.poll() is None:
                continue
            if self._stopping.is_set():
                return
            log.warning(
                "embedded worker (pid %s) exited with code %s; requeueing its jobs, restarting",
                process.pid,
                process.returncode,
            )
            self._requeue(worker_name("embedded", pid=process.pid))
            # A worker that dies at once (a broken installation) is not restarted in a loop.
            if time.monotonic() - self.started_at > 60:
                backoff = 1.0
            if self._stopping.wait(backoff):
                return
            backoff = min(60.0, backoff * 2)
            self.restarts += 1
            self._spawn()

    def _requeue(self, name: str) -> None:
        engine = make_engine(self.settings.database_url)
        try:
            with make_session_factory(engine)() as db:
                requeued = DatabaseQueue().requeue_worker(db, name)
            if requeued:
                log.warning("requeued %d job(s) of the dead worker", requeued)
        except Exception:  # the database may be what failed; the next server start requeues
            log.exception("could not requeue the dead worker's jobs")
        finally:
            engine.dispose()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
