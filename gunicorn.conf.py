"""gunicorn settings for AURA (`gunicorn wsgi:app` picks this file up from the project root).

gevent workers: a chat reply streams for seconds while AURA mostly waits on the model, and a
slow client trickles its request in for as long as it likes. A gevent worker holds each such
connection in a greenlet (a few KB) instead of a thread, so one worker carries hundreds of
streams and slow sockets at once; with gthread (2 x 8 threads) the 17th stream queued and 16
slow clients froze the server. Every blocking library AURA uses cooperates with the hub:
the standard library is monkey-patched by gunicorn before the app loads, httpx and redis use
its sockets, and psycopg 3 (>= 3.1.14) detects gevent and waits through it (checked by
tests/test_serving.py). CPU-bound work would still block a worker: AURA has none on the
request path beyond JSON and templates.

Set AURA_WORKER_CLASS=gthread to fall back to threads (AURA_THREADS per worker).
"""

import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("AURA_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("AURA_WORKER_CLASS", "gevent")
worker_connections = int(os.environ.get("AURA_WORKER_CONNECTIONS", "2000"))  # open sockets per worker
threads = int(os.environ.get("AURA_THREADS", "8"))  # gthread only
# gevent workers heartbeat from their own greenlet, so a long model reply never trips this.
timeout = int(os.environ.get("AURA_WORKER_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("AURA_GRACEFUL_TIMEOUT", "30"))  # in-flight requests and streams finish
keepalive = 5
# AURA_REUSE_PORT=1: each worker binds its own SO_REUSEPORT socket and the kernel spreads new
# connections between them, instead of all workers racing for one socket's accepts.
reuse_port = os.environ.get("AURA_REUSE_PORT", "0") == "1"
accesslog = None  # the app logs one line per request itself
# gunicorn's control socket (gunicornc) defaults to one path per machine user: two instances on
# one host removed each other's. Off unless AURA_CONTROL_SOCKET names this instance's own path.
control_socket = os.environ.get("AURA_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
errorlog = "-"

# /metrics across workers (prometheus-client multiprocess mode): each worker writes its samples
# to files here, emptied at every start so counters of earlier runs never leak in. Our own
# temporary directory is removed at exit; one the operator chose is only emptied.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
_metrics_dir = Path(
    os.environ.get("PROMETHEUS_MULTIPROC_DIR") or Path(tempfile.gettempdir()) / f"aura-metrics-{os.getpid()}"
)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir)


def _clear_metrics_files() -> None:
    for leftover in _metrics_dir.glob("*.db"):
        leftover.unlink(missing_ok=True)


def on_starting(server) -> None:
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    _clear_metrics_files()


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    _clear_metrics_files()
    if _own_metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
