"""Fill a database at AURA's first schema revision with many users, in SQL (not through the API).

Used by bench/migrations.py (hundreds of thousands of users) and tests/test_migrations.py (a few
tens of thousands): every migration since then must finish on such a database.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

FIRST_REVISION = "b9a02b753621"


def populate_first_revision(conn: Connection, users: int, revisions: int, memory_chars: int = 2000) -> None:
    """``users`` users, each with a memory of ~``memory_chars`` characters and ``revisions`` revisions."""
    words = "Likes strong coffee, long walks by the river, jazz records and Lisbon in spring. "
    repeat = max(1, memory_chars // len(words))
    params = {"users": users, "revisions": revisions, "repeat": repeat, "words": words}
    conn.execute(
        text(
            "INSERT INTO users (id, created_at)"
            " SELECT g, now() - interval '30 days' FROM generate_series(1, :users) g"
        ),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO user_memories (user_id, content, created_at, updated_at)"
            " SELECT g, 'User ' || g || '. ' || repeat(:words, :repeat), now() - interval '30 days',"
            " now() - make_interval(secs => g) FROM generate_series(1, :users) g"
        ),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO memory_revisions (user_id, content, source, created_at)"
            " SELECT g, 'Revision ' || r || ' of user ' || g || '. ' || repeat(:words, :repeat), 'frontend',"
            " now() - make_interval(secs => g * 10 + r)"
            " FROM generate_series(1, :users) g, generate_series(1, :revisions) r"
        ),
        params,
    )
