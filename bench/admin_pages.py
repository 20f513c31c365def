"""Admin users list at scale: every kind of page (each sort, first and deepest page, id and text
searches) timed through the query function the page calls, on PostgreSQL with USERS users.

    .venv/bin/python bench/admin_pages.py [--users 1000000] [--keep] [--database NAME]

Builds a throwaway database at the head migration in SQL (a ~2 KB memory per user from a small
vocabulary, "peanut" in one memory of 2,000, "sail" in one of 1,000, "Kyoto" in one of 50, one
user in 100 without a memory), then times each
page (median and worst of --runs). --keep leaves the database for another run (--database NAME
reuses it), as a million users take several minutes to build.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from common import BENCH, PG_ADMIN_URL, PRODUCTION_BASICS, create_database, drop_database, flask  # noqa: E402

VOCABULARY = [
    *("likes", "prefers", "works", "lives", "studies", "coffee", "tea", "hiking", "chess", "python"),
    *("travel", "music", "family", "dog", "cat", "garden", "cooking", "running", "reading"),
    *("morning", "evening", "project", "deadline", "weekend", "kids"),
]
BUILD = [
    "DROP INDEX IF EXISTS ix_user_memories_content_trgm",
    "DROP INDEX IF EXISTS ix_user_memories_updated_at_user_id",
    "INSERT INTO users (id, created_at, memory_enabled, memory_version, revision_count)"
    " SELECT g, now(), true, 1, 1 FROM generate_series(1, :users) g",
    "INSERT INTO user_memories (user_id, content, version, created_at, updated_at)"
    " SELECT g, 'User ' || g || ' ' || array_to_string(ARRAY("
    "   SELECT (CAST(:words AS text[]))[1 + (g * 7 + i * i * 13) % :nwords]"
    "   FROM generate_series(1, 300) i), ' ')"
    "   || CASE WHEN g % 2000 = 1 THEN ' allergic to peanuts.' ELSE '.' END"
    "   || CASE WHEN g % 50 = 3 THEN ' planning a trip to Kyoto.' ELSE '' END"
    "   || CASE WHEN g % 1000 = 7 THEN ' learning to sail.' ELSE '' END,"
    " 1, now() - interval '1 year', now() - make_interval(secs => (g::bigint * 7919) % :users)"
    " FROM generate_series(1, :users) g WHERE g % 100 <> 0",
    "CREATE INDEX ix_user_memories_updated_at_user_id ON user_memories (updated_at, user_id)",
    "CREATE INDEX ix_user_memories_content_trgm ON user_memories USING gin (content gin_trgm_ops)"
    " WITH (fastupdate = off)",
]


def build(url: str, users: int) -> None:
    flask(url, "db", "upgrade")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    params = {"users": users, "words": VOCABULARY, "nwords": len(VOCABULARY)}
    with engine.connect() as conn:
        conn.execute(text("SET statement_timeout = 0; SET maintenance_work_mem = '512MB'"))
        for statement in BUILD:
            started = time.perf_counter()
            conn.execute(text(statement), params)
            print(f"{time.perf_counter() - started:6.1f} s  {statement[:70]}", flush=True)
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def cases(users: int, deep: int, deep_search: int) -> list[tuple[str, str, str, int]]:
    """(label, query, sort, page): ``deep`` and ``deep_search`` are the last pages lists and searches show."""
    return [
        ("no query, newest first, page 1", "", "updated_desc", 1),
        (f"no query, newest first, page {deep} (deepest)", "", "updated_desc", deep),
        (f"no query, oldest first, page {deep}", "", "updated_asc", deep),
        ("no query, by user id, page 1", "", "user_id", 1),
        (f"no query, by user id, page {deep}", "", "user_id", deep),
        ("user id search", str(users // 2 + 1), "updated_desc", 1),
        ("rare word (peanut), page 1", "peanut", "updated_desc", 1),
        ("rare word (peanut), oldest first", "peanut", "updated_asc", 1),
        ("word in 1 memory of 1,000 (sail), page 1", "sail", "updated_desc", 1),
        ("word in 1 memory of 50 (kyoto), page 1", "kyoto", "updated_desc", 1),
        (f"word in 1 memory of 50 (kyoto), page {deep_search}", "kyoto", "updated_desc", deep_search),
        ("common word (coffee), page 1", "coffee", "updated_desc", 1),
        (f"common word (coffee), page {deep_search}", "coffee", "updated_desc", deep_search),
        ("common word (coffee), by user id", "coffee", "user_id", 1),
        ("no match (zzzz)", "zzzz", "updated_desc", 1),
    ]


def measure(url: str, users: int, runs: int) -> list[dict]:
    os.environ.update(PRODUCTION_BASICS)
    from aura import create_app
    from aura.admin.queries import LIST_DEPTH, SEARCH_DEPTH, search_users
    from aura.extensions import db

    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": url})
    results = []
    with app.app_context():
        for label, query, sort, page in cases(users, LIST_DEPTH // 25, SEARCH_DEPTH // 25):
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                result = search_users(query, sort, page)
                db.session.rollback()
                times.append((time.perf_counter() - started) * 1000)
            row = {
                "page": label,
                "median_ms": round(statistics.median(times), 1),
                "worst_ms": round(max(times), 1),
                "rows": len(result.items),
            }
            results.append(row)
            print(row, flush=True)
        db.engine.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg",
        default=PG_ADMIN_URL,
    )
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database", help="reuse this database (built by an earlier --keep run)")
    parser.add_argument("--keep", action="store_true", help="leave the database for another run")
    parser.add_argument(
        "--build-only", action="store_true", help="build (and keep) the database, measure nothing"
    )
    args = parser.parse_args()
    if args.database:
        url = make_url(args.pg).set(database=args.database).render_as_string(hide_password=False)
    else:
        url = create_database(args.pg)
        build(url, args.users)
    if args.build_only:
        print(f"built: --database {make_url(url).database}")
        return 0
    try:
        results = measure(url, args.users, args.runs)
    finally:
        if not args.keep:
            drop_database(args.pg, url)
        else:
            print(f"kept: --database {make_url(url).database}")
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    report = {"when": datetime.now(UTC).isoformat(), "users": args.users, "results": results}
    (out / f"admin-pages-{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(json.dumps(report))
    print(f"\n| Page ({args.users:,} users) | Median | Worst |\n| --- | ---: | ---: |")
    for row in results:
        print(f"| {row['page']} | {row['median_ms']} ms | {row['worst_ms']} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
