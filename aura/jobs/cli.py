"""`flask worker`: the process that runs background jobs (consolidations, webhook deliveries, the sweep)."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext
from prometheus_client import start_http_server

from aura.jobs.queue import job_queue, queue_url


@click.command("worker")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Jobs run at once (default: AURA_WORKER_THREADS); each mostly waits on the model.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(min=0, max=65535),
    default=None,
    help="Serve this worker's /metrics on 127.0.0.1:PORT (default: AURA_WORKER_METRICS_PORT; 0: off).",
)
@with_appcontext
def worker(threads: int | None, metrics_port: int | None) -> None:
    """Run background jobs: consolidations, the sweep for overdue ones, turn retention (Huey)."""
    huey = job_queue()
    if huey is None:
        raise click.ClickException(
            "No job queue: set AURA_QUEUE_URL=redis://... (or use a Redis for AURA_RATELIMIT_STORAGE_URI)."
        )
    logging.basicConfig(
        level=current_app.config["AURA_LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    count = threads or current_app.config["AURA_WORKER_THREADS"]
    url = queue_url(current_app.config)
    click.echo(f"AURA worker: {count} threads on {url.split('@')[-1] if url.startswith('redis') else url}")
    port = current_app.config["AURA_WORKER_METRICS_PORT"] if metrics_port is None else metrics_port
    if port:
        start_http_server(port, addr=current_app.config["AURA_WORKER_METRICS_BIND"])
        click.echo(
            f"worker metrics on http://{current_app.config['AURA_WORKER_METRICS_BIND']}:{port}/metrics"
        )
    consumer = huey.create_consumer(
        workers=count,
        worker_type="thread",
        periodic=True,
        scheduler_interval=1,
        check_worker_health=True,
        graceful_signal="TERM",  # as gunicorn and systemd mean it: finish running jobs, then stop
    )
    consumer.run()
