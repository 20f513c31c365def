"""Load benchmark: AURA under gunicorn vs a bare Flask+psycopg handler, driven by wrk on loopback.

Creates a throwaway PostgreSQL database, migrates and seeds it, starts both servers with the
same worker settings, and reports req/s, p50 and p99 per scenario plus AURA's throughput as a
ratio of the bare handler's (the machines are shared: ratios are what compare across runs).

    .venv/bin/python bench/run.py [--duration 10] [--repeat 3] [--connections 16] [--pg postgresql://...]

Needs wrk (`apt-get install wrk`). Results are also written to bench/results/<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BENCH,
    ROOT,
    TOKEN,
    create_database,
    drop_database,
    free_port,
    production_env,
    start,
)

USERS = 1000


def wrk(port: int, script: str, duration: int, connections: int) -> dict:
    env = {**os.environ, "AURA_BENCH_TOKEN": TOKEN, "AURA_BENCH_USERS": str(USERS)}
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(BENCH / script),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg",
        default=os.environ.get("AURA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (gthread only)")
    parser.add_argument("--worker-class", default="gevent", help="gunicorn worker class for AURA")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario; the median is reported")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")

    url = create_database(args.pg)
    processes: list[subprocess.Popen] = []
    try:
        env = production_env(
            url, args.workers, AURA_THREADS=str(args.threads), AURA_WORKER_CLASS=args.worker_class
        )
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        subprocess.run(
            [str(Path(sys.executable).parent / "flask"), "--app", "aura", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        aura_port, bare_port = free_port(), free_port()
        processes.append(
            start(
                [gunicorn, "--bind", f"127.0.0.1:{aura_port}", "wsgi:app"], env, aura_port, "/api/v1/memory/1"
            )
        )
        bare_env = {
            **env,
            "BENCH_PG_DSN": make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
        }
        processes.append(
            start(
                [gunicorn, "--bind", f"127.0.0.1:{bare_port}", "--chdir", str(BENCH), "bare_app:app"],
                bare_env,
                bare_port,
                "/api/v1/memory/1",
            )
        )

        print(f"seeding {USERS} memories ...", flush=True)
        with httpx.Client(
            base_url=f"http://127.0.0.1:{aura_port}", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as http:
            for user_id in range(1, USERS + 1):
                http.post(
                    "/api/v1/memory", json={"user_id": user_id, "content": f"Seed memory {user_id}"}
                ).raise_for_status()

        scenarios = [
            ("bare Flask+psycopg GET", bare_port, "get_memory.lua"),
            ("AURA GET memory", aura_port, "get_memory.lua"),
            ("AURA POST memory", aura_port, "post_memory.lua"),
        ]
        results = {}
        for name, port, script in scenarios:
            wrk(port, script, 2, args.connections)  # warm-up
            runs = [wrk(port, script, args.duration, args.connections) for _ in range(args.repeat)]
            # Median run by throughput: gunicorn hands keep-alive connections to workers
            # unevenly, so single runs swing up to 2x; the median is what compares.
            r = sorted(runs, key=lambda run: run["rps"])[len(runs) // 2]
            results[name] = r | {"all_rps": [run["rps"] for run in runs]}
            all_runs = ", ".join(f"{x:.0f}" for x in results[name]["all_rps"])
            print(
                f"{name:28s} {r['rps']:9.1f} req/s   p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms"
                f"   non-2xx {r['non_2xx']}   (runs: {all_runs})",
                flush=True,
            )
        ratio = results["AURA GET memory"]["rps"] / results["bare Flask+psycopg GET"]["rps"]
        print(f"AURA GET throughput = {ratio:.2f} x bare handler")
        report = {
            "when": datetime.now(UTC).isoformat(),
            "settings": vars(args) | {"pg": "(hidden)", "users": USERS},
            "results": results,
            "aura_get_vs_bare": ratio,
        }
        out = BENCH / "results"
        out.mkdir(exist_ok=True)
        (out / f"{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(json.dumps(report, indent=2))
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        drop_database(args.pg, url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
