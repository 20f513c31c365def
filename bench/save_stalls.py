"""One save at a time on a populated database: does any save stall behind index maintenance?

PostgreSQL's GIN indexes (the admin search's trigram index) gather new entries in a pending
list and merge it into the index once it outgrows gin_pending_list_limit: inside whichever
save crossed the limit. This runs SAVES saves one after another through AURA's own save
(production settings), with the trigram index's fastupdate on and then off, and reports
each run's p50, p99, max and how many took over 100 ms.

    .venv/bin/python bench/save_stalls.py [--users 100000] [--saves 3000] [--pg URL]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from common import (  # noqa: E402
    BENCH,
    PG_ADMIN_URL,
    PRODUCTION_BASICS,
    create_database,
    drop_database,
    flask,
    settle_database,
)
from populate import FIRST_REVISION, populate_first_revision  # noqa: E402

TRIGRAMS = "ix_user_memories_content_trgm"
WORDS = "Now prefers green tea, plans a trip to Kyoto in April, learning Japanese on weekdays. "


def timed_saves(url: str, users: int, saves: int) -> list[float]:
    os.environ.update({**PRODUCTION_BASICS, "DATABASE_URL": url})
    from aura import create_app
    from aura.extensions import db
    from aura.memory import service

    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": url})
    latencies = []
    with app.app_context():
        for n in range(saves):
            user_id = 1 + (n * 7919) % users
            started = time.perf_counter()
            service.save_memory(user_id, f"User {user_id}, save {n}. " + WORDS * 24)
            latencies.append(time.perf_counter() - started)
        db.engine.dispose()
    return latencies


def summary(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "over_100ms": sum(1 for x in ordered if x > 0.1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg",
        default=PG_ADMIN_URL,
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--saves", type=int, default=3000)
    args = parser.parse_args()
    url = create_database(args.pg)
    results = {}
    try:
        flask(url, "db", "upgrade", FIRST_REVISION)
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            populate_first_revision(conn, args.users, revisions=2)
        flask(url, "db", "upgrade", "a81c5e0f3d92")  # the trigram index as first built: fastupdate on
        settle_database(url)
        for fastupdate in ("on", "off"):
            with engine.connect() as conn:
                conn.execute(text(f"ALTER INDEX {TRIGRAMS} SET (fastupdate = {fastupdate})"))
                conn.execute(text(f"SELECT gin_clean_pending_list('{TRIGRAMS}'::regclass)"))
            results[f"fastupdate={fastupdate}"] = summary(timed_saves(url, args.users, args.saves))
            print(fastupdate, results[f"fastupdate={fastupdate}"], flush=True)
        engine.dispose()
    finally:
        drop_database(args.pg, url)
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    report = {
        "when": datetime.now(UTC).isoformat(),
        "users": args.users,
        "saves": args.saves,
        "results": results,
    }
    (out / f"save-stalls-{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
