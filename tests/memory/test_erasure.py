"""Erasure is final: a save racing a DELETE is either erased with everything else or kept whole.

The invariant checked after every race: whenever a memory exists, its newest revision is
that memory's text; and when none exists, no revision is left either.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import event, select

from aura.extensions import db as _db
from aura.memory import service
from aura.models import MemoryRevision, UserMemory
from tests.conftest import AUTH

USER = 4242


def memory_state(user_id: int) -> tuple[str | None, list[str]]:
    """(current memory text, revision texts newest first), read fresh from the database."""
    _db.session.expire_all()
    memory = _db.session.scalar(select(UserMemory.content).where(UserMemory.user_id == user_id))
    revisions = _db.session.scalars(
        select(MemoryRevision.content)
        .where(MemoryRevision.user_id == user_id)
        .order_by(MemoryRevision.id.desc())
    ).all()
    _db.session.rollback()
    return memory, list(revisions)


def assert_erasure_invariant(user_id: int) -> None:
    memory, revisions = memory_state(user_id)
    if memory is None:
        assert revisions == [], f"user {user_id}: no memory, but history survived the erasure: {revisions}"
    else:
        assert revisions and revisions[0] == memory, (
            f"user {user_id}: memory {memory!r} is not its newest revision ({revisions[:1]})"
        )


@pytest.mark.parametrize("had_memory", [False, True], ids=["first-save", "replacing-save"])
def test_a_save_landing_between_the_erasures_deletes_is_kept_whole(app, db, had_memory):
    """The reported race, forced: a save runs while the erasure sits between its two DELETEs.

    Before the fix the save committed there at once, the second DELETE took its revision and
    the memory was left in place with no history: GET and chat still served it after
    "deleted": true. Now the save must wait for the erasure to commit, then land in full.
    """
    if had_memory:
        service.save_memory(USER, "old text")
    racing_save = threading.Thread(target=lambda: _save_in_new_context(app, USER, "saved during erasure"))
    finished_inside_erasure: list[bool] = []
    erasure_thread = threading.current_thread()

    def between_the_deletes(conn, cursor, statement, *args) -> None:
        in_erasure = threading.current_thread() is erasure_thread
        if (
            in_erasure
            and statement.startswith("DELETE FROM memory_revisions")
            and not finished_inside_erasure
        ):
            racing_save.start()
            racing_save.join(timeout=1.0)  # long enough for an unblocked save to commit
            finished_inside_erasure.append(not racing_save.is_alive())

    event.listen(db.engine, "before_cursor_execute", between_the_deletes)
    try:
        deleted = service.delete_memory(USER)
    finally:
        event.remove(db.engine, "before_cursor_execute", between_the_deletes)
    racing_save.join(timeout=30)
    assert not racing_save.is_alive()

    assert_erasure_invariant(USER)
    assert memory_state(USER) == ("saved during erasure", ["saved during erasure"])
    assert finished_inside_erasure == [False], "the save was not held back until the erasure committed"
    assert deleted is had_memory


def _save_in_new_context(app, user_id: int, content: str) -> None:
    with app.app_context():
        service.save_memory(user_id, content)


ROUNDS = 30
SAVES_PER_ROUND = 3


def test_deletes_racing_saves_over_http_never_leave_a_memory_without_its_history(live_server, db):
    """Many rounds of one DELETE racing a few saves for a fresh user, all released at once."""

    def race(user_id: int) -> list[int]:
        barrier = threading.Barrier(SAVES_PER_ROUND + 1)

        def call(i: int) -> int:
            with httpx.Client(base_url=live_server.url, headers=AUTH, timeout=60) as http:
                barrier.wait()
                if i == 0:
                    return http.delete(f"/api/v1/memory/{user_id}").status_code
                return http.post(
                    "/api/v1/memory", json={"user_id": user_id, "content": f"save {i}"}
                ).status_code

        with ThreadPoolExecutor(max_workers=SAVES_PER_ROUND + 1) as pool:
            return list(pool.map(call, range(SAVES_PER_ROUND + 1)))

    for round_number in range(ROUNDS):
        user_id = 90_000 + round_number
        assert race(user_id) == [200] * (SAVES_PER_ROUND + 1)
        assert_erasure_invariant(user_id)
