"""Hot-path benchmark: AURA beside the design it replaces and a bare Flask handler, in one run.

Systems, each with 2 worker processes on the same PostgreSQL server and the same load (wrk on
loopback, USERS users with ~2 KB memories):

- seed:        ../shared/reference/seed_fastapi.py, FastAPI + uvicorn as its README runs it;
- ceiling:     ../shared/reference/ceiling_flask.py, bare Flask + psycopg pool, gunicorn sync
               workers (GET only: the practical ceiling for a Flask read);
- aura:        AURA as production runs it: gunicorn with gunicorn.conf.py, PostgreSQL;
- aura-sqlite: the same AURA on its zero-set-up SQLite file;
- floor:       bench/relay_floor.py, bare Flask relaying a chat message to the model, gunicorn
               sync workers (chat only: what any Flask app adds to the model's latency here).

Scenarios: GET one memory, POST (save ~2 KB), a 90/10 GET/POST mix, and a whole chat reply
from a loopback model that answers in 50 ms (AURA and the floor; the model alone is measured
too, so each one's overhead is the difference), through AURA's own chat route and (openai)
through its OpenAI-compatible /v1/chat/completions, and (mcp) the GET's read as an MCP tool call
(get_memory over POST /mcp). Every scenario runs --repeat times; the median
run by throughput is reported. Machines are shared, so compare ratios from one run, not absolutes.

    scripts/bench                      # installs requirements-bench.txt and wrk, then runs this
    .venv/bin/python bench/run.py [--duration 8] [--warmup 6] [--repeat 3] [--connections 32]
                                  [--systems seed ceiling aura aura-sqlite floor] [--reference DIR]

Writes bench/results/<time>.json, .md (the table) and .png (the chart).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # aura's models, for seeding

from common import (  # noqa: E402
    BENCH,
    BIN,
    PG_ADMIN_URL,
    ROOT,
    TOKEN,
    create_database,
    drop_database,
    free_port,
    production_env,
    require_redis,
    settle_database,
    start,
    start_aura,
    upgrade_database,
)
from model import start_model  # noqa: E402

USERS = 2000
CONTENT_BYTES = 2000
MODEL_DELAY_S = 0.05
SCRIPTS = {
    "get": "get_memory.lua",
    "post": "post_memory.lua",
    "mix": "mix.lua",
    "chat": "chat.lua",
    "openai": "openai_chat.lua",
    "mcp": "mcp_get_memory.lua",
}
CHAT_SCENARIOS = ("chat", "openai")
LABELS = {
    "seed": "original design (FastAPI + uvicorn)",
    "ceiling": "bare Flask handler (gunicorn sync)",
    "aura": "AURA, PostgreSQL",
    "aura-sqlite": "AURA, SQLite",
    "floor": "bare Flask relay to the model (gunicorn sync)",
    "model": "the loopback model alone",
}


def memory_text(user_id: int) -> str:
    filler = ("likes tea, hiking and short answers; " * (CONTENT_BYTES // 37 + 1))[:CONTENT_BYTES]
    return f"User {user_id} {filler}"


def wrk(port: int, scenario: str, duration: int, connections: int, **env: str) -> dict:
    """One wrk run; req/s, p50/p99 in ms and the count of non-2xx answers."""
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",  # wrk needs a connection per thread
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(BENCH / SCRIPTS[scenario]),
        ]
        + [f"http://127.0.0.1:{port}"],
        env={
            **os.environ,
            "AURA_BENCH_USERS": str(USERS),
            "AURA_BENCH_CONTENT_BYTES": str(CONTENT_BYTES),
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
    }


@dataclass
class Bench:
    args: argparse.Namespace
    results: dict = field(default_factory=dict)  # system -> scenario -> median run

    def measure(self, system: str, port: int, scenarios: list[str], **env: str) -> None:
        for scenario in scenarios:
            connections = self.args.chat_connections if scenario in CHAT_SCENARIOS else self.args.connections
            # Warm-up, not counted: pools, database backends, prepared statements, caches. After
            # 2 s of it, back-to-back 5 s runs of AURA's GET went 683, 812, 767, 773, 925 req/s.
            wrk(port, scenario, self.args.warmup, connections, **env)
            runs = [
                wrk(port, scenario, self.args.duration, connections, **env) for _ in range(self.args.repeat)
            ]
            # The median run by throughput: gunicorn hands keep-alive connections to workers
            # unevenly, so single runs swing; the median is what compares.
            median = sorted(runs, key=lambda run: run["rps"])[len(runs) // 2]
            # Every run's p99 beside it: on one 2-core box the database's backends queue behind
            # the busy workers and the load generator now and then (their run-queue wait went from
            # ~0.1 s to ~1 s per 6 s run in the runs with a long tail), and one such run is not
            # the server's tail; the runs side by side tell which it is.
            median = median | {"all_rps": [r["rps"] for r in runs], "all_p99_ms": [r["p99_ms"] for r in runs]}
            self.results.setdefault(system, {})[scenario] = median
            print(
                f"{LABELS[system]:40s} {scenario:5s} {median['rps']:8.0f} req/s"
                f"  p50 {median['p50_ms']:7.1f} ms"
                f"  p99 {median['p99_ms']:7.1f} ms  non-2xx {median['non_2xx']}"
                f"  (runs: {', '.join(f'{r:.0f}' for r in median['all_rps'])} req/s;"
                f" p99 {', '.join(f'{r:.1f}' for r in median['all_p99_ms'])} ms)",
                flush=True,
            )


def seed_aura(url: str) -> None:
    """USERS users, each with one ~2 KB memory and its first revision, as a save would leave them."""
    from aura.models import MemoryRevision, User, UserMemory

    now = datetime.now(UTC)
    engine = create_engine(url)
    with engine.begin() as conn:
        ids = range(1, USERS + 1)
        conn.execute(
            insert(User),
            [
                {"id": i, "created_at": now, "memory_enabled": True, "memory_version": 1, "revision_count": 1}
                for i in ids
            ],
        )
        memories = [
            {"user_id": i, "content": memory_text(i), "created_at": now, "updated_at": now} for i in ids
        ]
        conn.execute(insert(UserMemory), [m | {"version": 1} for m in memories])
        conn.execute(
            insert(MemoryRevision),
            [
                {"user_id": m["user_id"], "content": m["content"], "number": 1, "source": "frontend"}
                for m in memories
            ],
        )
    engine.dispose()


def run_aura(
    bench: Bench, system: str, url: str, model_port: int, then: Callable[[], None] | None = None
) -> None:
    """AURA as production runs it: gunicorn with gunicorn.conf.py, limits raised out of the way."""
    port = free_port()
    env = production_env(url, bench.args.workers, port, model_port)
    upgrade_database(env)
    seed_aura(url)
    settle_database(url)
    server = start_aura(env, port, "/api/v1/memory/1")
    try:
        bench.measure(system, port, ["get", "post", "mix", "chat", "openai", "mcp"], AURA_BENCH_TOKEN=TOKEN)
    finally:
        server.terminate()
        server.wait(timeout=60)
    if then:
        then()


def run_bare_flask(
    bench: Bench, system: str, app: str, app_dir: Path, env: dict[str, str], scenarios: list[str]
) -> None:
    """A bare Flask reference under gunicorn's default sync workers, as many as AURA's."""
    port = free_port()
    server = start(
        [str(BIN / "gunicorn"), "-w", str(bench.args.workers), "-b", f"127.0.0.1:{port}"]
        + ["--chdir", str(app_dir), app],
        {**os.environ, **env},
        port,
        "/",
    )
    try:
        bench.measure(system, port, scenarios)
    finally:
        server.terminate()
        server.wait(timeout=60)


def run_ceiling(bench: Bench, url: str) -> None:
    """The bare handler reads the same user_memories table AURA just served (and wrote to)."""
    settle_database(url)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    run_bare_flask(bench, "ceiling", "ceiling_flask:app", bench.args.reference, {"CEIL_PG_DSN": dsn}, ["get"])


def run_seed(bench: Bench, url: str) -> None:
    """The original design, run as its README says, seeded through its own POST."""
    port = free_port()
    env = {**os.environ, "REF_DATABASE_URL": url}
    reference = str(bench.args.reference)
    # It creates its tables on import; once here, so two workers do not race to create them.
    subprocess.run([sys.executable, "-c", "import seed_fastapi"], cwd=reference, env=env, check=True)
    command = [str(BIN / "uvicorn"), "seed_fastapi:app", "--workers", str(bench.args.workers)]
    command += ["--port", str(port), "--app-dir", reference, "--log-level", "warning"]
    server = start(command, env, port, "/api/v1/memory/1")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            for user_id in range(1, USERS + 1):
                http.post(
                    "/api/v1/memory", json={"user_id": user_id, "content": memory_text(user_id)}
                ).raise_for_status()
        settle_database(url)
        bench.measure("seed", port, ["get", "post", "mix"])
    finally:
        server.terminate()
        server.wait(timeout=60)


def run_relay_floor(bench: Bench, model_port: int) -> None:
    """The chat analogue of the ceiling: a bare Flask relay, no database, Redis, auth or limits."""
    env = {"MODEL_URL": f"http://127.0.0.1:{model_port}"}
    run_bare_flask(bench, "floor", "relay_floor:app", BENCH, env, ["chat"])


def run_model_alone(bench: Bench, model_port: int) -> None:
    bench.measure("model", model_port, ["chat"], AURA_BENCH_MODEL_DIRECT="1")


def ratios(results: dict) -> dict:
    """The issue's targets as ratios from this one run (None where a system was not measured)."""

    def get(system: str, scenario: str, key: str) -> float | None:
        return results.get(system, {}).get(scenario, {}).get(key)

    def ratio(a, b):
        return round(a / b, 2) if a is not None and b else None

    def overhead(system: str, scenario: str = "chat") -> float | None:
        """Chat p50 beyond the model's own p50 (the model alone, measured in the same run)."""
        if get(system, scenario, "p50_ms") is None or get("model", "chat", "p50_ms") is None:
            return None
        return round(get(system, scenario, "p50_ms") - get("model", "chat", "p50_ms"), 2)

    return {
        "aura_get_vs_seed": ratio(get("aura", "get", "rps"), get("seed", "get", "rps")),
        "aura_post_vs_seed": ratio(get("aura", "post", "rps"), get("seed", "post", "rps")),
        "aura_mix_vs_seed": ratio(get("aura", "mix", "rps"), get("seed", "mix", "rps")),
        "aura_get_vs_ceiling": ratio(get("aura", "get", "rps"), get("ceiling", "get", "rps")),
        "aura_get_p99_vs_seed": ratio(get("aura", "get", "p99_ms"), get("seed", "get", "p99_ms")),
        "aura_post_p99_vs_seed": ratio(get("aura", "post", "p99_ms"), get("seed", "post", "p99_ms")),
        "chat_overhead_p50_ms": overhead("aura"),
        "floor_chat_overhead_p50_ms": overhead("floor"),
        "aura_chat_overhead_vs_floor": ratio(overhead("aura"), overhead("floor")),
        "openai_overhead_p50_ms": overhead("aura", "openai"),
        "aura_openai_overhead_vs_floor": ratio(overhead("aura", "openai"), overhead("floor")),
        "aura_openai_overhead_vs_chat": ratio(overhead("aura", "openai"), overhead("aura")),
        # The same read as an MCP tool call, against the REST GET (the protocol's own cost).
        "aura_mcp_get_vs_get": ratio(get("aura", "mcp", "rps"), get("aura", "get", "rps")),
        "aura_mcp_get_p99_vs_get": ratio(get("aura", "mcp", "p99_ms"), get("aura", "get", "p99_ms")),
    }


def markdown(report: dict) -> str:
    rows = [
        "| system | scenario | req/s | p50 | p99 | p99 of each run | non-2xx |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for system, scenarios in report["results"].items():
        for scenario, r in scenarios.items():
            runs = r.get("all_p99_ms")
            each = ", ".join(f"{p99:.0f}" for p99 in runs) + " ms" if runs else "-"
            rows.append(
                f"| {LABELS[system]} | {scenario} | {r['rps']:,.0f} | {r['p50_ms']:.1f} ms "
                f"| {r['p99_ms']:.1f} ms | {each} | {r['non_2xx'] + r['socket_errors']} |"
            )
    rows += ["", "| ratio (same run) | value |", "|---|---:|"]
    rows += [
        f"| {name} | {value if value is not None else 'n/a'} |" for name, value in report["ratios"].items()
    ]
    return "\n".join(rows) + "\n"


def chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = report["results"]
    scenarios = [s for s in SCRIPTS if any(s in r for r in results.values())]
    systems = list(results)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    width = 0.8 / len(systems)
    for i, system in enumerate(systems):
        xs = [j + i * width for j, s in enumerate(scenarios) if s in results[system]]
        data = [results[system][s] for s in scenarios if s in results[system]]
        axes[0].bar(xs, [d["rps"] for d in data], width, label=LABELS[system])
        axes[1].bar(xs, [d["p99_ms"] for d in data], width, label=LABELS[system], alpha=0.45)
        axes[1].bar(xs, [d["p50_ms"] for d in data], width * 0.5, color="black", alpha=0.6)
    for ax, title in zip(
        axes,
        ["Throughput (req/s, higher is better)", "p99 bars, p50 inner (ms, lower is better)"],
        strict=True,
    ):
        ax.set_xticks([j + width * (len(systems) - 1) / 2 for j in range(len(scenarios))], scenarios)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    s = report["settings"]
    fig.suptitle(
        f"{s['users']:,} users, ~2 KB memories, wrk {s['connections']} connections "
        f"(chat {s['chat_connections']}), "
        f"{s['workers']} workers each, median of {s['repeat']} x {s['duration']} s, {report['cpus']} CPUs"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg",
        default=PG_ADMIN_URL,
    )
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    parser.add_argument(
        "--systems",
        nargs="+",
        default=["seed", "ceiling", "aura", "aura-sqlite", "floor"],
        choices=[system for system in LABELS if system != "model"],
    )
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=6, help="seconds of load before each scenario's runs")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario; the median is reported")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--chat-connections", type=int, default=1, help="chat measures overhead, not saturation"
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: scripts/bench installs it (apt-get install wrk)")
    if {"seed", "ceiling"} & set(args.systems) and not (args.reference / "seed_fastapi.py").exists():
        sys.exit(f"the reference systems are not in {args.reference}: pass --reference DIR")

    require_redis()
    bench = Bench(args)
    model_port, model = start_model(reply_delay=MODEL_DELAY_S)
    databases: list[str] = []
    try:
        if "aura" in args.systems or "ceiling" in args.systems:
            databases.append(url := create_database(args.pg))
            ceiling = (lambda: run_ceiling(bench, url)) if "ceiling" in args.systems else None
            run_aura(bench, "aura", url, model_port, then=ceiling)
        if "aura-sqlite" in args.systems:
            with tempfile.TemporaryDirectory() as tmp:
                run_aura(bench, "aura-sqlite", f"sqlite:///{tmp}/bench.db", model_port)
        if "seed" in args.systems:
            databases.append(url := create_database(args.pg))
            run_seed(bench, url)
        if "floor" in args.systems:
            run_relay_floor(bench, model_port)
        if {"aura", "aura-sqlite", "floor"} & set(args.systems):
            run_model_alone(bench, model_port)
    finally:
        model.terminate()
        for url in databases:
            drop_database(args.pg, url)

    report = {
        "when": datetime.now(UTC).isoformat(),
        "cpus": os.cpu_count(),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        | {"pg": "(hidden)", "users": USERS, "content_bytes": CONTENT_BYTES, "model_delay_s": MODEL_DELAY_S},
        "results": bench.results,
    }
    report["ratios"] = ratios(bench.results)
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    stem = out / f"{datetime.now(UTC):%Y%m%dT%H%M%S}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2))
    stem.with_suffix(".md").write_text(markdown(report))
    chart(report, stem.with_suffix(".png"))
    print("\n" + markdown(report))
    print(f"written: {stem}.json, .md, .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
