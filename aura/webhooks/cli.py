"""`flask webhooks ...`: failed deliveries, listed and sent again (audited)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from aura.extensions import db
from aura.memory.types import Actor
from aura.models import WebhookDelivery
from aura.webhooks.redeliver import redeliver

webhooks_cli = AppGroup("webhooks", help="Webhook deliveries: list the failed ones, send them again.")
CLI_ACTOR = Actor("cli:webhooks")


@webhooks_cli.command("failed")
def failed() -> None:
    """Failed deliveries per receiver (their retries ran out)."""
    rows = db.session.execute(
        select(WebhookDelivery.url, func.count(), func.min(WebhookDelivery.created_at))
        .where(WebhookDelivery.state == "failed")
        .group_by(WebhookDelivery.url)
    ).all()
    if not rows:
        click.echo("No failed deliveries.")
    for url, count, oldest in rows:
        click.echo(f"{count:>6} failed to {url.split('?')[0]} (oldest {oldest:%Y-%m-%d %H:%M} UTC)")


@webhooks_cli.command("redeliver")
@click.option("--id", "delivery_id", type=click.IntRange(1), help="One delivery, by id.")
@click.option("--url", help="Every failed delivery to this receiver URL...")
@click.option("--since", type=click.DateTime(), help="...created at or after this time (UTC).")
def redeliver_command(delivery_id: int | None, url: str | None, since: datetime | None) -> None:
    """Send failed deliveries again: one (--id), or a receiver's (--url, optionally --since)."""
    if delivery_id is None and url is None:
        raise click.UsageError("Name a delivery (--id) or a receiver (--url).")
    count = redeliver(
        CLI_ACTOR, delivery_id=delivery_id, url=url, since=since.replace(tzinfo=UTC) if since else None
    )
    click.echo(f"Queued {count} failed deliver{'y' if count == 1 else 'ies'} to be sent again.")
