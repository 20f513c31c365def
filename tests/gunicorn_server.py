"""AURA as production runs it, for tests: gunicorn + wsgi.py + gunicorn.conf.py on a loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import SERVICE_TOKEN
from tests.processes import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent


class Gunicorn(str):
    """The base URL of a running gunicorn (use it as a string), with its master ``process`` and log."""

    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        """What gunicorn and AURA wrote so far (for assertion messages)."""
        return self.log_path.read_text(errors="replace")


@contextmanager
def gunicorn(database_url: str, **settings: str) -> Iterator[Gunicorn]:
    """Serve AURA in production mode on a free port; yields its base URL, stops it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "AURA_ENV": "production",
        "SECRET_KEY": "a-real-production-secret-for-this-test-only",
        "AURA_SERVICE_TOKENS": f"tests={SERVICE_TOKEN}",
        "DATABASE_URL": database_url,
        "WEB_CONCURRENCY": "1",
        "AURA_BIND": f"127.0.0.1:{port}",
        **settings,
    }
    log_file = tempfile.NamedTemporaryFile(prefix="aura-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = Gunicorn(f"http://127.0.0.1:{port}")
    url.process, url.log_path = process, Path(log_file.name)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(url.log()) from None
                time.sleep(0.1)
        yield url
    finally:
        stop_process(process, grace=40)
        log_file.close()
        url.log_path.unlink(missing_ok=True)
