"""GET / DELETE /api/v1/memory/<id>/conversations, and recorded turns in the export, erasure and prune."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from aura.models import AuditEvent, ConversationTurn, utcnow
from tests.conversations.conftest import turns_of
from tests.test_auth import bearer, user_token

CHAT = "/api/v1/orcha/chat"


def _chat(client, user_id: int, *messages: str) -> None:
    for message in messages:
        assert client.post(CHAT, json={"user_id": user_id, "message": message}).status_code == 200


def test_turns_are_listed_newest_first_in_pages(recording, fake_llm):
    _chat(recording, 20, "one", "two", "three")
    first = turns_of(recording, 20, per_page=2)
    assert [t["message"] for t in first["turns"]] == ["three", "two"]
    assert first["pagination"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    assert [t["message"] for t in turns_of(recording, 20, per_page=2, page=2)["turns"]] == ["one"]
    assert turns_of(recording, 999)["turns"] == []


def test_a_user_token_reads_and_deletes_only_its_own_turns(recording_app, recording, fake_llm):
    _chat(recording, 42, "mine")
    client = recording_app.test_client()
    own = client.get("/api/v1/memory/42/conversations", headers=bearer(user_token("42")))
    assert own.status_code == 200 and own.get_json()["turns"][0]["message"] == "mine"
    assert client.get("/api/v1/memory/7/conversations", headers=bearer(user_token("42"))).status_code == 403
    assert (
        client.delete("/api/v1/memory/7/conversations", headers=bearer(user_token("42"))).status_code == 403
    )


def test_deleting_the_turns_keeps_the_memory_and_is_audited(recording, fake_llm, db):
    recording.post("/api/v1/memory", json={"user_id": 21, "content": "Likes tea."})
    _chat(recording, 21, "one", "two")
    response = recording.delete("/api/v1/memory/21/conversations")
    assert response.get_json() == {"status": "ok", "message": "Deleted 2 recorded turn(s)", "deleted": 2}
    assert turns_of(recording, 21)["turns"] == []
    assert recording.get("/api/v1/memory/21").get_json()["memory"]["content"] == "Likes tea."
    again = recording.delete("/api/v1/memory/21/conversations").get_json()
    assert again["deleted"] == 0 and again["message"] == "No recorded turns to delete"
    actions = [e.action for e in db.session.query(AuditEvent).filter_by(user_id=21)]
    assert actions.count("forget turns") == 2


def test_the_export_carries_the_turns_oldest_first(recording, fake_llm):
    _chat(recording, 22, "first", "second")
    export = recording.get("/api/v1/memory/22/export").get_json()
    assert [t["message"] for t in export["conversations"]] == ["first", "second"]
    assert set(export["conversations"][0]) == {"conversation_id", "message", "reply", "created_at"}


def test_an_erasure_takes_the_turns_with_it(recording, fake_llm):
    recording.post("/api/v1/memory", json={"user_id": 23, "content": "Likes tea."})
    _chat(recording, 23, "about tea")
    assert recording.delete("/api/v1/memory/23").get_json()["deleted"] is True
    assert turns_of(recording, 23)["turns"] == []
    assert recording.get("/api/v1/memory/23/export").get_json()["conversations"] == []


def test_an_erasure_of_a_user_with_only_turns_reports_something_deleted(recording, fake_llm):
    _chat(recording, 24, "just chatting")
    assert recording.delete("/api/v1/memory/24").get_json()["deleted"] is True


def test_prune_removes_turns_past_the_retention(recording_app, recording, fake_llm, db):
    _chat(recording, 25, "old", "recent")
    old = db.session.query(ConversationTurn).filter_by(message="old").one()
    db.session.execute(
        update(ConversationTurn)
        .where(ConversationTurn.id == old.id)
        .values(created_at=utcnow() - timedelta(days=31))
    )
    db.session.commit()
    runner = recording_app.test_cli_runner()
    dry = runner.invoke(args=["memory", "prune", "--dry-run"])
    assert "Would remove 1 recorded chat turn(s) older than 30 days." in dry.output
    assert len(turns_of(recording, 25)["turns"]) == 2
    result = runner.invoke(args=["memory", "prune"])
    assert result.exit_code == 0 and "Removed 1 recorded chat turn(s) older than 30 days." in result.output
    assert [t["message"] for t in turns_of(recording, 25)["turns"]] == ["recent"]
    kept = runner.invoke(args=["memory", "prune", "--conversation-days", "0"])
    assert "Keeping every recorded chat turn (retention 0)." in kept.output


def test_forgetting_the_turns_leaves_nothing_due(recording, fake_llm, db):
    from aura.models import ConsolidationState

    _chat(recording, 26, "one", "two")
    db.session.rollback()
    state = db.session.get(ConsolidationState, 26)
    assert state.pending_turns == 2 and state.due_at is not None
    recording.delete("/api/v1/memory/26/conversations")
    db.session.rollback()
    state = db.session.get(ConsolidationState, 26)
    assert state.pending_turns == 0 and state.due_at is None
