"""No lost updates: every memory has a version (also its ETag); conditional writes get 412 when stale."""

from __future__ import annotations

import base64
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from aura.models import AuditEvent, MemoryRevision, WebhookDelivery
from tests.conftest import AUTH, service_client
from tests.memory.test_api import assert_error

SAVE_URL = "/api/v1/memory"


def save(client, user_id: int, content: str, **kwargs):
    return client.post(SAVE_URL, json={"user_id": user_id, "content": content}, **kwargs)


class TestVersions:
    def test_each_change_adds_one_and_get_sends_it_as_etag(self, client):
        first = save(client, 1, "one")
        assert first.get_json()["memory"]["version"] == 1
        assert first.headers["ETag"] == '"1"'
        assert save(client, 1, "two").get_json()["memory"]["version"] == 2
        response = client.get("/api/v1/memory/1")
        assert response.get_json()["memory"]["version"] == 2
        assert response.headers["ETag"] == '"2"'

    def test_no_memory_means_no_etag(self, client):
        response = client.get("/api/v1/memory/1")
        assert response.get_json() == {"status": "ok", "memory": None}
        assert "ETag" not in response.headers

    def test_a_version_is_never_reused_after_a_delete(self, client):
        save(client, 1, "one")
        client.delete("/api/v1/memory/1")
        again = save(client, 1, "new life").get_json()["memory"]
        assert again["version"] > 1  # an If-Match "1" from before the erasure can never match again
        assert_error(save(client, 1, "stale", headers={"If-Match": '"1"'}), 412)


class TestSavingTheSameText:
    """Saving the text the memory already holds is idempotent, like a repeated PUT."""

    @pytest.mark.parametrize("webhooks", [False, True], ids=["direct", "with-webhooks"])
    def test_it_answers_the_memory_as_it_is_and_writes_nothing(self, client, make_app, db, webhooks):
        if webhooks:  # memory events subscribed: the save runs in a transaction with the outbox
            secret = "whsec_" + base64.b64encode(b"0" * 32).decode()
            client = service_client(
                make_app(AURA_WEBHOOK_URLS="https://hooks.example/aura", AURA_WEBHOOK_SECRET=secret)
            )
        first = save(client, 1, "Likes tea.").get_json()["memory"]
        db.session.rollback()
        counts = [db.session.query(model).count() for model in (MemoryRevision, AuditEvent, WebhookDelivery)]
        again = save(client, 1, "Likes tea.")
        assert again.status_code == 200 and again.headers["ETag"] == '"1"'
        assert again.get_json()["memory"] == first  # same version, same updated_at
        db.session.rollback()
        assert [
            db.session.query(model).count() for model in (MemoryRevision, AuditEvent, WebhookDelivery)
        ] == counts
        assert save(client, 1, "Likes coffee.").get_json()["memory"]["version"] == 2  # a change still counts
        assert save(client, 1, "Likes tea.").get_json()["memory"]["version"] == 3  # and so does going back

    def test_with_memory_switched_off_it_is_still_409(self, client):
        save(client, 2, "Likes tea.")
        client.put("/api/v1/memory/2/settings", json={"enabled": False})
        response = save(client, 2, "Likes tea.")
        assert response.status_code == 409 and response.get_json()["code"] == "memory_disabled"


class TestConditionalWrites:
    def test_matching_if_match_writes(self, client):
        save(client, 1, "one")
        response = save(client, 1, "two", headers={"If-Match": '"1"'})
        assert response.status_code == 200
        assert response.get_json()["memory"] | {"created_at": None, "updated_at": None} == {
            "content": "two",
            "version": 2,
            "created_at": None,
            "updated_at": None,
        }

    def test_stale_if_match_is_412_with_the_current_version_and_writes_nothing(self, client, db):
        save(client, 1, "one")
        save(client, 1, "two")
        body = assert_error(save(client, 1, "based on one", headers={"If-Match": '"1"'}), 412, "version")
        assert body["current_version"] == 2
        assert "version 2" in body["message"]
        assert client.get("/api/v1/memory/1").get_json()["memory"]["content"] == "two"
        assert db.session.query(MemoryRevision).filter_by(content="based on one").count() == 0

    def test_412_carries_the_current_etag(self, client):
        save(client, 1, "one")
        save(client, 1, "two")
        response = save(client, 1, "x", headers={"If-Match": '"1"'})
        assert response.headers["ETag"] == '"2"'

    def test_expected_version_in_the_body_works_like_if_match(self, client):
        save(client, 1, "one")
        stale = client.post(SAVE_URL, json={"user_id": 1, "content": "x", "expected_version": 7})
        assert assert_error(stale, 412)["current_version"] == 1
        fresh = client.post(SAVE_URL, json={"user_id": 1, "content": "y", "expected_version": 1})
        assert fresh.get_json()["memory"]["version"] == 2

    def test_expected_version_zero_creates_only_when_there_is_no_memory(self, client):
        create = client.post(SAVE_URL, json={"user_id": 1, "content": "first", "expected_version": 0})
        assert create.status_code == 200
        again = client.post(SAVE_URL, json={"user_id": 1, "content": "second", "expected_version": 0})
        assert assert_error(again, 412)["current_version"] == 1

    def test_if_match_for_a_user_without_memory_is_412_and_creates_nothing(self, client, db):
        body = assert_error(save(client, 5, "x", headers={"If-Match": '"1"'}), 412)
        assert body["current_version"] is None
        assert client.get("/api/v1/memory/5").get_json()["memory"] is None

    def test_writes_without_a_precondition_keep_last_write_wins(self, client):
        save(client, 1, "one")
        save(client, 1, "two")
        assert save(client, 1, "three").status_code == 200  # what saveMemory() sends

    @pytest.mark.parametrize(
        "header", ["*", '"1", "2"', 'W/"1"', '"abc"', '"0"', "", '"1000000000"', '"5', "null"]
    )
    def test_malformed_if_match_is_400_naming_the_header(self, client, header):
        save(client, 1, "one")
        body = assert_error(save(client, 1, "x", headers={"If-Match": header}), 400, "If-Match")
        assert "If-Match" in body["message"]

    @pytest.mark.parametrize(("header", "body"), [('"1"', 2), ('"2"', 1)])
    def test_if_match_and_expected_version_must_both_hold(self, client, header, body):
        save(client, 1, "one")
        response = client.post(
            SAVE_URL,
            json={"user_id": 1, "content": "x", "expected_version": body},
            headers={"If-Match": header},
        )
        failed = assert_error(response, 412)
        assert failed["current_version"] == 1
        assert "expected version 2" in failed["message"]  # names the condition that failed
        both = client.post(
            SAVE_URL, json={"user_id": 1, "content": "x", "expected_version": 1}, headers={"If-Match": '"1"'}
        )
        assert both.status_code == 200

    @pytest.mark.parametrize("value", [-1, "1", 1.0, True, 10**9])
    def test_expected_version_must_be_a_small_non_negative_integer(self, client, value):
        response = client.post(SAVE_URL, json={"user_id": 1, "content": "x", "expected_version": value})
        assert_error(response, 422, "expected_version")


WRITERS = 10


def test_concurrent_conditional_writers_on_one_version_give_exactly_one_winner(live_server, db):
    with httpx.Client(base_url=live_server.url, headers=AUTH) as http:
        http.post(SAVE_URL, json={"user_id": 8, "content": "base"})
    barrier = threading.Barrier(WRITERS)

    def write(i: int) -> int:
        with httpx.Client(base_url=live_server.url, headers=AUTH, timeout=60) as http:
            barrier.wait()
            return http.post(
                SAVE_URL, json={"user_id": 8, "content": f"writer {i}"}, headers={"If-Match": '"1"'}
            ).status_code

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        codes = list(pool.map(write, range(WRITERS)))
    assert sorted(codes) == [200] + [412] * (WRITERS - 1)
    winner = codes.index(200)
    with httpx.Client(base_url=live_server.url, headers=AUTH) as http:
        memory = http.get("/api/v1/memory/8").json()["memory"]
    assert memory == memory | {"content": f"writer {winner}", "version": 2}
    assert db.session.query(MemoryRevision).filter_by(user_id=8).count() == 2
