"""Throwaway databases for tests: a temp SQLite file, or a fresh PostgreSQL database.

AURA_TEST_DATABASE_URL picks the backend (any PostgreSQL URL the tests may create databases
through); without it tests use SQLite. CI runs the whole suite once per backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from aura.config import normalize_database_url


def test_backend_url() -> str | None:
    raw = os.environ.get("AURA_TEST_DATABASE_URL")
    return normalize_database_url(raw) if raw else None


@contextmanager
def fresh_database(tmp_dir: Path) -> Iterator[str]:
    """Yield the URL of a new, empty database and drop it afterwards."""
    base = test_backend_url()
    if base is None:
        yield f"sqlite:///{tmp_dir / f'aura-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"aura_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
