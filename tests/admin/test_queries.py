"""The users list's queries: the order rows come in, what a search matches, and where counting stops."""

from __future__ import annotations

import functools

import pytest
from sqlalchemy import event, text

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
    monkeypatch.setattr(queries, "SEARCH_DEPTH", 1)
    result = search_users("e", per_page=1)  # in all three memories
    assert (result.total, result.more, result.pages) == (1, True, 1)
    assert [r.user_id for r in result.items] == [2]  # the newest match, not whichever came first
    assert ids("e", sort="updated_asc", per_page=1) == [3]
    exact = search_users("lake", per_page=10)
    assert (exact.total, exact.more) == (1, False)


def test_the_page_says_when_it_stopped_counting(admin, monkeypatch):
    monkeypatch.setattr(queries, "SEARCH_DEPTH", 2)
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


def test_lists_go_as_deep_as_the_limit_and_a_page_past_it_shows_the_last(users, monkeypatch):
    monkeypatch.setattr(queries, "LIST_DEPTH", 3)
    result = search_users(page=99, per_page=2)
    assert (result.page, result.total, result.more) == (2, 3, True)
    assert [r.user_id for r in result.items] == [3]  # the third newest: the list stops there
    by_id = search_users(sort="user_id", page=2, per_page=2)
    assert [r.user_id for r in by_id.items] == [3] and by_id.items[0].length == len("likes tea")


def test_past_the_exact_count_limit_the_total_is_postgresqls_estimate(users, db, monkeypatch):
    monkeypatch.setattr(queries, "EXACT_COUNT_LIMIT", 2)
    result = search_users(per_page=10)
    if db.engine.dialect.name == "postgresql":
        assert result.about is not None and result.about >= 3  # at least what was counted
    else:
        assert result.about is None and result.total == 5  # SQLite (development): counted exactly


PLAN_USERS = 30_000
PAGES = [  # (query, sort, page): every kind of page the list shows, at its deepest
    ("", "updated_desc", 1),
    ("", "updated_desc", 40),
    ("", "updated_asc", 40),
    ("", "user_id", 40),
    ("15000", "updated_desc", 1),
    ("nights", "updated_desc", 20),
    ("nights", "user_id", 1),
    ("User 2999", "updated_asc", 1),
    ("zzzz", "updated_desc", 1),
]


def fill(db, users: int) -> None:
    """``users`` users with a ~1 KB memory each (one in 100 without), analysed."""
    words = "likes coffee and long walks, works nights, allergic to nothing much "
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        conn.execute(
            text(
                "INSERT INTO users (id, created_at, memory_enabled, memory_version, revision_count)"
                " SELECT g, now(), true, 1, 1 FROM generate_series(1, :n) g"
            ),
            {"n": users},
        )
        conn.execute(
            text(
                "INSERT INTO user_memories (user_id, content, version, created_at, updated_at)"
                " SELECT g, 'User ' || g || ' ' || repeat(:words, 15), 1, now(),"
                " now() - make_interval(secs => g) FROM generate_series(1, :n) g WHERE g % 100 <> 0"
            ),
            {"n": users, "words": words},
        )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def selects_sent_by(db, call) -> list[tuple[str, dict]]:
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    return statements


@pytest.mark.skipif(databases.test_backend_url() is None, reason="PostgreSQL's plans")
def test_no_page_reads_every_memory(db):
    """No sequential scan of the memories and no hash join over them, for any kind of page: the
    plans that took seconds at a million users (30,000 here: enough for the planner to show them)."""
    fill(db, PLAN_USERS)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SET jit = off")
        for query, sort, page in PAGES:
            statements = selects_sent_by(db, functools.partial(search_users, query, sort, page))
            db.session.rollback()
            assert statements, (query, sort, page)
            for statement, parameters in statements:
                plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
                assert "Seq Scan on user_memories" not in plan and "Hash Join" not in plan, (
                    query,
                    sort,
                    plan,
                )


def test_past_the_walk_budget_a_frequent_word_is_paged_from_a_sample_and_says_so(users, monkeypatch):
    monkeypatch.setattr(queries, "WALK_BUDGET", 1)  # only the newest memory (user 2's) is walked
    monkeypatch.setattr(queries, "SEARCH_DEPTH", 1)
    result = search_users("tea", per_page=10)  # users 2 and 3
    assert (result.total, result.more, len(result.items)) == (1, True, 1)
    assert result.items[0].user_id in {2, 3} and result.items[0].snippet.match == "tea"
