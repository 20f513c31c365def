"""`flask worker` as operators run it, in its own process, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.processes import stop_process

ROOT = Path(__file__).resolve().parent.parent


class Worker:
    def __init__(self, process: subprocess.Popen, log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no chance to finish or give anything back, as a crashed machine."""
        self.process.kill()
        self.process.wait(timeout=10)


@contextmanager
def worker(database_url: str, queue_url: str, threads: int = 8, **settings: str) -> Iterator[Worker]:
    """Start `flask worker` on the test database and queue; stop it afterwards."""
    env = {
        **os.environ,
        "AURA_ENV": "testing",
        "DATABASE_URL": database_url,
        "AURA_QUEUE_URL": queue_url,
        "AURA_AUTO_MIGRATE": "0",
        **{name: str(value) for name, value in settings.items()},
    }
    log_file = tempfile.NamedTemporaryFile(prefix="aura-worker-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "aura", "worker", "--threads", str(threads)],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    running = Worker(process, Path(log_file.name))
    try:
        deadline = time.monotonic() + 30
        while "consumer started" not in running.log():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{running.log()}")
            time.sleep(0.05)
        yield running
    finally:
        if process.poll() is None:
            stop_process(process, grace=10)
