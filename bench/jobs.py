"""Background consolidation throughput: how long after their quiet period users' memories are
consolidated, with one `flask worker` at its default settings and a model that takes 3 s.

For each size (200 and 1,000 users by default): a fresh PostgreSQL database migrated with
`flask db upgrade`, jobs in Redis, the loopback model of bench/model.py answering every
request after --model-seconds, one worker process (`flask --app wsgi worker`, production
settings). Each user gets one recorded chat turn through AURA's own recording code (which
queues the job); the report gives, per user, the time from the end of the quiet period to the
consolidation revision: p50, p99 and the longest, against the goal.

    .venv/bin/python bench/jobs.py [--users 200 1000] [--model-seconds 3] [--quiet 5]

Writes bench/results/jobs-<time>.json and prints a Markdown table. docs/performance.md quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    BENCH,
    BIN,
    PG_ADMIN_URL,
    ROOT,
    create_database,
    drop_database,
    free_port,
    production_env,
    require_redis,
    upgrade_database,
)
from model import start_model  # noqa: E402

QUEUE_REDIS = os.environ.get("AURA_BENCH_QUEUE_REDIS", "redis://127.0.0.1:6379/12")
GOALS = {200: 45.0, 1000: 180.0}  # seconds after the quiet period, at most (issue #22)


def _flush_queue() -> None:
    import redis

    redis.Redis.from_url(QUEUE_REDIS).flushdb()


def _record_turns(env: dict[str, str], users: int) -> None:
    """One completed chat turn per user, through aura.conversations.record_turn (it queues the job)."""
    script = (
        "from aura import create_app\n"
        "from aura.conversations.service import record_turn\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        f"    for user_id in range(1, {users} + 1):\n"
        "        record_turn(user_id, f'I am user {user_id} and I fly kites on Sundays', 'Nice!', None)\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)


def _progress(url: str) -> tuple[int, list[float]]:
    """(users consolidated, seconds from due to revision for each of them)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT extract(epoch FROM r.created_at - s.last_due) FROM memory_revisions r "
                "JOIN (SELECT user_id, min(created_at) + make_interval(secs => :quiet) AS last_due "
                "      FROM conversation_turns GROUP BY user_id) s ON s.user_id = r.user_id "
                "WHERE r.source = 'consolidation'"
            ),
            {"quiet": QUIET},
        ).scalars()
        delays = [float(value) for value in rows]
    engine.dispose()
    return len(delays), delays


QUIET = 5


def run(users: int, model_seconds: float) -> dict:
    database = create_database(PG_ADMIN_URL)
    model_port, model = start_model(reply_delay=model_seconds)
    worker = None
    try:
        env = production_env(
            database,
            workers=1,
            port=free_port(),
            model_port=model_port,
            AURA_CONVERSATION_RECORDING="1",
            AURA_CONSOLIDATE_AFTER_SECONDS=str(QUIET),
            AURA_QUEUE_URL=QUEUE_REDIS,
            AURA_LOG_LEVEL="WARNING",
        )
        upgrade_database(env)
        _flush_queue()
        (BENCH / "results").mkdir(exist_ok=True)
        log = open(BENCH / "results" / f"worker-{users}.log", "w")  # noqa: SIM115
        worker = subprocess.Popen(
            [str(BIN / "flask"), "--app", "wsgi", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        time.sleep(3)
        started = time.monotonic()
        _record_turns(env, users)
        recorded = time.monotonic() - started
        deadline = started + QUIET + GOALS.get(users, 600) * 2
        done, delays = 0, []
        while time.monotonic() < deadline:
            done, delays = _progress(database)
            if done >= users:
                break
            time.sleep(1)
        delays.sort()
        return {
            "users": users,
            "model_seconds": model_seconds,
            "quiet_seconds": QUIET,
            "worker_threads": 32,
            "seconds_to_record": round(recorded, 1),
            "consolidated": done,
            "p50_s": round(statistics.median(delays), 1) if delays else None,
            "p99_s": round(delays[max(0, int(len(delays) * 0.99) - 1)], 1) if delays else None,
            "longest_s": round(delays[-1], 1) if delays else None,
            "goal_s": GOALS.get(users),
        }
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=90)
        model.terminate()
        drop_database(PG_ADMIN_URL, database)
        _flush_queue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--model-seconds", type=float, default=3.0)
    args = parser.parse_args()
    require_redis()
    results = []
    for users in args.users:
        result = run(users, args.model_seconds)
        print(json.dumps(result), flush=True)
        results.append(result)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    (BENCH / "results" / f"jobs-{stamp}.json").write_text(json.dumps(results, indent=2))
    print("\n| Users | Model | Consolidated | p50 after quiet | p99 | Longest | Goal |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['users']:,} | {r['model_seconds']:g} s | {r['consolidated']:,} | {r['p50_s']} s | "
            f"{r['p99_s']} s | {r['longest_s']} s | {r['goal_s']} s |"
        )


if __name__ == "__main__":
    main()
