"""Admin search at scale: the users list's text search over 100,000 users on PostgreSQL, with and
without the pg_trgm index, timed through the same query function the admin page calls.

    .venv/bin/python bench/admin_search.py [--users 100000] [--pg postgresql://...]

Seeds a throwaway database (migrated, so the index is the one production has), then times each
search (median and worst of several runs) with the index, drops it, and times them again.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import create_database, drop_database  # noqa: E402

VOCABULARY = """likes prefers works lives studies coffee tea hiking chess python travel music family
dog cat garden cooking running reading morning evening project deadline weekend kids"""
WORDS = VOCABULARY.split()
RARE = "peanut"  # in 1 memory of 2,000: the support question "who mentions X?"


def memory_text(rng: random.Random, index: int) -> str:
    words = [rng.choice(WORDS) for _ in range(300)]  # ~2 KB, like a real summary
    if index % 2000 == 0:
        words.insert(rng.randrange(len(words)), f"allergic to {RARE}s")
    return "User " + " ".join(words) + "."


def seed(url: str, users: int) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    rng = random.Random(7)  # noqa: S311 - repeatable test data, not secrets
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, created_at, memory_enabled, memory_version, revision_count) "
                "SELECT g, now(), true, 1, 0 FROM generate_series(1, :n) g"
            ),
            {"n": users},
        )
        batch = 5000
        for start in range(1, users + 1, batch):
            rows = [
                {"u": i, "c": memory_text(rng, i), "t": f"2026-11-{1 + i % 27:02d}T{i % 24:02d}:00:00Z"}
                for i in range(start, min(start + batch, users + 1))
            ]
            conn.execute(
                text(
                    "INSERT INTO user_memories (user_id, content, version, created_at, updated_at) "
                    "VALUES (:u, :c, 1, :t, :t)"
                ),
                rows,
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def time_searches(app, runs: int) -> dict[str, tuple[float, float, int]]:
    from aura.admin.queries import search_users

    cases = {"rare word": RARE, "common word": "coffee", "user id": "4242", "no query (first page)": ""}
    results = {}
    with app.app_context():
        for label, query in cases.items():
            times, total = [], 0
            for _ in range(runs):
                begun = time.perf_counter()
                total = search_users(query).total
                times.append((time.perf_counter() - begun) * 1000)
            results[label] = (statistics.median(times), max(times), total)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from aura import MIGRATIONS_DIR, create_app

    url = create_database(args.pg)
    try:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR)
        began = time.perf_counter()
        seed(url, args.users)
        print(f"seeded {args.users:,} users with ~2 KB memories in {time.perf_counter() - began:.0f} s")
        with_index = time_searches(app, args.runs)
        with app.app_context():
            from aura.extensions import db

            with db.engine.begin() as conn:
                conn.execute(text("DROP INDEX ix_user_memories_content_trgm"))
        without_index = time_searches(app, args.runs)
        print(f"\n| search ({args.users:,} users) | matches | trigram index: median / worst | no index |")
        print("|---|---|---|---|")
        for label, (median, worst, total) in with_index.items():
            bare_median, bare_worst, _ = without_index[label]
            indexed, scanned = f"{median:.1f} / {worst:.1f} ms", f"{bare_median:.1f} / {bare_worst:.1f} ms"
            print(f"| {label} | {total:,} | {indexed} | {scanned} |")
        with app.app_context():
            db.engine.dispose()
    finally:
        drop_database(args.pg, url)


if __name__ == "__main__":
    main()
