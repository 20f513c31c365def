"""Concurrent writers over real HTTP: the unique constraint + upsert must hold under a race."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from aura.models import MemoryRevision, UserMemory
from tests.conftest import AUTH

WRITERS = 50


def test_fifty_simultaneous_saves_for_a_new_user_give_one_memory(live_server, db):
    barrier = threading.Barrier(WRITERS)

    def save(i: int) -> httpx.Response:
        with httpx.Client(base_url=live_server.url, headers=AUTH, timeout=60) as http:
            barrier.wait()
            return http.post("/api/v1/memory", json={"user_id": 777, "content": f"version {i}"})

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        responses = list(pool.map(save, range(WRITERS)))

    assert [r.status_code for r in responses] == [200] * WRITERS, [r.text for r in responses if r.is_error]
    db.session.expire_all()
    memories = db.session.query(UserMemory).filter_by(user_id=777).all()
    assert len(memories) == 1
    revisions = db.session.query(MemoryRevision).filter_by(user_id=777).all()
    assert sorted(r.content for r in revisions) == sorted(f"version {i}" for i in range(WRITERS))
    # The surviving memory is the last revision written: no save was lost or reordered.
    latest = max(revisions, key=lambda r: r.id)
    assert memories[0].content == latest.content
    with httpx.Client(base_url=live_server.url, headers=AUTH) as http:
        assert http.get("/api/v1/memory/777").json()["memory"]["content"] == latest.content


def test_concurrent_saves_for_different_users_do_not_interfere(live_server, db):
    users = range(1000, 1020)

    def save(user_id: int) -> int:
        with httpx.Client(base_url=live_server.url, headers=AUTH, timeout=60) as http:
            return http.post(
                "/api/v1/memory", json={"user_id": user_id, "content": f"memory of {user_id}"}
            ).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert set(pool.map(save, users)) == {200}
    rows = dict(db.session.query(UserMemory.user_id, UserMemory.content).all())
    assert rows == {u: f"memory of {u}" for u in users}
