"""What the one-statement save's "same text?" check costs (#35: saving the text the memory already
holds changes nothing).

PostgreSQL's hot save bumps the user's row only when no memory of that user already holds the
new text: a NOT EXISTS beside the memory switch in the lock's ON CONFLICT ... WHERE. This runs
ROUNDS rounds of SAVES saves of a new 2 KB text through AURA's own save (production settings),
the check on and off in alternating order (so the database's drift between rounds cancels),
and reports each round's p50 and p99, then the check's own execution time from EXPLAIN ANALYZE.

    .venv/bin/python bench/same_text_check.py [--users 300] [--saves 1500] [--rounds 6] [--pg URL]

The "off" variant exists only here: it rebuilds the statement without the check.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import string
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from common import BENCH, PG_ADMIN_URL, PRODUCTION_BASICS, create_database, drop_database, flask  # noqa: E402

CHECK = (
    "EXPLAIN (ANALYZE, FORMAT JSON) SELECT NOT EXISTS (SELECT user_id FROM user_memories "
    "WHERE user_id = :user_id AND content = :content)"
)


def _text() -> str:
    return "".join(random.choices(string.ascii_letters + "     ", k=2000))  # noqa: S311 - filler text


def _with_check(statements, original_lock, on: bool) -> None:
    """Build the one statement with or without the check (the real code always has it on)."""

    def lock(dialect, only_if_enabled=False, adds_revision=True, unless_same_text=False):
        return original_lock(dialect, only_if_enabled, adds_revision, unless_same_text and on)

    statements._lock_user = lock
    statements._one_statement.cache_clear()


def _summary(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 2),
    }


def run(url: str, users: int, saves: int, rounds: int) -> dict:
    os.environ.update({**PRODUCTION_BASICS, "DATABASE_URL": url})
    from aura import create_app
    from aura.extensions import db
    from aura.memory import service, statements

    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": url})
    original_lock = statements._lock_user.__wrapped__
    report: dict = {"rounds": []}
    with app.app_context():
        for user_id in range(1, users + 1):  # every user has a memory and revisions before timing
            service.save_memory(user_id, _text())
        for number in range(rounds):
            order = (True, False) if number % 2 == 0 else (False, True)
            for on in order:
                _with_check(statements, original_lock, on)
                latencies = []
                for n in range(saves):
                    content, user_id = _text(), 1 + (n * 7919) % users
                    started = time.perf_counter()
                    service.save_memory(user_id, content)
                    latencies.append(time.perf_counter() - started)
                row = {"round": number, "check": "on" if on else "off", **_summary(latencies)}
                report["rounds"].append(row)
                print(row, flush=True)
        executions = []
        with db.engine.connect() as conn:
            for n in range(200):
                plan = conn.execute(text(CHECK), {"user_id": 1 + n % users, "content": _text()}).scalar()
                executions.append(plan[0]["Execution Time"])
        db.engine.dispose()
    report["check_execution_ms_p50"] = round(statistics.median(executions), 3)
    for on in ("on", "off"):
        report[f"p50_ms_median_{on}"] = statistics.median(
            r["p50_ms"] for r in report["rounds"] if r["check"] == on
        )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=PG_ADMIN_URL)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--saves", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    url = create_database(args.pg)
    try:
        flask(url, "db", "upgrade")
        report = run(url, args.users, args.saves, args.rounds)
    finally:
        drop_database(args.pg, url)
    report.update(when=datetime.now(UTC).isoformat(), users=args.users, saves=args.saves)
    print(json.dumps({k: v for k, v in report.items() if k != "rounds"}, indent=1))
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / f"same-text-check-{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
