"""A client trickling its request body is that client's problem: 408, never a database outage.

The database deadline used to start before the body was read: 64 clients sending a save at
1 byte/s each got "The database is unavailable" (503) and every one of them emptied the pool.
"""

from __future__ import annotations

import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import create_engine, text

from tests import databases
from tests.conftest import AUTH
from tests.gunicorn_server import gunicorn

SLOW_CLIENTS = 16
APPLICATION = "aura-slow-bodies"


def trickle_a_save(port: int, byte_gap: float) -> tuple[float, bytes]:
    """Send a save's headers at once and its body one byte at a time; return when answered."""
    body = json.dumps({"user_id": 55, "content": "arrives far too slowly"}).encode()
    head = (
        f"POST /api/v1/memory HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTH['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        sock.settimeout(byte_gap)
        answer = b""
        for byte in body:
            try:
                sock.sendall(bytes([byte]))
                answer += sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # the server answered and closed: the rest of the body is not wanted
                break
            if answer:
                break
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return time.perf_counter() - started, answer


def backend_pids(database_url: str) -> set[int]:
    direct = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with direct.connect() as conn:
            rows = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :app"), {"app": APPLICATION}
            )
            return {pid for (pid,) in rows}
    finally:
        direct.dispose()


def test_slow_bodies_get_408_while_other_requests_flow_and_the_pool_stays(app, db, database_url):
    settings = {
        "AURA_BODY_TIMEOUT": "1",
        "AURA_DB_REQUEST_TIMEOUT": "2",
        "AURA_DB_APPLICATION_NAME": APPLICATION,
    }
    on_postgresql = databases.test_backend_url() is not None and not os.environ.get("AURA_TEST_PGBOUNCER")
    with gunicorn(database_url, **settings) as url, httpx.Client(base_url=url, headers=AUTH) as http:
        port = int(url.rsplit(":", 1)[1])
        for user_id in range(1, 9):  # open a few pooled connections
            http.post("/api/v1/memory", json={"user_id": user_id, "content": "fast"}).raise_for_status()
        pids_before = backend_pids(database_url) if on_postgresql else set()
        with ThreadPoolExecutor(max_workers=SLOW_CLIENTS) as pool:
            slow = [pool.submit(trickle_a_save, port, 0.25) for _ in range(SLOW_CLIENTS)]
            time.sleep(0.3)
            started = time.perf_counter()
            fast = http.post("/api/v1/memory", json={"user_id": 6, "content": "meanwhile"})
            fast_seconds = time.perf_counter() - started
            answers = [task.result() for task in slow]
        log = url.log()
        assert fast.status_code == 200 and fast_seconds < 1.0, (fast.status_code, fast_seconds)
        for seconds, answer in answers:
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408"), answer[:300]
            assert json.loads(body)["status"] == "error" and "body" in json.loads(body)["message"]
            assert 0.9 < seconds < 4, seconds
        assert "database unavailable" not in log and "DatabaseDeadlineExceeded" not in log
        if on_postgresql:  # nothing disposed: the pool's connections are still the same ones
            assert pids_before and pids_before <= backend_pids(database_url)
        assert http.get("/api/v1/memory/55").json()["memory"] is None  # nothing half-written
