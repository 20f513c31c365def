"""Two AURA instances (two gunicorns) on one PostgreSQL and one Redis behave as one service."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from aura.models import MemoryRevision, UserMemory
from tests import databases
from tests.conftest import AUTH
from tests.gunicorn_server import gunicorn

pytestmark = pytest.mark.skipif(
    databases.test_backend_url() is None, reason="several instances share one PostgreSQL (CI's PG leg)"
)
REDIS = "redis://127.0.0.1:6379/14"


@pytest.fixture()
def two_instances(app, db, database_url):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS, socket_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.fail("no Redis on 127.0.0.1:6379 (.ci/run starts one)")
    shared = {"AURA_RATELIMIT_STORAGE_URI": REDIS, "AURA_RATE_LIMIT_WRITE": "10/minute"}
    with gunicorn(database_url, **shared) as first, gunicorn(database_url, **shared) as second:
        yield first, second


def test_a_write_through_one_instance_is_read_through_the_other(two_instances):
    first, second = two_instances
    user_id = random.randrange(10**6, 10**9)
    saved = httpx.post(
        f"{first}/api/v1/memory", json={"user_id": user_id, "content": "via one"}, headers=AUTH
    )
    assert saved.status_code == 200
    assert (
        httpx.get(f"{second}/api/v1/memory/{user_id}", headers=AUTH).json()["memory"]["content"] == "via one"
    )


def test_saves_raced_across_both_instances_keep_one_row_and_every_acknowledged_write(two_instances, db):
    users = [random.randrange(10**6, 10**9) for _ in range(3)]
    barrier = threading.Barrier(8)

    def save(i: int) -> tuple[int, int, str]:
        user_id, content = users[i % 3], f"writer {i}"
        with httpx.Client(base_url=two_instances[i % 2], headers=AUTH, timeout=30) as http:
            barrier.wait()
            status = http.post("/api/v1/memory", json={"user_id": user_id, "content": content}).status_code
        return user_id, status, content

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(save, range(8)))
    assert {status for _, status, _ in results} == {200}
    for user_id in users:
        assert (
            db.session.scalar(
                select(func.count()).select_from(UserMemory).where(UserMemory.user_id == user_id)
            )
            == 1
        )
        revisions = set(
            db.session.scalars(select(MemoryRevision.content).where(MemoryRevision.user_id == user_id))
        )
        assert {content for uid, _, content in results if uid == user_id} <= revisions


def test_a_users_rate_limit_holds_across_both_instances_together(two_instances):
    user_id = random.randrange(10**6, 10**9)
    codes = []
    for i in range(20):
        base = two_instances[i % 2]
        body = {"user_id": user_id, "content": f"save {i}"}
        codes.append(httpx.post(f"{base}/api/v1/memory", json=body, headers=AUTH).status_code)
    assert codes.count(200) == 10 and codes.count(429) == 10
    assert codes[:10] == [200] * 10
