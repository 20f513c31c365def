"""The memory service's guarantees, below the HTTP layer."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from aura import MIGRATIONS_DIR, create_app
from aura.extensions import db
from aura.memory import service
from aura.models import MemoryRevision, User, UserMemory
from tests.databases import fresh_database


def test_a_failure_midway_leaves_no_half_written_rows(tmp_path):
    """If the revision cannot be written, neither the user nor the memory row survives."""
    with fresh_database(tmp_path) as url:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR)
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE memory_revisions"))
            with pytest.raises(DBAPIError):
                service.save_memory(5, "never stored")
            assert db.session.scalar(select(func.count()).select_from(User)) == 0
            assert db.session.scalar(select(func.count()).select_from(UserMemory)) == 0
            db.session.remove()
            db.engine.dispose()
        app.extensions["aura_llm"].close()


def test_restore_is_itself_a_revision_and_unknown_revisions_are_refused(app, db):
    service.save_memory(1, "one")
    service.save_memory(1, "two")
    first = db.session.scalar(select(MemoryRevision).where(MemoryRevision.content == "one"))
    actor = service.Actor(label="ops@aura.example")
    assert service.restore_revision(1, first.id, actor).content == "one"
    sources = db.session.scalars(select(MemoryRevision.source).order_by(MemoryRevision.id)).all()
    assert sources == ["frontend", "frontend", "restore"]
    with pytest.raises(service.RevisionNotFound):
        service.restore_revision(2, first.id, actor)


def test_delete_keeping_history_only_removes_the_current_memory(app, db):
    service.save_memory(3, "text")
    assert service.delete_memory(3, keep_history=True) is True
    assert service.get_memory(3) is None
    assert service.list_revisions(3).total == 1
    assert service.delete_memory(3) is True  # the erasure still finds the history
    assert service.list_revisions(3).total == 0
    assert service.delete_memory(3) is False


def test_a_frontend_save_is_a_single_statement_on_postgresql(app, db):
    """The hot write path: one atomic statement on PostgreSQL, three in a transaction on SQLite."""
    writes: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "WITH", "UPDATE")):
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        saved = service.save_memory(9, "one trip")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(writes) == (1 if db.engine.dialect.name == "postgresql" else 3)
    assert service.get_memory(9) == saved
    assert [r.content for r in service.list_revisions(9).items] == ["one trip"]
