"""`flask memory prune`: apply the retention limits to rows written before they existed or were lowered."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from aura.memory.retention import PruneProgress, prune_audit_events, prune_conversation_turns, prune_revisions

memory_cli = AppGroup("memory", help="Maintenance of stored memories.")


@memory_cli.command("prune")
@click.option("--dry-run", is_flag=True, help="Only report what would be removed.")
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=None,
    help="Revisions to keep per user (default: AURA_MAX_REVISIONS).",
)
@click.option(
    "--audit-days",
    type=click.IntRange(min=0),
    default=None,
    help="Days of audit log to keep (default: AURA_AUDIT_RETENTION_DAYS; 0 keeps it all).",
)
@click.option(
    "--conversation-days",
    type=click.IntRange(min=0),
    default=None,
    help="Days of recorded chat turns to keep (default: AURA_CONVERSATION_RETENTION_DAYS; 0 keeps all).",
)
@click.option(
    "--after-user",
    type=click.IntRange(min=0),
    default=0,
    help="Resume: start after this user id (an interrupted run prints where it got to).",
)
@click.option(
    "--duty",
    type=click.FloatRange(0.05, 1.0),
    default=0.5,
    show_default=True,
    help="Share of the time spent pruning; the rest it pauses, so saves keep their latency.",
)
def prune(
    dry_run: bool,
    keep: int | None,
    audit_days: int | None,
    conversation_days: int | None,
    after_user: int,
    duty: float,
) -> None:
    """Delete revisions beyond the newest AURA_MAX_REVISIONS per user (new saves already prune),
    audit entries older than AURA_AUDIT_RETENTION_DAYS and recorded chat turns older than
    AURA_CONVERSATION_RETENTION_DAYS. Run it daily (cron, a systemd timer).

    Works through the users in short batches, showing progress; safe to interrupt and re-run."""
    keep = keep or current_app.config["AURA_MAX_REVISIONS"]
    report = prune_revisions(
        keep,
        dry_run=dry_run,
        after_user=after_user,
        on_progress=ProgressLine(),
        duty=1.0 if dry_run else duty,
    )
    verb = "Would remove" if dry_run else "Removed"
    click.echo(
        f"{verb} {report.revisions:,} revision(s) of {report.users:,} user(s), "
        f"keeping the newest {keep:,} per user."
    )
    days = current_app.config["AURA_AUDIT_RETENTION_DAYS"] if audit_days is None else audit_days
    if days:
        events = prune_audit_events(days, dry_run=dry_run)
        click.echo(f"{verb} {events:,} audit entr{'y' if events == 1 else 'ies'} older than {days:,} days.")
    else:
        click.echo("Keeping the whole audit log (retention 0).")
    config_days = current_app.config["AURA_CONVERSATION_RETENTION_DAYS"]
    days = config_days if conversation_days is None else conversation_days
    if days:
        turns = prune_conversation_turns(days, dry_run=dry_run)
        click.echo(f"{verb} {turns:,} recorded chat turn(s) older than {days:,} days.")
    else:
        click.echo("Keeping every recorded chat turn (retention 0).")


class ProgressLine:
    """Progress of a long prune: redrawn in place on a terminal, a line every 10 s in a log."""

    def __init__(self) -> None:
        self.on_terminal = sys.stdout.isatty()
        self.every = 0.5 if self.on_terminal else 10.0
        self.shown_at = 0.0

    def __call__(self, progress: PruneProgress) -> None:
        finished = progress.users_done >= progress.users_total
        if progress.seconds - self.shown_at < self.every and not (finished and self.shown_at):
            return
        self.shown_at = progress.seconds
        share = progress.users_done / progress.users_total if progress.users_total else 1.0
        rate = progress.users_done / progress.seconds if progress.seconds else 0.0
        line = (
            f"{progress.users_done:,} of {progress.users_total:,} users ({share:.0%}), "
            f"{progress.revisions:,} revisions, {rate:,.0f} users/s; "
            f"resume with --after-user {progress.last_user_id}"
        )
        if self.on_terminal:
            click.echo(f"\r{line}\x1b[K", nl=finished)
        else:
            click.echo(line)
