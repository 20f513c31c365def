"""Retention: at most AURA_MAX_REVISIONS revisions per user, pruned as saves happen and on demand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from aura.memory import service
from aura.models import AuditEvent, MemoryRevision, User, utcnow


def revision_texts(db, user_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(MemoryRevision.content)
            .where(MemoryRevision.user_id == user_id)
            .order_by(MemoryRevision.id)
        )
    )


def test_each_save_prunes_the_oldest_beyond_the_limit(make_app, db):
    app = make_app(AURA_MAX_REVISIONS=3)
    with app.app_context():
        for i in range(6):
            service.save_memory(1, f"text {i}")
        service.save_memory(2, "another user")
        assert revision_texts(db, 1) == ["text 3", "text 4", "text 5"]
        assert revision_texts(db, 2) == ["another user"]
        assert service.get_memory(1).content == "text 5"


def test_staff_writes_and_restores_prune_too(make_app, db):
    app = make_app(AURA_MAX_REVISIONS=2)
    with app.app_context():
        service.save_memory(1, "a")
        service.save_memory(1, "b")
        oldest_kept = db.session.scalar(select(MemoryRevision.id).where(MemoryRevision.content == "a"))
        service.restore_revision(1, oldest_kept, service.Actor("staff@aura.example", None))
        assert revision_texts(db, 1) == ["b", "a"]
        service.save_memory(1, "c", service.RevisionSource.STAFF, service.Actor("staff@aura.example", None))
        assert revision_texts(db, 1) == ["a", "c"]


def test_a_limit_of_one_keeps_just_the_current_text(make_app, db):
    app = make_app(AURA_MAX_REVISIONS=1)
    with app.app_context():
        for i in range(3):
            service.save_memory(1, f"text {i}")
        assert revision_texts(db, 1) == ["text 2"]


def _backlog(db, counts: dict[int, int]) -> None:
    """Revisions written before the limit existed (straight into the table, as old data would be)."""
    now = utcnow()
    for user_id, count in counts.items():
        user = {"id": user_id, "created_at": now, "memory_enabled": True, "memory_version": 0}
        db.session.execute(insert(User).values(**user, revision_count=count))
        db.session.execute(
            insert(MemoryRevision),
            [
                {"user_id": user_id, "number": i + 1, "content": f"{user_id}-{i}", "source": "frontend"}
                | {"created_at": now}
                for i in range(count)
            ],
        )
    db.session.commit()


def test_prune_command_reports_then_removes_the_backlog(runner, db):
    _backlog(db, {1: 60, 2: 50, 3: 7})
    dry = runner.invoke(args=["memory", "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would remove 10 revision(s) of 1 user(s), keeping the newest 50 per user." in dry.output
    assert len(revision_texts(db, 1)) == 60

    done = runner.invoke(args=["memory", "prune"])
    assert done.exit_code == 0, done.output
    assert "Removed 10 revision(s) of 1 user(s)" in done.output
    assert revision_texts(db, 1) == [f"1-{i}" for i in range(10, 60)]
    assert len(revision_texts(db, 2)) == 50 and len(revision_texts(db, 3)) == 7

    again = runner.invoke(args=["memory", "prune"])
    assert "Removed 0 revision(s) of 0 user(s)" in again.output


def test_prune_command_takes_an_explicit_limit(runner, db):
    _backlog(db, {1: 5, 2: 3})
    result = runner.invoke(args=["memory", "prune", "--keep", "2"])
    assert "Removed 4 revision(s) of 2 user(s), keeping the newest 2 per user." in result.output
    assert revision_texts(db, 1) == ["1-3", "1-4"]
    assert runner.invoke(args=["memory", "prune", "--keep", "0"]).exit_code != 0


def test_revisions_are_numbered_per_user_and_keep_their_numbers_when_old_ones_go(make_app, db):
    app = make_app(AURA_MAX_REVISIONS=3)
    with app.app_context():
        for i in range(5):
            service.save_memory(1, f"text {i}")
            service.save_memory(2, f"other {i}")
        numbers = list(
            db.session.scalars(
                select(MemoryRevision.number).where(MemoryRevision.user_id == 1).order_by(MemoryRevision.id)
            )
        )
        assert numbers == [3, 4, 5]  # 1 and 2 were pruned; the rest keep theirs
        oldest = db.session.scalar(select(MemoryRevision.id).where(MemoryRevision.content == "text 2"))
        service.restore_revision(1, oldest, service.Actor("ops", None))
        newest = db.session.scalars(
            select(MemoryRevision).where(MemoryRevision.user_id == 1).order_by(MemoryRevision.id.desc())
        ).first()
        assert (newest.number, newest.source) == (6, "restore")


def test_an_erasure_starts_the_numbering_over(make_app, db):
    app = make_app()
    with app.app_context():
        service.save_memory(3, "one")
        service.save_memory(3, "two")
        service.delete_memory(3)
        service.save_memory(3, "fresh start")
        assert list(db.session.scalars(select(MemoryRevision.number).where(MemoryRevision.user_id == 3))) == [
            1
        ]
        service.delete_memory(3, keep_history=True)  # deleting only the current memory keeps counting
        service.save_memory(3, "again")
        numbers = db.session.scalars(
            select(MemoryRevision.number).where(MemoryRevision.user_id == 3).order_by(MemoryRevision.id)
        )
        assert list(numbers) == [1, 2]


def test_prune_command_drops_audit_entries_past_their_retention(runner, db):
    now = utcnow()
    ages = [400, 366, 364, 1]  # days
    db.session.execute(
        insert(AuditEvent),
        [{"user_id": 1, "action": "settings", "created_at": now - timedelta(days=age)} for age in ages],
    )
    db.session.commit()
    dry = runner.invoke(args=["memory", "prune", "--dry-run"])
    assert "Would remove 2 audit entries older than 365 days." in dry.output
    done = runner.invoke(args=["memory", "prune"])
    assert done.exit_code == 0 and "Removed 2 audit entries older than 365 days." in done.output
    kept = sorted(round((now - e.created_at).total_seconds() / 86400) for e in db.session.query(AuditEvent))
    assert kept == [1, 364]
    assert (
        "Keeping the whole audit log" in runner.invoke(args=["memory", "prune", "--audit-days", "0"]).output
    )
    assert "Removed 1 audit entry" in runner.invoke(args=["memory", "prune", "--audit-days", "2"]).output


def test_prune_walks_the_users_in_short_batches_and_resumes_after_a_user(app, db, monkeypatch):
    from aura.memory import retention

    _backlog(db, {1: 4, 2: 1, 3: 4, 4: 4, 5: 2})
    monkeypatch.setattr(retention, "USERS_PER_BATCH", 2)
    seen: list[retention.PruneProgress] = []
    with app.app_context():
        report = retention.prune_revisions(2, after_user=2, on_progress=seen.append)
    assert (report.revisions, report.users) == (4, 2)  # users 3 and 4, two each; 1 is before the start
    assert [(p.last_user_id, p.users_done, p.users_total, p.revisions) for p in seen] == [
        (4, 2, 3, 4),
        (5, 3, 3, 4),
    ]
    assert len(revision_texts(db, 1)) == 4 and revision_texts(db, 3) == ["3-2", "3-3"]
    with app.app_context():
        rest = retention.prune_revisions(2)  # the whole run again: only what was skipped is left
    assert (rest.revisions, rest.users) == (2, 1)


def test_the_progress_line_says_how_far_how_fast_and_where_to_resume(capsys):
    from aura.memory.cli import ProgressLine
    from aura.memory.retention import PruneProgress

    line = ProgressLine()
    line(PruneProgress(last_user_id=500, users_done=500, users_total=2000, revisions=900, seconds=0.1))
    assert capsys.readouterr().out == ""  # not yet: at most one line per interval
    line(PruneProgress(last_user_id=999, users_done=1000, users_total=2000, revisions=1800, seconds=20.0))
    assert capsys.readouterr().out.strip() == (
        "1,000 of 2,000 users (50%), 1,800 revisions, 50 users/s; resume with --after-user 999"
    )


def test_a_paced_prune_pauses_between_batches_as_long_as_it_worked(app, db, monkeypatch):
    from aura.memory import retention

    _backlog(db, {1: 3, 2: 3, 3: 3})
    monkeypatch.setattr(retention, "USERS_PER_BATCH", 1)
    pauses: list[float] = []
    monkeypatch.setattr(retention.time, "sleep", pauses.append)
    with app.app_context():
        assert retention.prune_revisions(1, duty=0.5).revisions == 6
        with pytest.raises(ValueError, match="share of the time"):
            retention.prune_revisions(1, duty=0)
    assert len(pauses) == 3 and all(p > 0 for p in pauses)
