"""Migrations are the only source of the production schema: prove they build what the models say."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from aura import MIGRATIONS_DIR, create_app
from aura.extensions import db
from tests.databases import fresh_database


@pytest.fixture()
def empty_app(tmp_path):
    with fresh_database(tmp_path) as url:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            yield app
            db.engine.dispose()


def schema_differences() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
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
