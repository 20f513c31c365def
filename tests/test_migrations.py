"""Migrations are the only source of the production schema: prove they build what the models say."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import OperationalError

from aura import MIGRATIONS_DIR, create_app
from aura.extensions import db
from aura.models import include_in_schema
from tests import databases
from tests.databases import fresh_database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from populate import FIRST_REVISION, populate_first_revision  # noqa: E402


@pytest.fixture()
def empty_app(tmp_path):
    with fresh_database(tmp_path) as url:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            yield app
            db.session.remove()  # give back the connection a test's session may hold, then close them all
            db.engine.dispose()


def schema_differences() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": include_in_schema(conn.dialect.name),
            },
        )
        return compare_metadata(context, db.metadata)


def test_upgrade_on_an_empty_database_matches_the_models(empty_app):
    assert inspect(db.engine).get_table_names() == []
    upgrade(directory=MIGRATIONS_DIR)
    assert schema_differences() == []
    tables = set(inspect(db.engine).get_table_names())
    assert {"users", "user_memories", "memory_revisions", "alembic_version"} <= tables


def test_one_memory_per_user_is_enforced_by_a_unique_index(empty_app):
    upgrade(directory=MIGRATIONS_DIR)
    indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("user_memories")}
    assert indexes["ix_user_memories_user_id"]["unique"]
    assert indexes["ix_user_memories_user_id"]["column_names"] == ["user_id"]


def test_downgrade_to_base_and_upgrade_again(empty_app):
    upgrade(directory=MIGRATIONS_DIR)
    downgrade(directory=MIGRATIONS_DIR, revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(directory=MIGRATIONS_DIR)
    assert schema_differences() == []


def test_flask_db_upgrade_cli_builds_the_schema(tmp_path):
    """The exact command operators run: `flask db upgrade`."""
    with fresh_database(tmp_path) as url:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            assert schema_differences() == []
            db.engine.dispose()


def test_upgrading_a_database_with_memories_keeps_them_at_version_1_with_memory_on(empty_app):
    """Existing rows survive and get sensible lifecycle values, and saves continue from them."""
    from sqlalchemy import text

    from aura.memory import service

    upgrade(directory=MIGRATIONS_DIR, revision="f5d161375538")  # before versions and the switch
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, created_at) VALUES (1, '2026-11-01'), (2, '2026-11-01')"))
        conn.execute(
            text(
                "INSERT INTO user_memories (user_id, content, created_at, updated_at) "
                "VALUES (1, 'old text', '2026-11-01', '2026-11-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO memory_revisions (user_id, content, source, created_at) "
                "VALUES (1, 'old text', 'frontend', '2026-11-01')"
            )
        )
    upgrade(directory=MIGRATIONS_DIR)
    # SQLite rebuilds altered tables; with cascading foreign keys that must not take the children along.
    assert service.get_memory(1).content == "old text"
    assert [r.content for r in service.list_revisions(1).items] == ["old text"]
    with db.engine.connect() as conn:
        users = conn.execute(text("SELECT id, memory_enabled, memory_version FROM users ORDER BY id")).all()
        assert [(u.id, bool(u.memory_enabled), u.memory_version) for u in users] == [
            (1, True, 1),
            (2, True, 0),
        ]
        assert conn.execute(text("SELECT version FROM user_memories")).scalar_one() == 1
    if db.engine.dialect.name == "sqlite":  # switched off while migrating, on again afterwards
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    assert [r.number for r in service.list_revisions(1).items] == [1]  # numbered in the order written
    assert service.save_memory(1, "new text").version == 2
    assert [r.number for r in service.list_revisions(1).items] == [2, 1]
    assert service.save_memory(2, "first text").version == 1
    assert schema_differences() == []


postgresql_only = pytest.mark.skipif(
    databases.test_backend_url() is None, reason="PostgreSQL index builds (CI's PG leg)"
)
POPULATED_USERS = 20_000


@pytest.fixture()
def populated(tmp_path):
    """A database at the first revision holding 20,000 users (a memory and 2 revisions each), and an app
    whose request timeout (80 ms) every big migration statement here outlasts."""
    with fresh_database(tmp_path) as url:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "AURA_DB_STATEMENT_TIMEOUT_MS": 80})
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR, revision=FIRST_REVISION)
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL statement_timeout = 0"))
                populate_first_revision(conn, users=POPULATED_USERS, revisions=2, memory_chars=400)
            yield app
            db.session.remove()
            db.engine.dispose()


def invalid_indexes() -> list[str]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                    " WHERE NOT i.indisvalid"
                )
            ).scalars()
        )


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def schema_version() -> str:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


@postgresql_only
def test_upgrading_a_populated_database_never_inherits_the_request_timeouts(populated):
    """The app's statement timeout cancelled index builds and backfills (8 s at 10,000 users)."""
    upgrade(directory=MIGRATIONS_DIR)
    assert schema_differences() == [] and invalid_indexes() == []
    with db.engine.connect() as conn:
        numbers = conn.execute(text("SELECT max(number), count(*) FROM memory_revisions")).one()
    assert tuple(numbers) == (2, 2 * POPULATED_USERS)


def cancel_mid_build(url: str, index: str, stop: threading.Event) -> list[int]:
    """Cancel the migration's CREATE INDEX CONCURRENTLY of ``index`` once it is building (its
    catalog entry exists), as an operator's Ctrl-C or a deploy timeout would; the cancelled
    backends. Cancelled before that first step commits, a build leaves nothing behind."""
    cancelled: list[int] = []
    watcher = create_engine(url, isolation_level="AUTOCOMMIT")
    query = text(
        "SELECT pg_cancel_backend(pid), pid FROM pg_stat_activity"
        " WHERE application_name = 'aura-migrations' AND query LIKE :start AND state = 'active'"
        " AND EXISTS (SELECT 1 FROM pg_class WHERE relname = :index)"
    )
    start = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index}%"
    try:
        with watcher.connect() as conn:
            while not stop.is_set() and not cancelled:
                cancelled += [pid for ok, pid in conn.execute(query, {"start": start, "index": index}) if ok]
                time.sleep(0.005)
    finally:
        watcher.dispose()
    return cancelled


@postgresql_only
def test_an_interrupted_upgrade_runs_again_and_leaves_no_invalid_index(populated):
    upgrade(directory=MIGRATIONS_DIR, revision="e4f1a7c93b28")  # everything before the index builds
    url = db.engine.url.render_as_string(hide_password=False)
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        cancelling = pool.submit(cancel_mid_build, url, "ix_user_memories_content_trgm", stop)
        with pytest.raises(OperationalError, match="canceling statement"):
            upgrade(directory=MIGRATIONS_DIR)
        stop.set()
        assert cancelling.result()
    assert invalid_indexes() == ["ix_user_memories_content_trgm"] and schema_version() == "e4f1a7c93b28"
    upgrade(directory=MIGRATIONS_DIR)  # the same command again, as an operator would
    assert invalid_indexes() == [] and schema_differences() == []
    upgrade(directory=MIGRATIONS_DIR)  # at head: nothing to do, nothing fails


@postgresql_only
def test_the_trigram_index_keeps_no_pending_list_so_no_save_waits_for_its_merge(empty_app):
    upgrade(directory=MIGRATIONS_DIR)
    with db.engine.connect() as conn:
        options = conn.execute(
            text("SELECT reloptions FROM pg_class WHERE relname = 'ix_user_memories_content_trgm'")
        ).scalar_one()
    assert options == ["fastupdate=off"]


@postgresql_only
@pytest.mark.parametrize(
    ("before", "table", "lock"),
    [
        ("760a5f0ba87d", "memory_revisions", "ACCESS SHARE"),  # revision details: ADD COLUMN
        ("5b9d0c7e2f41", "users", "ROW EXCLUSIVE"),  # conversation turns: a foreign key to users
        ("8c4e1f2a9d37", "users", "ROW EXCLUSIVE"),  # consolidation states: a foreign key to users
        ("3f7a2b8c6e15", "users", "ACCESS SHARE"),  # consolidation mode: ADD COLUMN on users
    ],
    ids=["revision-details", "conversation-turns", "consolidation-states", "consolidation-mode"],
)
def test_each_new_migration_waits_no_longer_than_the_lock_timeout_and_runs_again(
    populated, before, table, lock
):
    """A long transaction holding the table makes the migration stop (not queue every save behind
    it); the same command afterwards completes it."""
    populated.config["AURA_MIGRATION_LOCK_TIMEOUT_MS"] = 200
    upgrade(directory=MIGRATIONS_DIR, revision=before)
    with db.engine.connect() as holder:
        holder.execute(text(f"LOCK TABLE {table} IN {lock} MODE"))  # a long-running read or save
        started = time.monotonic()
        with pytest.raises(OperationalError, match="lock timeout"):
            upgrade(directory=MIGRATIONS_DIR)
        assert time.monotonic() - started < 5
        holder.rollback()
    assert schema_version() == before
    upgrade(directory=MIGRATIONS_DIR)
    assert schema_differences() == [] and schema_version() == head_revision()
