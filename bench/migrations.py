"""Migrations and maintenance at scale: each migration's time and how long it holds writes up,
and a save's latency while `flask memory prune` runs, on a populated database.

Builds a throwaway PostgreSQL database at AURA's first revision, fills it in SQL (bench/populate.py:
USERS users, each a ~2 KB memory and REVISIONS revisions), then runs `flask db upgrade <next>` one
revision at a time exactly as operators run it, with production's request settings, while a
writer keeps locking a random user's row and updating their memory, as a save does. Reports
each step's seconds, its seconds per million users (scaled linearly from this run), and the
longest the writer waited meanwhile. Then the writer's p99 for 10 s at rest and while
`flask memory prune --keep 2` removes all but two revisions of every user. DEPLOY.md
("Migrations at scale") quotes it.

    .venv/bin/python bench/migrations.py [--users 200000] [--revisions 5] [--pg URL]

Writes bench/results/migrations-<time>.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    BENCH,
    PG_ADMIN_URL,
    ROOT,
    create_database,
    drop_database,
    flask,
    settle_database,
)
from populate import FIRST_REVISION, populate_first_revision  # noqa: E402


def revisions_after_first() -> list[tuple[str, str]]:
    """(revision, its title) from the first one's successor to head, in order."""
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    scripts = ScriptDirectory.from_config(config)
    ordered = list(reversed(list(scripts.walk_revisions())))
    return [(s.revision, (s.doc or "").splitlines()[0]) for s in ordered if s.revision != FIRST_REVISION]


class Writer(threading.Thread):
    """Locks a random user's row and updates their memory, over and over: a save's locks."""

    def __init__(self, url: str, users: int) -> None:
        super().__init__(daemon=True)
        self.engine = create_engine(url, pool_size=1)
        self.users = users
        self.longest = 0.0
        self.latencies: list[float] = []
        self.writes = 0
        self.failures: list[str] = []
        self.stop = threading.Event()

    def take_longest(self) -> float:
        longest, self.longest = self.longest, 0.0
        return longest

    def take_p99(self) -> float:
        latencies, self.latencies = sorted(self.latencies), []
        return latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")

    def run(self) -> None:
        while not self.stop.is_set():
            user_id = random.randint(1, self.users)  # noqa: S311 - a load pattern, not a secret
            started = time.perf_counter()
            try:
                with self.engine.begin() as conn:
                    conn.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": user_id})
                    conn.execute(
                        text("UPDATE user_memories SET updated_at = now() WHERE user_id = :id"),
                        {"id": user_id},
                    )
            except Exception as error:  # noqa: BLE001 - a failed write still waited that long
                self.failures.append(f"{error.__class__.__name__}: {str(error).splitlines()[0]}")
            self.latencies.append(time.perf_counter() - started)
            self.longest = max(self.longest, self.latencies[-1])
            self.writes += 1
            time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg",
        default=PG_ADMIN_URL,
    )
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--revisions", type=int, default=5)
    parser.add_argument("--prune-duty", default="0.5", help="flask memory prune --duty")
    args = parser.parse_args()

    url = create_database(args.pg)
    try:
        flask(url, "db", "upgrade", FIRST_REVISION)
        engine = create_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            populate_first_revision(conn, args.users, args.revisions)
        engine.dispose()
        settle_database(url)
        print(f"populated {args.users:,} users in {time.perf_counter() - started:.0f} s", flush=True)
        writer = Writer(url, args.users)
        writer.start()
        steps = []
        for revision, title in revisions_after_first():
            writer.take_longest()
            seconds = flask(url, "db", "upgrade", revision)
            step = {
                "revision": revision,
                "title": title,
                "seconds": round(seconds, 1),
                "seconds_per_million_users": round(seconds * 1_000_000 / args.users),
                "longest_write_wait_s": round(writer.take_longest(), 2),
                "failed_writes": len(writer.failures),
            }
            writer.failures.clear()
            steps.append(step)
            print(step, flush=True)
        writer.take_p99()
        time.sleep(10)
        at_rest = writer.take_p99()
        prune_seconds = flask(
            url, "memory", "prune", "--keep", "2", "--audit-days", "0", "--duty", args.prune_duty
        )
        prune = {
            "duty": args.prune_duty,
            "seconds": round(prune_seconds, 1),
            "write_p99_at_rest_ms": round(at_rest * 1000, 1),
            "write_p99_during_ms": round(writer.take_p99() * 1000, 1),
            "longest_write_wait_s": round(writer.take_longest(), 2),
        }
        print(prune, flush=True)
        writer.stop.set()
        writer.join(timeout=10)
    finally:
        drop_database(args.pg, url)
    report = {"when": datetime.now(UTC).isoformat(), "users": args.users, "revisions": args.revisions}
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / f"migrations-{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(
        json.dumps(report | {"steps": steps})
    )
    print(f"\n{args.users:,} users, {args.revisions} revisions each, ~2 KB memories\n")
    print("| Migration | Seconds | Per million users | Longest write wait |")
    print("| --- | ---: | ---: | ---: |")
    for s in steps:
        print(
            f"| `{s['revision']}` {s['title']} | {s['seconds']} | {s['seconds_per_million_users']:,} s "
            f"| {s['longest_write_wait_s']} s |"
        )
    print(
        f"\nprune --keep 2 ({args.revisions - 2} revisions of each user): {prune['seconds']} s; "
        f"a write's p99 {prune['write_p99_at_rest_ms']} ms at rest, "
        f"{prune['write_p99_during_ms']} ms meanwhile"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
