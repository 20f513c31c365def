"""The per-user memory switch, and temporary chats that leave the memory out."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from aura.models import AuditEvent, MemoryRevision
from tests.memory.test_api import assert_error

CHAT_URL = "/api/v1/orcha/chat"


def settings_url(user_id: int) -> str:
    return f"/api/v1/memory/{user_id}/settings"


def save(client, user_id: int, content: str):
    return client.post("/api/v1/memory", json={"user_id": user_id, "content": content})


def system_messages(fake_llm) -> list[str]:
    return [m["content"] for m in fake_llm.last_messages if m["role"] == "system"]


class TestSettingsApi:
    def test_memory_is_on_for_a_user_never_seen(self, client):
        assert client.get(settings_url(7)).get_json() == {
            "status": "ok",
            "settings": {"enabled": True, "consolidation": "default"},
        }

    def test_switching_off_and_on_is_stored_and_audited(self, client, db):
        response = client.put(settings_url(7), json={"enabled": False})
        assert response.get_json() == {
            "status": "ok",
            "settings": {"enabled": False, "consolidation": "default"},
        }
        assert client.get(settings_url(7)).get_json()["settings"] == {
            "enabled": False,
            "consolidation": "default",
        }
        client.put(settings_url(7), json={"enabled": True})
        assert client.get(settings_url(7)).get_json()["settings"] == {
            "enabled": True,
            "consolidation": "default",
        }
        events = db.session.query(AuditEvent).filter_by(user_id=7).order_by(AuditEvent.id).all()
        assert [(e.action, e.actor) for e in events] == [
            ("memory off", "service:tests"),
            ("memory on", "service:tests"),
        ]

    @pytest.mark.parametrize(
        "body",
        [{"consolidation": "sometimes"}, {"enabled": "false"}, {"enabled": 0}, {"enabled": True, "x": 1}],
    )
    def test_invalid_settings_are_422(self, client, body):
        assert_error(client.put(settings_url(7), json=body), 422)


class TestMemoryOff:
    def test_saves_are_refused_with_409_and_nothing_is_stored(self, client, db):
        save(client, 7, "kept")
        client.put(settings_url(7), json={"enabled": False})
        body = assert_error(save(client, 7, "refused"), 409, "enabled")
        assert "switched off" in body["message"]
        assert client.get("/api/v1/memory/7").get_json()["memory"]["content"] == "kept"
        assert db.session.query(MemoryRevision).filter_by(content="refused").count() == 0

    def test_a_first_save_for_a_switched_off_user_is_refused_too(self, client):
        client.put(settings_url(8), json={"enabled": False})
        assert_error(save(client, 8, "never"), 409)
        assert client.get("/api/v1/memory/8").get_json()["memory"] is None

    def test_switching_off_deletes_nothing_and_the_memory_stays_readable(self, client):
        save(client, 7, "kept")
        client.put(settings_url(7), json={"enabled": False})
        memory = client.get("/api/v1/memory/7").get_json()["memory"]
        assert memory["content"] == "kept"
        assert client.get("/api/v1/memory/7/revisions").get_json()["pagination"]["total"] == 1

    def test_the_user_can_still_erase_while_memory_is_off(self, client):
        save(client, 7, "kept")
        client.put(settings_url(7), json={"enabled": False})
        assert client.delete("/api/v1/memory/7").get_json()["deleted"] is True
        assert client.get("/api/v1/memory/7").get_json()["memory"] is None

    def test_chat_leaves_the_memory_out_while_off_and_uses_it_again_when_on(self, chat_client, fake_llm):
        save(chat_client, 7, "Allergic to peanuts.")
        chat_client.put(settings_url(7), json={"enabled": False})
        off = chat_client.post(CHAT_URL, json={"user_id": 7, "message": "Snack ideas?"})
        assert off.get_json()["memory_used"] is False
        assert not any("peanuts" in text for text in system_messages(fake_llm))

        chat_client.put(settings_url(7), json={"enabled": True})
        on = chat_client.post(CHAT_URL, json={"user_id": 7, "message": "Snack ideas?"})
        assert on.get_json()["memory_used"] is True
        assert "User Memory: Allergic to peanuts." in system_messages(fake_llm)
        assert save(chat_client, 7, "Allergic to peanuts and shellfish.").status_code == 200


class TestTemporaryChat:
    def test_use_memory_false_sends_no_memory_to_the_model(self, chat_client, fake_llm):
        save(chat_client, 7, "Lives in Lyon.")
        response = chat_client.post(CHAT_URL, json={"user_id": 7, "message": "Hi", "use_memory": False})
        assert response.status_code == 200
        assert response.get_json()["memory_used"] is False
        assert fake_llm.last_messages[1:] == [{"role": "user", "content": "Hi"}]
        assert not any("Lyon" in m["content"] for m in fake_llm.received[-1].body["messages"])

    def test_a_temporary_chat_does_not_even_read_the_memory(self, chat_app, chat_client, fake_llm, db):
        statements: list[str] = []
        with chat_app.app_context():
            engine = db.engine  # the chat app's own pool
        listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            chat_client.post(CHAT_URL, json={"user_id": 7, "message": "Hi", "use_memory": False})
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert not any("user_memories" in s for s in statements), statements

    def test_use_memory_must_be_a_boolean(self, chat_client):
        response = chat_client.post(CHAT_URL, json={"user_id": 7, "message": "Hi", "use_memory": "no"})
        assert_error(response, 422, "use_memory")


def test_a_put_without_a_body_is_422_not_a_reset_to_defaults(client):
    client.put("/api/v1/memory/8/settings", json={"enabled": False})
    response = client.put("/api/v1/memory/8/settings")
    assert response.status_code == 422 and response.get_json()["code"] == "validation_failed"
    assert client.get("/api/v1/memory/8/settings").get_json()["settings"]["enabled"] is False
