"""The production entry point: gunicorn + wsgi.py + gunicorn.conf.py, over real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import AUTH, SERVICE_TOKEN
from tests.fake_llm import Answer

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def gunicorn_url(app, db, database_url, fake_llm):
    port = free_port()
    env = {
        **os.environ,
        "AURA_ENV": "production",
        "SECRET_KEY": "a-real-production-secret-for-this-test-only",
        "AURA_SERVICE_TOKENS": f"tests={SERVICE_TOKEN}",
        "DATABASE_URL": database_url,
        "AURA_LLM_BASE_URL": fake_llm.url,
        "AURA_LLM_MODEL": "fake-model",
        "WEB_CONCURRENCY": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
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
                httpx.get(url + "/api/v1/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(process.stderr.read().decode()) from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()


def test_gunicorn_serves_the_frontend_contract(gunicorn_url):
    saved = httpx.post(
        gunicorn_url + "/api/v1/memory", headers=AUTH, json={"user_id": 31, "content": "via gunicorn"}
    )
    assert saved.status_code == 200
    got = httpx.get(gunicorn_url + "/api/v1/memory/31", headers=AUTH).json()
    assert got["memory"]["content"] == "via gunicorn"


def test_gunicorn_streams_the_first_token_without_buffering(gunicorn_url, fake_llm):
    release = threading.Event()
    fake_llm.script(Answer(tokens=["first", " second"], hold_after_first_token=release))
    body = {"user_id": 1, "message": "Hi", "stream": True}
    with httpx.stream(
        "POST", gunicorn_url + "/api/v1/orcha/chat", json=body, headers=AUTH, timeout=15
    ) as response:
        lines = response.iter_lines()
        first = next(line for line in lines if line.startswith("data:"))
        assert not release.is_set()
        assert json.loads(first[5:]) == {"content": "first"}
        release.set()
        assert [line for line in lines if line.startswith("event:")] == ["event: token", "event: done"]
