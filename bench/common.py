"""What the benchmark scripts share: throwaway databases, free ports, starting servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TOKEN = "bench-service-token-" + "x" * 32


BIN = Path(sys.executable).parent  # the venv's gunicorn, flask, uvicorn
# Production shares rate limits between workers and instances in Redis (DEPLOY.md), so each
# counted request (a save, a chat turn) costs Redis round trips: the benchmarks pay them too.
# Database 13: the tests use 14 and 15.
REDIS_URL = os.environ.get("AURA_BENCH_REDIS", "redis://127.0.0.1:6379/13")
# The PostgreSQL server the benchmarks make their throwaway databases on (--pg overrides it).
PG_ADMIN_URL = os.environ.get("AURA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# What production refuses to start without, for the servers, commands and in-process apps here.
PRODUCTION_BASICS = {
    "AURA_ENV": "production",
    "SECRET_KEY": "bench-" + "s" * 40,
    "AURA_SERVICE_TOKENS": f"bench={TOKEN}",
}


def production_env(
    database_url: str, workers: int, port: int, model_port: int, **settings: str
) -> dict[str, str]:
    """AURA's environment as production runs it, bound to ``port`` and talking to the loopback
    model on ``model_port``, with limits counted in Redis but raised so they never trigger."""
    return {
        **os.environ,
        **PRODUCTION_BASICS,
        "DATABASE_URL": database_url,
        "AURA_RATE_LIMIT_WRITE": "1000000/minute",
        "AURA_RATE_LIMIT_CHAT": "1000000/minute",
        "AURA_RATE_LIMIT_SERVICE": "100000000/minute",
        "AURA_RATELIMIT_STORAGE_URI": REDIS_URL,
        "AURA_LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": str(workers),
        "AURA_BIND": f"127.0.0.1:{port}",
        "AURA_LLM_BASE_URL": f"http://127.0.0.1:{model_port}/v1",
        "AURA_LLM_MODEL": "bench",
        **settings,
    }


def require_redis() -> None:
    """Stop with a message, not with a run of 500s, when the rate limits' Redis is not there."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as error:
        sys.exit(f"no Redis at {REDIS_URL} ({error}): start one, or point AURA_BENCH_REDIS at one")


def upgrade_database(env: dict[str, str]) -> None:
    """`flask db upgrade` on the environment's DATABASE_URL, as operators run it."""
    subprocess.run(
        [BIN / "flask", "--app", "aura", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )


def start_aura(env: dict[str, str], port: int, probe: str) -> subprocess.Popen:
    """AURA under gunicorn with gunicorn.conf.py (the bind and workers come from ``env``)."""
    return start([str(BIN / "gunicorn"), "wsgi:app"], env, port, probe)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_database(admin_url: str) -> str:
    name = f"aura_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def settle_database(url: str) -> None:
    """After seeding: statistics gathered, dead rows and the bulk load's WAL out of the way.

    Otherwise autovacuum, autoanalyze and a checkpoint start on the fresh tables while the
    first system is being measured, and only that system pays for them. SQLite: ANALYZE.
    """
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("VACUUM ANALYZE"))
            conn.execute(text("CHECKPOINT"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()


def drop_database(admin_url: str, url: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def start(command: list[str], env: dict, port: int, probe: str) -> subprocess.Popen:
    """Start a server and wait until it answers; its log goes to bench/results/<port>.log."""
    (BENCH / "results").mkdir(exist_ok=True)
    log = open(BENCH / "results" / f"server-{port}.log", "w")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(
                f"http://127.0.0.1:{port}{probe}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=1
            )
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {command}")


def flask(url: str, *command: str) -> float:
    """Run a `flask` command as operators do, with production's settings; its seconds."""
    env = {**os.environ, **PRODUCTION_BASICS, "DATABASE_URL": url}
    started = time.perf_counter()
    subprocess.run(
        [BIN / "flask", "--app", "aura", *command],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started
