"""The users list's queries: the order rows come in, what a search matches, and where counting stops."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from aura.admin import queries
from aura.admin.queries import search_users
from aura.memory import service
from aura.memory.service import FRONTEND
from aura.memory.settings import update_settings
from tests import databases


def ids(query: str = "", sort: str = "updated_desc", page: int = 1, per_page: int = 2) -> list[int]:
    return [row.user_id for row in search_users(query, sort, page, per_page).items]


@pytest.fixture()
def users(db):
    """Memories saved in the order 3, 1, 2 (so 2 is newest); users 4 and 5 are known without one."""
    for user_id, content in [(3, "likes tea"), (1, "room 5 by the lake"), (2, "drinks tea at 5")]:
        service.save_memory(user_id, content)
    for user_id in (5, 4):
        update_settings(user_id, enabled=True, actor=FRONTEND)


def test_newest_memories_first_then_users_without_one_by_id_across_pages(users):
    assert [ids(page=p) for p in (1, 2, 3)] == [[2, 1], [3, 4], [5]]
    assert search_users(per_page=2).total == 5


def test_oldest_memories_first_still_lists_users_without_one_last(users):
    assert ids(sort="updated_asc", per_page=10) == [3, 1, 2, 4, 5]


def test_sorted_by_user_id_mixes_users_with_and_without_a_memory(users):
    assert ids(sort="user_id", per_page=10) == [1, 2, 3, 4, 5]


def test_the_user_with_that_id_comes_first_then_memories_that_mention_it(users):
    result = search_users("5", per_page=2)
    assert (result.total, [r.user_id for r in result.items]) == (3, [5, 2])
    assert [r.user_id for r in search_users("5", page=2, per_page=2).items] == [1]
    assert result.items[0].snippet is None  # user 5 matched by id: no memory text to show
    assert result.items[1].snippet.match == "5"


def test_an_id_nobody_has_searches_the_text_only(users):
    assert ids("4", per_page=10) == [4]
    assert ids("7", per_page=10) == []


def test_a_word_in_many_memories_is_counted_up_to_the_limit_and_paged_in_order(users, monkeypatch):
    monkeypatch.setattr(queries, "MATCH_COUNT_LIMIT", 1)
    result = search_users("e", per_page=1)  # in all three memories
    assert (result.total, result.more, result.pages) == (1, True, 1)
    assert [r.user_id for r in result.items] == [2]  # the newest match, not whichever came first
    assert ids("e", sort="updated_asc", per_page=1) == [3]
    exact = search_users("lake", per_page=10)
    assert (exact.total, exact.more) == (1, False)


def test_the_page_says_when_it_stopped_counting(admin, monkeypatch):
    monkeypatch.setattr(queries, "MATCH_COUNT_LIMIT", 2)
    for user_id in range(1, 5):
        admin.post("/api/v1/memory", json={"user_id": user_id, "content": f"note {user_id}"})
    page = admin.get("/admin/users?q=note").get_data(as_text=True)
    assert "more than 2: narrow the search to see the rest" in page
    assert "more than" not in admin.get("/admin/users?q=note 3").get_data(as_text=True)


@pytest.mark.skipif(databases.test_backend_url() is None, reason="pg_trgm is PostgreSQL's")
def test_postgresql_can_answer_a_text_search_from_the_trigram_index(db):
    with db.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # a tiny table: show the index is usable
        plan = conn.execute(
            text("EXPLAIN SELECT user_id FROM user_memories WHERE content ILIKE '%peanut%'")
        ).scalars()
        assert "ix_user_memories_content_trgm" in "\n".join(plan)
