"""The memory JSON API: the frontend's contract, upsert semantics and every error shape."""

from __future__ import annotations

from datetime import datetime

import pytest

from aura.models import MemoryRevision, User, UserMemory

SAVE_URL = "/api/v1/memory"


def save(client, user_id, content):
    return client.post(SAVE_URL, json={"user_id": user_id, "content": content})


def assert_error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "error"
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    if field:
        assert field in body["errors"], body
    return body


def parse_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, f"{value} is not timezone-aware"
    return parsed


class TestFrontendContract:
    def test_save_returns_the_exact_shape_save_memory_expects(self, client):
        response = save(client, 42, "Enjoys hiking; prefers short answers.")
        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] == "ok"
        assert body["message"] == "Memory saved successfully"

    def test_get_without_memory_is_ok_with_null(self, client):
        response = client.get("/api/v1/memory/42")
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok", "memory": None}

    def test_get_returns_content_and_iso_timestamps(self, client):
        save(client, 42, "Enjoys hiking.")
        body = client.get("/api/v1/memory/42").get_json()
        assert body["status"] == "ok"
        memory = body["memory"]
        # getMemory()'s fields, plus the version added for conditional writes (never renamed).
        assert set(memory) == {"content", "created_at", "updated_at", "version"}
        assert memory["content"] == "Enjoys hiking."
        assert parse_iso(memory["created_at"]) == parse_iso(memory["updated_at"])

    def test_numeric_string_user_id_is_accepted_as_the_same_user(self, client):
        assert save(client, "42", "from a string id").status_code == 200
        assert client.get("/api/v1/memory/42").get_json()["memory"]["content"] == "from a string id"


class TestUpsert:
    def test_saving_again_replaces_content_and_keeps_created_at(self, client, db):
        first = save(client, 7, "first").get_json()["memory"]
        second = save(client, 7, "second").get_json()["memory"]
        assert second["content"] == "second"
        assert second["created_at"] == first["created_at"]
        assert parse_iso(second["updated_at"]) > parse_iso(first["updated_at"])
        assert db.session.query(UserMemory).filter_by(user_id=7).count() == 1
        assert client.get("/api/v1/memory/7").get_json()["memory"] == second

    def test_first_save_creates_the_user_row(self, client, db):
        assert db.session.get(User, 99) is None
        save(client, 99, "hello")
        assert db.session.get(User, 99) is not None

    def test_every_save_appends_a_revision(self, client, db):
        for text in ("one", "two", "three"):
            save(client, 5, text)
        rows = db.session.query(MemoryRevision).filter_by(user_id=5).order_by(MemoryRevision.id).all()
        assert [r.content for r in rows] == ["one", "two", "three"]
        assert {r.source for r in rows} == {"frontend"}

    def test_users_do_not_see_each_others_memory(self, client):
        save(client, 1, "one's memory")
        save(client, 2, "two's memory")
        assert client.get("/api/v1/memory/1").get_json()["memory"]["content"] == "one's memory"
        assert client.get("/api/v1/memory/2").get_json()["memory"]["content"] == "two's memory"


class TestContent:
    @pytest.mark.parametrize(
        "text",
        [
            "Aime le café ☕ et les randonnées 🏔️",
            "שלום עולם",
            "日本語のメモ",
            "line one\nline two\t<b>tags</b>",
        ],
    )
    def test_unicode_round_trips_exactly(self, client, text):
        assert save(client, 3, text).status_code == 200
        assert client.get("/api/v1/memory/3").get_json()["memory"]["content"] == text

    def test_content_at_the_limit_is_accepted(self, client, app):
        limit = app.config["AURA_MAX_MEMORY_CHARS"]
        text = "🧠" * limit
        assert save(client, 4, text).status_code == 200
        assert client.get("/api/v1/memory/4").get_json()["memory"]["content"] == text

    def test_content_over_the_limit_is_422_and_writes_nothing(self, client, app, db):
        limit = app.config["AURA_MAX_MEMORY_CHARS"]
        body = assert_error(save(client, 4, "x" * (limit + 1)), 422, "content")
        assert f"{limit:,}" in body["errors"]["content"][0]
        assert db.session.get(User, 4) is None
        assert db.session.query(MemoryRevision).count() == 0


class TestDelete:
    def test_delete_erases_memory_and_revisions(self, client, db):
        save(client, 8, "a")
        save(client, 8, "b")
        response = client.delete("/api/v1/memory/8")
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok", "message": "Memory deleted", "deleted": True}
        assert client.get("/api/v1/memory/8").get_json() == {"status": "ok", "memory": None}
        assert db.session.query(MemoryRevision).filter_by(user_id=8).count() == 0

    def test_delete_is_idempotent(self, client):
        save(client, 8, "a")
        client.delete("/api/v1/memory/8")
        again = client.delete("/api/v1/memory/8")
        assert again.status_code == 200
        assert again.get_json()["deleted"] is False

    def test_delete_leaves_other_users_alone(self, client):
        save(client, 8, "a")
        save(client, 9, "b")
        client.delete("/api/v1/memory/8")
        assert client.get("/api/v1/memory/9").get_json()["memory"]["content"] == "b"


class TestRevisions:
    def test_newest_first_and_paginated(self, client):
        for i in range(5):
            save(client, 11, f"v{i}")
        page1 = client.get("/api/v1/memory/11/revisions?per_page=2").get_json()
        page3 = client.get("/api/v1/memory/11/revisions?per_page=2&page=3").get_json()
        assert [r["content"] for r in page1["revisions"]] == ["v4", "v3"]
        assert [r["content"] for r in page3["revisions"]] == ["v0"]
        assert page1["pagination"] == {"page": 1, "per_page": 2, "total": 5, "pages": 3}
        assert page1["revisions"][0]["source"] == "frontend"
        parse_iso(page1["revisions"][0]["created_at"])

    def test_unknown_user_has_an_empty_history(self, client):
        body = client.get("/api/v1/memory/12345/revisions").get_json()
        assert body["revisions"] == []
        assert body["pagination"]["total"] == 0

    @pytest.mark.parametrize("query", ["per_page=0", "per_page=101", "page=0", "page=x"])
    def test_bad_paging_is_422(self, client, query):
        assert_error(client.get(f"/api/v1/memory/1/revisions?{query}"), 422)


class TestErrors:
    def test_malformed_json_is_400(self, client, db):
        response = client.post(SAVE_URL, data='{"user_id": 1, "content": ', content_type="application/json")
        assert_error(response, 400)
        assert db.session.query(User).count() == 0

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"content": "x"}, "user_id"),
            ({"user_id": 1}, "content"),
            ({"user_id": 0, "content": "x"}, "user_id"),
            ({"user_id": -3, "content": "x"}, "user_id"),
            ({"user_id": 1.5, "content": "x"}, "user_id"),
            ({"user_id": True, "content": "x"}, "user_id"),
            ({"user_id": " 42", "content": "x"}, "user_id"),
            ({"user_id": "4e2", "content": "x"}, "user_id"),
            ({"user_id": 10**18, "content": "x"}, "user_id"),
            ({"user_id": "1000000000000000000", "content": "x"}, "user_id"),
            ({"user_id": "042", "content": "x"}, "user_id"),
            ({"user_id": None, "content": "x"}, "user_id"),
            ({"user_id": 1, "content": ""}, "content"),
            ({"user_id": 1, "content": "   \n"}, "content"),
            ({"user_id": 1, "content": 5}, "content"),
            ({"user_id": 1, "content": "nul\x00byte"}, "content"),
            ({"user_id": 1, "content": "lone \ud800 surrogate"}, "content"),
            ({"user_id": 1, "content": "x", "userId": 1}, "userId"),
        ],
    )
    def test_invalid_fields_are_422_with_field_details(self, client, db, payload, field):
        assert_error(client.post(SAVE_URL, json=payload), 422, field)
        assert db.session.query(User).count() == 0

    @pytest.mark.parametrize("body", ["[1, 2]", '"text"', "null", "42"])
    def test_json_that_is_not_an_object_is_422(self, client, body):
        assert_error(client.post(SAVE_URL, data=body, content_type="application/json"), 422)

    @pytest.mark.parametrize("user_id", ["0", "abc", "-1", "99999999999999999999"])
    def test_bad_user_id_in_path_is_422(self, client, user_id):
        assert_error(client.get(f"/api/v1/memory/{user_id}"), 422, "user_id")
        assert_error(client.delete(f"/api/v1/memory/{user_id}"), 422, "user_id")

    def test_unknown_api_route_is_json_404(self, client):
        assert_error(client.get("/api/v1/nothing-here"), 404)

    def test_wrong_method_is_json_405_with_allow(self, client):
        response = client.put(SAVE_URL, json={})
        assert_error(response, 405)
        assert "POST" in response.headers["Allow"]

    def test_oversized_body_is_413(self, client, app, db):
        limit = app.config["MAX_CONTENT_LENGTH"]
        body = assert_error(save(client, 1, "x" * limit), 413)
        assert f"{limit:,}" in body["message"]
        assert db.session.query(User).count() == 0

    def test_pages_outside_the_api_keep_html_errors(self, client):
        response = client.get("/no-such-page")
        assert response.status_code == 404
        assert response.mimetype == "text/html"

    def test_openapi_document_describes_the_memory_endpoints(self, client):
        spec = client.get("/api/v1/openapi.json").get_json()
        assert {"/api/v1/memory", "/api/v1/memory/{user_id}", "/api/v1/memory/{user_id}/revisions"} <= set(
            spec["paths"]
        )
        assert "Error" in spec["components"]["schemas"]
