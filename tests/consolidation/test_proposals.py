"""Review before it changes: review mode, the shrink guard, and accepting or rejecting proposals."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import FAKE_API_KEY, service_client
from tests.consolidation.conftest import consolidate_url, said
from tests.fake_llm import Answer
from tests.test_auth import bearer, user_token

LONG_MEMORY = "Name: Priya.\nVegetarian.\nHas two kids.\nPlays the cello.\nLives in Toronto."


@pytest.fixture()
def review_app(make_app, fake_llm, db):
    return make_app(
        AURA_LLM_BASE_URL=fake_llm.url,
        AURA_LLM_MODEL="m",
        AURA_LLM_API_KEY=FAKE_API_KEY,
        AURA_CONSOLIDATION_MODE="review",
    )


@pytest.fixture()
def review(review_app):
    return service_client(review_app)


def _save(client, user_id: int, content: str) -> int:
    return client.post("/api/v1/memory", json={"user_id": user_id, "content": content}).get_json()["memory"][
        "version"
    ]


def _memory(client, user_id: int):
    return client.get(f"/api/v1/memory/{user_id}").get_json()["memory"]


def _proposal(client, user_id: int):
    return client.get(f"/api/v1/memory/{user_id}/proposal").get_json()["proposal"]


def _consolidate(client, fake_llm, user_id: int, reply: str, *turns: str):
    fake_llm.script(Answer(reply=reply))
    return client.post(consolidate_url(user_id), json={"messages": said(*(turns or ("hello",)))})


class TestReviewMode:
    def test_a_consolidation_becomes_a_proposal_and_the_memory_waits(self, review, fake_llm):
        version = _save(review, 1, "Likes tea.")
        response = _consolidate(review, fake_llm, 1, "Likes tea.\nHas a cat.", "I got a cat")
        body = response.get_json()
        assert response.status_code == 200 and body["changed"] is False
        assert body["held_for_review"] == "review" and body["memory"]["content"] == "Likes tea."
        proposal = body["proposal"]
        assert proposal["content"] == "Likes tea.\nHas a cat." and proposal["based_on_version"] == version
        assert proposal["reason"] == "review" and proposal["source"] == "consolidation"
        assert proposal["details"]["model"] == "m"
        assert _proposal(review, 1) == proposal
        assert _memory(review, 1)["content"] == "Likes tea."

    def test_accepting_makes_it_the_memory_and_records_how(self, review, fake_llm):
        _save(review, 2, "Likes tea.")
        reply = "Likes tea.\nHas a cat."
        proposal = _consolidate(review, fake_llm, 2, reply, "I got a cat").get_json()["proposal"]
        response = review.post("/api/v1/memory/2/proposal/accept", json={"proposal_id": proposal["id"]})
        assert response.status_code == 200 and response.headers["ETag"] == '"2"'
        assert response.get_json()["memory"]["content"] == "Likes tea.\nHas a cat."
        assert _proposal(review, 2) is None
        newest = review.get("/api/v1/memory/2/revisions").get_json()["revisions"][0]
        assert newest["source"] == "consolidation"
        assert newest["details"]["held_for_review"] == "review"
        assert newest["details"]["accepted_by"] == "service:tests"

    def test_rejecting_drops_it_and_keeps_the_memory(self, review, fake_llm):
        _save(review, 3, "Likes tea.")
        proposal = _consolidate(review, fake_llm, 3, "Likes coffee.").get_json()["proposal"]
        response = review.post("/api/v1/memory/3/proposal/reject")
        assert response.status_code == 200 and response.get_json()["proposal"]["id"] == proposal["id"]
        assert _proposal(review, 3) is None and _memory(review, 3)["content"] == "Likes tea."
        again = review.post("/api/v1/memory/3/proposal/reject")
        assert again.status_code == 404 and again.get_json()["code"] == "no_proposal"

    def test_a_newer_proposal_replaces_the_older_one(self, review, fake_llm):
        _save(review, 4, "Likes tea.")
        first = _consolidate(review, fake_llm, 4, "Likes tea and cats.").get_json()["proposal"]
        second = _consolidate(review, fake_llm, 4, "Likes tea and dogs.").get_json()["proposal"]
        assert _proposal(review, 4)["id"] == second["id"] != first["id"]
        response = review.post("/api/v1/memory/4/proposal/accept", json={"proposal_id": first["id"]})
        assert response.status_code == 409
        assert response.get_json()["code"] == "proposal_replaced"
        assert response.get_json()["pending_proposal_id"] == second["id"]
        assert _memory(review, 4)["content"] == "Likes tea."

    def test_a_proposal_made_from_an_older_memory_is_stale(self, review, fake_llm):
        _save(review, 5, "Likes tea.")
        _consolidate(review, fake_llm, 5, "Likes tea and cats.")
        _save(review, 5, "Likes green tea.")  # the frontend regenerated meanwhile
        response = review.post("/api/v1/memory/5/proposal/accept")
        assert response.status_code == 409
        assert response.get_json()["code"] == "proposal_stale" and response.get_json()["current_version"] == 2
        assert _memory(review, 5)["content"] == "Likes green tea."

    def test_accept_honours_if_match(self, review, fake_llm):
        _save(review, 6, "Likes tea.")
        _consolidate(review, fake_llm, 6, "Likes tea and cats.")
        response = review.post("/api/v1/memory/6/proposal/accept", headers={"If-Match": '"7"'})
        assert response.status_code == 412 and response.get_json()["code"] == "version_conflict"
        assert review.post("/api/v1/memory/6/proposal/accept", headers={"If-Match": '"1"'}).status_code == 200

    def test_two_accepts_at_once_make_one_revision(self, review_app, review, fake_llm):
        _save(review, 7, "Likes tea.")
        proposal = _consolidate(review, fake_llm, 7, "Likes tea and cats.").get_json()["proposal"]
        statuses: list[int] = []
        start = threading.Barrier(4)

        def accept() -> None:
            client = service_client(review_app)
            start.wait()
            url = "/api/v1/memory/7/proposal/accept"
            statuses.append(client.post(url, json={"proposal_id": proposal["id"]}).status_code)

        threads = [threading.Thread(target=accept) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses)[0] == 200 and statuses.count(200) == 1
        assert all(status == 409 for status in statuses if status != 200)
        revisions = review.get("/api/v1/memory/7/revisions").get_json()["revisions"]
        assert [r["source"] for r in revisions] == ["consolidation", "frontend"]

    def test_proposals_are_exported_and_erased(self, review, fake_llm):
        _save(review, 8, "Likes tea.")
        _consolidate(review, fake_llm, 8, "Likes tea and cats.")
        assert (
            review.get("/api/v1/memory/8/export").get_json()["proposal"]["content"] == "Likes tea and cats."
        )
        review.delete("/api/v1/memory/8")
        assert _proposal(review, 8) is None
        assert review.get("/api/v1/memory/8/export").get_json()["proposal"] is None


class TestPerUserMode:
    def test_a_user_may_choose_review_while_the_deployment_is_automatic(
        self, consolidation_app, api, fake_llm
    ):
        client = consolidation_app.test_client()
        headers = bearer(user_token("30"))
        response = client.put("/api/v1/memory/30/settings", json={"consolidation": "review"}, headers=headers)
        assert response.get_json()["settings"] == {"enabled": True, "consolidation": "review"}
        assert (
            _consolidate(api, fake_llm, 30, "Likes tea.", "I like tea").get_json()["held_for_review"]
            == "review"
        )
        api.put("/api/v1/memory/30/settings", json={"consolidation": "auto"})
        assert _consolidate(api, fake_llm, 30, "Likes tea.", "I like tea").get_json()["changed"] is True

    def test_auto_for_one_user_while_the_deployment_reviews(self, review, fake_llm):
        review.put("/api/v1/memory/31/settings", json={"consolidation": "auto"})
        assert _consolidate(review, fake_llm, 31, "Likes tea.", "I like tea").get_json()["changed"] is True

    def test_put_replaces_the_whole_settings_object(self, review):
        review.put("/api/v1/memory/32/settings", json={"consolidation": "auto"})
        response = review.put("/api/v1/memory/32/settings", json={"enabled": False})
        assert response.get_json()["settings"] == {"enabled": False, "consolidation": "default"}

    def test_users_cannot_choose_where_the_deployment_decides(self, make_app, fake_llm, db):
        app = make_app(AURA_CONSOLIDATION_USER_MAY_CHOOSE=False)
        client = app.test_client()
        url = "/api/v1/memory/33/settings"
        refused = client.put(url, json={"consolidation": "review"}, headers=bearer(user_token("33")))
        assert refused.status_code == 403 and "consolidation" in refused.get_json()["errors"]
        assert client.put(url, json={"enabled": False}, headers=bearer(user_token("33"))).status_code == 200
        assert service_client(app).put(url, json={"consolidation": "review"}).status_code == 200


class TestShrinkGuard:
    def test_a_terse_rewrite_keeping_every_fact_is_still_held_when_it_shrinks_the_memory(self, api, fake_llm):
        verbose = (
            "Her name is Priya, which is the name she would like everyone here to use for her.\n"
            "She is vegetarian, and she has been vegetarian for a very long time.\n"
            "She lives in Toronto, where she has been living for the last ten years or so."
        )
        _save(api, 40, verbose)
        body = _consolidate(
            api,
            fake_llm,
            40,
            "Name: Priya; vegetarian for a long time; lives in Toronto, ten years.",
            "hello",
        ).get_json()
        assert body["changed"] is False and body["held_for_review"] == "shrink"
        assert body["proposal"]["reason"] == "shrink"
        assert _memory(api, 40)["content"] == verbose

    def test_what_the_credential_filter_left_in_a_turn_is_no_request_to_forget(self, api, fake_llm):
        """'[removed]' contains 'remove', a forget phrase: the guard reads past it."""
        verbose = "She lives in Toronto, where she has been living for the last ten years or so.\n" * 3
        _save(api, 41, verbose.strip())
        terse = "Lives in Toronto, ten years."
        body = _consolidate(api, fake_llm, 41, terse, "my token is sk-proj-AbCdEf0123456789XyZ").get_json()
        assert body["changed"] is False and body["held_for_review"] == "shrink"


class TestRetention:
    """A result that loses facts nobody asked to forget is never applied, in any mode."""

    def test_a_result_dropping_facts_is_held_even_in_auto_mode_naming_them(self, api, fake_llm):
        _save(api, 43, LONG_MEMORY)
        body = _consolidate(
            api, fake_llm, 43, "Name: Priya.\nStarted a new job.", "I started a new job"
        ).get_json()
        assert body["changed"] is False and body["held_for_review"] == "dropped_facts"
        assert body["proposal"]["reason"] == "dropped_facts"
        assert body["proposal"]["details"]["dropped_facts"] == [
            "Vegetarian.",
            "Has two kids.",
            "Plays the cello.",
            "Lives in Toronto.",
        ]
        assert _memory(api, 43)["content"] == LONG_MEMORY

    @pytest.mark.parametrize(
        "turn", ["Please forget everything about my kids.", "Please don't remember anything about my kids."]
    )
    def test_a_user_asking_to_forget_a_fact_may_drop_it(self, api, fake_llm, turn):
        _save(api, 41, LONG_MEMORY)
        fake_llm.script(Answer(reply=LONG_MEMORY.replace("\nHas two kids.", "")))
        body = api.post(consolidate_url(41), json={"messages": said(turn)}).get_json()
        assert body["changed"] is True and "held_for_review" not in body
        assert "kids" not in body["memory"]["content"]

    @pytest.mark.parametrize(
        ("turn", "who"),
        [
            ("Forget everything you know about me.", "user"),
            ("Please wipe your memory and start over.", "user"),
            ("I no longer play the cello, and you should forget all of this.", "assistant"),
        ],
    )
    def test_a_request_to_wipe_the_memory_or_the_assistants_word_drops_nothing(
        self, api, fake_llm, turn, who
    ):
        """Forgetting is per fact: a wipe names none (erasure is DELETE), and only the user's own
        turns may justify a removal."""
        _save(api, 44, LONG_MEMORY)
        fake_llm.script(Answer(reply="Name: Priya."))
        messages = [{"role": who, "content": turn}] + ([] if who == "user" else said("ok"))
        body = api.post(consolidate_url(44), json={"messages": messages}).get_json()
        assert body["changed"] is False and body["held_for_review"] == "dropped_facts"
        assert _memory(api, 44)["content"] == LONG_MEMORY

    def test_a_fact_the_user_asks_to_forget_goes_without_review(self, api, fake_llm):
        _save(api, 42, LONG_MEMORY)
        turn = "I don't play the cello anymore, please forget it."
        body = _consolidate(api, fake_llm, 42, LONG_MEMORY.replace("\nPlays the cello.", ""), turn).get_json()
        assert body["changed"] is True


class TestMemorySwitchedOffDuringTheModelCall:
    """Memory off means nothing of the user's is written after the switch: the consolidation
    read "on" before its model call, the user switched memory off while the model answered."""

    @pytest.mark.parametrize(
        ("mode", "memory", "reply", "turn"),
        [
            ("review", "Likes tea.", "Likes tea.\nHas a cat.", "I got a cat"),  # a proposal
            ("auto", LONG_MEMORY, "Name: Priya.", "hello"),  # held: drops facts
            ("auto", "Likes tea.", "Likes tea.\nHas a cat.", "I got a cat"),  # saved at once
        ],
        ids=["review-proposal", "held-proposal", "auto-save"],
    )
    def test_every_write_path_checks_the_switch_in_its_own_transaction(
        self, consolidation_app, api, fake_llm, db, mode, memory, reply, turn
    ):
        from aura.memory import settings
        from aura.memory.types import Actor

        _save(api, 60, memory)
        api.put("/api/v1/memory/60/settings", json={"consolidation": mode})

        def user_switches_off_meanwhile(body: dict) -> Answer:
            with consolidation_app.app_context():
                settings.update_settings(60, Actor("user:60"), enabled=False)
            return Answer(reply=reply)

        fake_llm.responder = user_switches_off_meanwhile
        response = api.post(consolidate_url(60), json={"messages": said(turn)})
        assert response.status_code == 409 and response.get_json()["code"] == "memory_disabled"
        assert _proposal(api, 60) is None
        api.put("/api/v1/memory/60/settings", json={"enabled": True})
        assert _memory(api, 60)["content"] == memory and _memory(api, 60)["version"] == 1
