"""The embedded worker: one child process started and stopped with the API server."""

import logging
import os
import subprocess
import sys

from backend.config import Settings

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
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = settings_env(self.settings)
        env["MASKLOOP_WORKER_NAME_PREFIX"] = "embedded"
        # The child exits when this process is gone, however it went (SIGKILL skips stop()).
        env["MASKLOOP_WORKER_PARENT_PID"] = str(os.getpid())
        self.process = subprocess.Popen([sys.executable, "-m", "backend.jobs.worker"], env=env)
        log.info("embedded worker started (pid %s)", self.process.pid)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
