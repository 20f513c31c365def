"""One memory service under three protocols: what MCP writes is announced, logged, erased and kept
like any other write (no forked write path)."""

from __future__ import annotations

import base64
import logging

from sqlalchemy import select

from aura.consolidation.proposals import propose
from aura.extensions import db as _db
from aura.memory.types import Actor
from aura.models import WebhookDelivery
from tests.conftest import service_client
from tests.mcp.test_protocol import _post, _request

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
FACT = "Allergic to peanuts; lives at 221B Baker Street."


def _remember(client, user: int, fact: str = FACT) -> dict:
    call = _request("tools/call", {"name": "remember", "arguments": {"fact": fact}})
    return _post(client, call, user=user).get_json()["result"]


def test_a_remembered_fact_is_announced_by_webhook_without_its_text(make_app, db, tmp_path):
    app = make_app(
        AURA_WEBHOOK_URLS="https://hooks.example/aura",
        AURA_WEBHOOK_SECRET=SECRET,
        AURA_QUEUE_URL=f"sqlite:///{tmp_path}/queue.db",
    )
    assert _remember(app.test_client(), 21)["isError"] is False
    with app.app_context():
        deliveries = _db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.user_id == 21)).all()
        assert [(d.event_type, d.payload["data"]) for d in deliveries] == [
            ("memory.updated", {"user_id": 21, "version": 1, "source": "mcp"})
        ]
        assert "peanuts" not in str(deliveries[0].payload)


def test_erasure_through_the_api_empties_what_mcp_reads(client):
    assert _remember(client, 22)["isError"] is False
    assert client.delete("/api/v1/memory/22").get_json()["deleted"] is True
    read = _post(client, _request("tools/call", {"name": "get_memory", "arguments": {}}), user=22)
    assert read.get_json()["result"]["structuredContent"] == {"memory": None}
    history = _post(client, _request("tools/call", {"name": "memory_history", "arguments": {}}), user=22)
    assert history.get_json()["result"]["structuredContent"]["total"] == 0


def test_the_request_log_names_the_user_but_never_the_memory(client, caplog):
    with caplog.at_level(logging.INFO):
        assert _remember(client, 23)["isError"] is False
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST /mcp 200" in logged
    fields = [r.aura_request for r in caplog.records if hasattr(r, "aura_request")]
    assert fields[-1]["user_id"] == 23 and fields[-1]["principal"] == "service"
    assert "peanuts" not in logged and "Baker" not in logged


def test_the_frontend_sees_what_an_agent_remembered(app, client):
    assert _remember(client, 24, "Prefers short answers.")["isError"] is False
    body = service_client(app).get("/api/v1/memory/24").get_json()
    assert body["memory"]["content"] == "Prefers short answers." and body["memory"]["version"] == 1


def test_a_fact_joining_a_held_consolidation_keeps_it_flagged(app, client):
    """Review mode: a consolidation held for dropping a fact stays held for that reason when an
    agent's fact joins it, so nobody accepts the loss thinking it is an ordinary review."""
    client.post("/api/v1/memory", json={"user_id": 25, "content": "Lives in Porto.\nPlays the cello."})
    client.put("/api/v1/memory/25/settings", json={"enabled": True, "consolidation": "review"})
    with app.app_context():
        propose(
            25, "Lives in Porto.", 1, "dropped_facts", {"dropped_facts": ["Plays the cello."]}, Actor("t")
        )
    assert _remember(client, 25, "Has a cat called Miso.")["structuredContent"]["status"] == "held_for_review"
    proposal = client.get("/api/v1/memory/25/proposal").get_json()["proposal"]
    assert proposal["content"] == "Lives in Porto.\nHas a cat called Miso."
    assert proposal["reason"] == "dropped_facts" and proposal["source"] == "consolidation"
    assert proposal["details"]["dropped_facts"] == ["Plays the cello."]
