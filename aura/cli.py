"""Flask CLI: `flask staff ...` (support-staff accounts; there is no default one) and `flask auth ...`."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from aura import staff
from aura.auth import mint_user_token
from aura.memory.retention import PruneProgress, prune_audit_events, prune_conversation_turns, prune_revisions
from aura.schemas import MAX_USER_ID

staff_cli = AppGroup("staff", help="Manage support-staff accounts for the admin pages.")


def _as_click_errors(command: Callable) -> Callable:
    """Show a StaffError as a one-line CLI error (exit code 1), not a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except staff.StaffError as error:
            raise click.ClickException(str(error)) from None

    return wrapper


@staff_cli.command("create")
@click.argument("email")
@click.password_option(help="Prompted (twice) when not given.")
@_as_click_errors
def create(email: str, password: str) -> None:
    """Create a staff account; the password is prompted and stored hashed."""
    account = staff.create_staff(email, password)
    click.echo(f"Created staff account {account.email} (id {account.id}). Log in at /admin/login.")


@staff_cli.command("set-password")
@click.argument("email")
@click.password_option()
@_as_click_errors
def set_password(email: str, password: str) -> None:
    """Replace a staff member's password."""
    staff.set_password(email, password)
    click.echo(f"Password changed for {staff.normalize_email(email)}.")


@staff_cli.command("deactivate")
@click.argument("email")
@_as_click_errors
def deactivate(email: str) -> None:
    """Block an account from logging in (its history stays attributed)."""
    staff.set_active(email, False)
    click.echo(f"Deactivated {staff.normalize_email(email)}.")


@staff_cli.command("list")
def list_accounts() -> None:
    """Show every staff account."""
    for account in staff.list_staff():
        state = "active" if account.active else "deactivated"
        click.echo(f"{account.id}\t{account.email}\t{state}")


auth_cli = AppGroup("auth", help="API credentials for local testing and internal tools.")


@auth_cli.command("mint-token")
@click.argument("user_id", type=click.IntRange(1, MAX_USER_ID))
@click.option("--minutes", type=click.IntRange(1, 60 * 24 * 30), default=60, show_default=True)
def mint_token(user_id: int, minutes: int) -> None:
    """Print a user token (JWT signed with AURA_JWT_SECRET) that may act only for USER_ID."""
    try:
        click.echo(mint_user_token(user_id, minutes))
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None


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


@memory_cli.command("eval-consolidation")
@click.option("--base-url", required=True, help="OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1")
@click.option("--model", required=True, help="Model name as the server knows it.")
@click.option("--api-key", envvar="AURA_EVAL_API_KEY", default="", help="Or set AURA_EVAL_API_KEY.")
@click.option("--case", "only", multiple=True, help="Run only these cases (repeatable).")
@click.option("--show-memory", is_flag=True, help="Print each memory the model wrote.")
@click.option("--fail-under", type=click.IntRange(0, 100), default=0, help="Exit 1 below this % passed.")
def eval_consolidation(
    base_url: str, model: str, api_key: str, only: tuple[str, ...], show_memory: bool, fail_under: int
) -> None:
    """Score a model on AURA's consolidation cases (facts kept, added, replaced, forgotten; none
    of the forbidden ones stored). Uses the deployment's prompt, budgets and timeout; no database."""
    from aura.chat.llm import LLMClient
    from aura.chat.service import llm_settings
    from aura.consolidation.cases import CASES
    from aura.consolidation.evaluate import Budgets, run_cases
    from aura.consolidation.merge import consolidation_prompts, request_options

    cfg = current_app.config
    unknown = set(only) - {case.name for case in CASES}
    if unknown:
        raise click.UsageError(f"no such case: {', '.join(sorted(unknown))}")
    cases = [case for case in CASES if not only or case.name in only]
    client = LLMClient(
        llm_settings(
            cfg, base_url=base_url, model=model, api_key=api_key, timeout=cfg["AURA_CONSOLIDATION_TIMEOUT"]
        )
    )
    budgets = Budgets(
        max_input_chars=cfg["AURA_CONSOLIDATION_MAX_INPUT_CHARS"],
        max_turn_chars=cfg["AURA_CONSOLIDATION_MAX_TURN_CHARS"],
        target_chars=cfg["AURA_MEMORY_TARGET_CHARS"],
        max_memory_chars=cfg["AURA_MAX_MEMORY_CHARS"],
        timeout=cfg["AURA_CONSOLIDATION_TIMEOUT"],
    )
    passed = 0
    options = request_options(cfg["AURA_CONSOLIDATION_TEMPERATURE"])
    try:
        for result in run_cases(client, consolidation_prompts(), cases, budgets, options):
            passed += result.passed
            mark = "PASS" if result.passed else "FAIL"
            click.echo(f"{mark}  {result.case.name:<30} {result.seconds:5.1f} s  {result.case.about}")
            if result.error:
                click.echo(f"      model call failed: {result.error}")
            elif not result.passed:
                if result.verdict.missing:
                    click.echo(f"      missing:   {', '.join(result.verdict.missing)}")
                if result.verdict.forbidden:
                    click.echo(f"      forbidden: {', '.join(result.verdict.forbidden)}")
            if show_memory or (not result.passed and not result.error):
                for line in (result.memory or "(no memory)").splitlines():
                    click.echo(f"      | {line}")
    finally:
        client.close()
    score = round(100 * passed / len(cases))
    click.echo(f"{passed}/{len(cases)} cases passed ({score}%) with {model} at {base_url}")
    if score < fail_under:
        sys.exit(1)


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
    from aura.jobs.queue import job_queue, queue_url

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
        from prometheus_client import start_http_server

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


def register_cli(app: Flask) -> None:
    app.cli.add_command(staff_cli)
    app.cli.add_command(auth_cli)
    app.cli.add_command(memory_cli)
    app.cli.add_command(worker)
