"""AURA as production runs it, for tests: gunicorn + wsgi.py + gunicorn.conf.py on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import SERVICE_TOKEN

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, **settings: str) -> Iterator[str]:
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
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(process.stderr.read().decode()) from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)
        finally:
            process.kill() if process.poll() is None else None
            process.stderr.close()
