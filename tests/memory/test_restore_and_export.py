"""Restore through the API ("undo last regeneration") and the data-portability export."""

from __future__ import annotations

import json

from aura.models import MemoryRevision
from tests.conftest import AUTH
from tests.memory.test_api import assert_error, parse_iso


def save(client, user_id: int, content: str):
    assert client.post("/api/v1/memory", json={"user_id": user_id, "content": content}).status_code == 200


def revision_ids(client, user_id: int) -> list[int]:
    """Newest first, as the revisions endpoint lists them."""
    return [r["id"] for r in client.get(f"/api/v1/memory/{user_id}/revisions").get_json()["revisions"]]


def restore_url(user_id: int, revision_id: int) -> str:
    return f"/api/v1/memory/{user_id}/revisions/{revision_id}/restore"


class TestRestore:
    def test_undo_last_regeneration_restores_the_previous_text_as_a_new_revision(self, client):
        save(client, 1, "good summary")
        save(client, 1, "bad regeneration")
        previous = revision_ids(client, 1)[1]
        response = client.post(restore_url(1, previous))
        assert response.status_code == 200
        body = response.get_json()
        assert body["message"] == "Revision restored"
        assert body["memory"]["content"] == "good summary"
        assert body["memory"]["version"] == 3
        assert response.headers["ETag"] == '"3"'
        revisions = client.get("/api/v1/memory/1/revisions").get_json()["revisions"]
        assert [(r["content"], r["source"]) for r in revisions] == [
            ("good summary", "restore"),
            ("bad regeneration", "frontend"),
            ("good summary", "frontend"),
        ]
        assert revisions[0]["actor"] == "service:tests"

    def test_a_revision_of_another_user_is_404_and_changes_nothing(self, client):
        save(client, 1, "mine")
        save(client, 2, "theirs")
        theirs = revision_ids(client, 2)[0]
        body = assert_error(client.post(restore_url(1, theirs)), 404)
        assert "no revision" in body["message"]
        assert client.get("/api/v1/memory/1").get_json()["memory"]["content"] == "mine"
        assert_error(client.post(restore_url(1, 999_999)), 404)

    def test_restore_honours_if_match(self, client, db):
        save(client, 1, "one")
        save(client, 1, "two")
        first = revision_ids(client, 1)[1]
        assert (
            assert_error(client.post(restore_url(1, first), headers={"If-Match": '"1"'}), 412)[
                "current_version"
            ]
            == 2
        )
        assert db.session.query(MemoryRevision).filter_by(source="restore").count() == 0
        ok = client.post(restore_url(1, first), json={"expected_version": 2})
        assert ok.get_json()["memory"]["content"] == "one"

    def test_restore_is_refused_while_memory_is_off(self, client):
        save(client, 1, "one")
        save(client, 1, "two")
        client.put("/api/v1/memory/1/settings", json={"enabled": False})
        assert_error(client.post(restore_url(1, revision_ids(client, 1)[1])), 409)
        assert client.get("/api/v1/memory/1").get_json()["memory"]["content"] == "two"

    def test_a_user_token_may_only_restore_its_own_revisions(self, client, app):
        from aura.auth.tokens import mint_user_token

        save(client, 1, "one")
        with app.app_context():
            token = mint_user_token(2)
        response = client.post(
            restore_url(1, revision_ids(client, 1)[0]), headers={"Authorization": f"Bearer {token}"}
        )
        assert_error(response, 403)

    def test_bad_ids_and_bodies_are_clear_errors(self, client):
        assert_error(client.post(restore_url(1, 0)), 422, "revision_id")
        assert_error(client.post("/api/v1/memory/1/revisions/abc/restore"), 422, "revision_id")
        assert_error(client.post(restore_url(1, 1), json={"expected_version": "2"}), 422, "expected_version")
        assert_error(client.post(restore_url(1, 1), json={"surprise": 1}), 422, "surprise")


class TestExport:
    def test_export_round_trips_everything_kept_about_the_memory(self, client):
        texts = ["first: likes tea ☕", 'second: 日本語 and "quotes"', "third: prefers short answers"]
        for text in texts:
            save(client, 3, text)
        client.put("/api/v1/memory/3/settings", json={"enabled": False})

        response = client.get("/api/v1/memory/3/export")
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == 'attachment; filename="aura-memory-3.json"'
        document = json.loads(response.get_data(as_text=True))
        assert document["status"] == "ok"
        assert document["format"] == 1
        assert document["user_id"] == 3
        parse_iso(document["exported_at"])
        assert document["memory"] == client.get("/api/v1/memory/3").get_json()["memory"]
        assert document["settings"] == {"enabled": False, "consolidation": "default"}
        assert [r["content"] for r in document["revisions"]] == texts  # oldest first
        assert {r["source"] for r in document["revisions"]} == {"frontend"}
        assert {r["actor"] for r in document["revisions"]} == {"service:tests"}
        listed = client.get("/api/v1/memory/3/revisions").get_json()["revisions"]
        assert document["revisions"] == list(reversed(listed))

    def test_export_of_a_user_with_nothing_stored(self, client):
        document = client.get("/api/v1/memory/4/export").get_json()
        assert document["memory"] is None
        assert document["revisions"] == []
        assert document["settings"] == {"enabled": True, "consolidation": "default"}

    def test_after_an_erasure_the_export_is_empty(self, client):
        save(client, 3, "to be forgotten")
        client.delete("/api/v1/memory/3")
        document = client.get("/api/v1/memory/3/export").get_json()
        assert document["memory"] is None and document["revisions"] == []
        assert "to be forgotten" not in json.dumps(document)

    def test_export_needs_the_users_own_token(self, anonymous):
        assert_error(anonymous.get("/api/v1/memory/3/export"), 401)
        assert_error(
            anonymous.get("/api/v1/memory/3/export", headers=AUTH | {"Authorization": "Bearer x"}), 401
        )


def test_revisions_carry_per_user_numbers_in_the_api_and_the_export(client):
    save(client, 7, "a")
    save(client, 8, "someone else")
    save(client, 7, "b")
    listed = client.get("/api/v1/memory/7/revisions").get_json()["revisions"]
    assert [r["number"] for r in listed] == [2, 1]
    exported = client.get("/api/v1/memory/7/export").get_json()["revisions"]
    assert [(r["number"], r["content"]) for r in exported] == [(1, "a"), (2, "b")]
