"""Serving benchmark: many concurrent streamed chats and slow clients against AURA under gunicorn.

Starts the loopback model (bench/model.py) streaming 5 chunks 0.3 s apart, AURA with the
production gunicorn.conf.py on a throwaway PostgreSQL database,
then measures, per worker class (after a warm-up burst of 200):

- N concurrent streamed chats: completed, refused, first-token and total latency p50/p99,
  peak memory per worker, and the busiest worker's share of the connections over the burst;
- slowloris: S connections trickling their headers for D seconds while a probe measures
  /healthz and GET /api/v1/memory/<id> latency.

In the same run, the same bursts against ../shared/reference/relay_gevent.py (bare Flask on
gevent workers, one SQL read per turn, no auth, limits, schemas or logging): AURA's burst
latency is stated as a multiple of that floor, since absolute seconds are the machine's.
With --reuse-port both, AURA runs once with each worker accepting from one shared socket and
once with a socket per worker (gunicorn's reuse_port), to compare how connections spread.

    .venv/bin/python bench/serving.py [--streams 256 1000] [--slow 64] [--slow-seconds 30]
                                       [--worker-class gevent gthread] [--reuse-port off on both]
                                       [--reference DIR]

Results go to bench/results/serving-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
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
    start,
    start_aura,
    upgrade_database,
)
from model import start_model  # noqa: E402

HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def _one_stream(port: int, user_id: int) -> tuple[float, float] | str:
    """One streamed chat over a raw socket (a lean client, so the generator is not what is measured)."""
    body = json.dumps({"user_id": user_id, "message": "Tell me something", "stream": True}).encode()
    request = (
        f"POST /api/v1/orcha/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    started = time.perf_counter()
    first = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        status = (await reader.readline()).split()
        if len(status) < 2 or status[1] != b"200":
            writer.close()
            return f"HTTP {status[1].decode() if len(status) > 1 else '?'}"
        async for line in reader:
            if line.startswith(b"event: token") and first is None:
                first = time.perf_counter() - started
            elif line.startswith(b"event: done"):
                writer.close()
                return first or float("nan"), time.perf_counter() - started
            elif line.startswith(b"event: error"):
                writer.close()
                return "error event"
        writer.close()
    except OSError as error:
        return error.__class__.__name__
    return "stream ended early"


async def _streams(port: int, count: int) -> dict:
    started = time.perf_counter()
    results = await asyncio.gather(*(_one_stream(port, 1 + i % 50) for i in range(count)))
    wall = time.perf_counter() - started
    ok = [r for r in results if isinstance(r, tuple)]
    failures = [r for r in results if not isinstance(r, tuple)]
    firsts, totals = [r[0] for r in ok], [r[1] for r in ok]
    return {
        "streams": count,
        "completed": len(ok),
        "failed": len(failures),
        "failures": sorted(set(failures))[:5],
        "first_token_p50_s": pct(firsts, 50),
        "first_token_p99_s": pct(firsts, 99),
        "total_p50_s": pct(totals, 50),
        "total_p99_s": pct(totals, 99),
        "wall_s": wall,
    }


def _slow_client(port: int, seconds: float, stop: threading.Event) -> None:
    """Slowloris: open a request and send its headers one byte per second, never finishing."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=seconds + 10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not stop.is_set():
                sock.sendall(b"X")
                time.sleep(1)
    except OSError:
        pass


def _slowloris(base: str, port: int, count: int, seconds: float) -> dict:
    stop = threading.Event()
    clients = [
        threading.Thread(target=_slow_client, args=(port, seconds, stop), daemon=True) for _ in range(count)
    ]
    for client in clients:
        client.start()
    time.sleep(1.0)  # let every slow client take its connection
    samples: dict[str, list[float]] = {"/healthz": [], "/api/v1/memory/1": []}
    failures = 0
    deadline = time.monotonic() + seconds - 2
    with httpx.Client(timeout=10, headers=HEADERS) as http:
        while time.monotonic() < deadline:
            for path in samples:
                started = time.perf_counter()
                try:
                    ok = http.get(base + path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                samples[path].append(time.perf_counter() - started)
                failures += not ok
            time.sleep(0.05)
    stop.set()
    for client in clients:
        client.join(timeout=5)
    return {
        "slow_clients": count,
        "held_s": seconds,
        "probe_failures": failures,
        **{f"{path}_p99_ms": pct(values, 99) * 1000 for path, values in samples.items()},
        **{f"{path}_p50_ms": statistics.median(values) * 1000 for path, values in samples.items() if values},
    }


def worker_peak_rss_mb(master_pid: int) -> list[float]:
    children = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout.split()
    peaks = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
        peaks.append(round(peak_kb / 1024, 1))
    return peaks


class ConnectionSpread:
    """Samples, while a burst runs, how the server's established connections split between its
    workers (ss -tnp), and reports the busiest worker's share of all connection-samples (time
    spent holding connections). One worker taking most of a burst leaves the other core idle
    while its streams queue."""

    def __init__(self, port: int) -> None:
        self.port, self.held, self._stop = port, {}, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ConnectionSpread:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def busiest_share(self) -> float:
        total = sum(self.held.values())
        return max(self.held.values()) / total if total else float("nan")

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            listing = subprocess.run(
                ["ss", "-Htnp", "state", "established", f"sport = :{self.port}"],
                capture_output=True,
                text=True,
            ).stdout
            for line in listing.splitlines():
                pid = line.rsplit("pid=", 1)[-1].split(",", 1)[0] if "pid=" in line else "?"
                self.held[pid] = self.held.get(pid, 0) + 1


def _bursts(label: str, port: int, counts: list[int]) -> list[dict]:
    asyncio.run(_streams(port, 200))  # warm-up: the pools and keep-alives a serving instance holds open
    results = []
    for count in counts:
        with ConnectionSpread(port) as spread:
            result = asyncio.run(_streams(port, count))
        result["busiest_worker_share"] = round(spread.busiest_share, 2)
        results.append(result)
        print(
            f"[{label}] {count} streams: {result['completed']} done, {result['failed']} failed "
            f"{result['failures']}; first token p50 {result['first_token_p50_s']:.2f} s "
            f"p99 {result['first_token_p99_s']:.2f} s; total p99 {result['total_p99_s']:.2f} s; "
            f"the busiest worker held {result['busiest_worker_share']:.0%} of the connections",
            flush=True,
        )
    return results


def run_worker_class(worker_class: str, args, url: str, model_port: int, reuse_port: bool) -> dict:
    port = free_port()
    env = production_env(
        url,
        args.workers,
        port,
        model_port,
        AURA_WORKER_CLASS=worker_class,
        AURA_REUSE_PORT="1" if reuse_port else "0",
    )
    gunicorn = start_aura(env, port, "/healthz")
    base = f"http://127.0.0.1:{port}"
    label = f"{worker_class}{', reuse_port' if reuse_port else ''}"
    try:
        with httpx.Client(base_url=base, headers=HEADERS) as http:
            for user_id in range(1, 51):
                http.post(
                    "/api/v1/memory", json={"user_id": user_id, "content": f"Memory {user_id}"}
                ).raise_for_status()
        report: dict = {"worker_class": worker_class, "workers": args.workers, "reuse_port": reuse_port}
        report["streams"] = _bursts(label, port, args.streams)
        report["peak_rss_mb_per_worker"] = worker_peak_rss_mb(gunicorn.pid)
        print(f"[{label}] peak memory per worker: {report['peak_rss_mb_per_worker']} MB", flush=True)
        if args.slow:
            report["slowloris"] = _slowloris(base, port, args.slow, args.slow_seconds)
            s = report["slowloris"]
            print(
                f"[{label}] {args.slow} slow clients for {args.slow_seconds:g} s: "
                f"/healthz p99 {s['/healthz_p99_ms']:.1f} ms, "
                f"GET memory p99 {s['/api/v1/memory/1_p99_ms']:.1f} ms, probe failures {s['probe_failures']}",
                flush=True,
            )
        return report
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=60)


def run_relay(args, url: str, model_port: int) -> dict:
    """The floor: the reference gevent relay, same workers, database rows and model."""
    port = free_port()
    env = {
        **os.environ,
        "RELAY_PG_DSN": make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
        "RELAY_MODEL_URL": f"http://127.0.0.1:{model_port}/v1",
    }
    command = [str(BIN / "gunicorn"), "-k", "gevent", "-w", str(args.workers), "--worker-connections", "2000"]
    command += ["--bind", f"127.0.0.1:{port}", "--chdir", str(args.reference), "relay_gevent:app"]
    relay = start(command, env, port, "/")
    try:
        return {
            "system": "relay_gevent",
            "workers": args.workers,
            "streams": _bursts("relay", port, args.streams),
        }
    finally:
        relay.terminate()
        relay.wait(timeout=60)


def burst_ratios(aura: dict, relay: dict) -> list[dict]:
    """AURA's first-token and total p99 as multiples of the relay's, burst by burst."""
    ratios = []
    for mine, floor in zip(aura["streams"], relay["streams"], strict=True):
        ratios.append(
            {
                "streams": mine["streams"],
                "first_token_p99_x_relay": round(mine["first_token_p99_s"] / floor["first_token_p99_s"], 2),
                "total_p99_x_relay": round(mine["total_p99_s"] / floor["total_p99_s"], 2),
                "completed": f"{mine['completed']} vs {floor['completed']}",
            }
        )
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=PG_ADMIN_URL)
    parser.add_argument("--streams", type=int, nargs="+", default=[256, 1000])
    parser.add_argument("--slow", type=int, default=64, help="slowloris connections (0: skip)")
    parser.add_argument("--slow-seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", nargs="+", default=["gevent", "gthread"])
    parser.add_argument("--reuse-port", choices=["off", "on", "both"], default="off")
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    args = parser.parse_args()
    if not (args.reference / "relay_gevent.py").exists():
        sys.exit(f"the reference relay is not in {args.reference}: pass --reference DIR")

    require_redis()
    url = create_database(args.pg)
    model = None
    reuse = {"off": [False], "on": [True], "both": [False, True]}[args.reuse_port]
    try:
        upgrade_database({**os.environ, "DATABASE_URL": url, "AURA_ENV": "development"})
        model_port, model = start_model()
        relay = run_relay(args, url, model_port)
        reports = [
            run_worker_class(worker_class, args, url, model_port, reuse_port)
            for worker_class in args.worker_class
            for reuse_port in (reuse if worker_class == "gevent" else [False])
        ]
    finally:
        if model is not None:
            model.terminate()
        drop_database(args.pg, url)
    for report in reports:
        report["vs_relay"] = burst_ratios(report, relay)
        for ratio in report["vs_relay"]:
            print(f"[{report['worker_class']}, reuse_port={report['reuse_port']}] {ratio}", flush=True)
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    report = {
        "when": datetime.now(UTC).isoformat(),
        "cpus": os.cpu_count(),
        "settings": {**vars(args), "pg": "(hidden)", "reference": str(args.reference)},
    }
    (out / f"serving-{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(
        json.dumps(report | {"relay": relay, "results": reports}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
