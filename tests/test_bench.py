"""The benchmark's own parts: the loopback model speaks the protocol, and the report adds up."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from model import start_model  # noqa: E402
from run import markdown, ratios  # noqa: E402


@pytest.fixture(scope="module")
def model_url():
    port, process = start_model(chunks=3, chunk_gap=0.01, reply_delay=0.01)
    yield f"http://127.0.0.1:{port}/v1/chat/completions"
    process.terminate()
    process.wait(timeout=10)


def test_the_loopback_model_answers_whole_replies_on_a_kept_alive_connection(model_url):
    body = {"model": "bench", "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client() as http:
        first, second = http.post(model_url, json=body), http.post(model_url, json=body)
    assert first.json()["choices"][0]["message"]["content"] == "Hello from the bench model."
    assert second.status_code == 200 and second.json()["usage"]["total_tokens"] == 16


def test_the_loopback_model_streams_chunks_then_done(model_url):
    body = {"model": "bench", "messages": [], "stream": True}
    with httpx.stream("POST", model_url, json=body) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    assert len(lines) == 4 and lines[-1] == "data: [DONE]"


RESULTS = {
    "seed": {"get": {"rps": 500.0, "p50_ms": 40.0, "p99_ms": 100.0, "non_2xx": 0, "socket_errors": 0}},
    "ceiling": {"get": {"rps": 4000.0, "p50_ms": 8.0, "p99_ms": 20.0, "non_2xx": 0, "socket_errors": 0}},
    "aura": {
        "get": {"rps": 2000.0, "p50_ms": 12.0, "p99_ms": 30.0, "non_2xx": 0, "socket_errors": 0},
        "chat": {
            **{"rps": 18.0, "p50_ms": 53.5, "p99_ms": 56.0, "non_2xx": 2, "socket_errors": 1},
            "all_p99_ms": [55.2, 56.0, 181.4],
        },
    },
    "model": {"chat": {"rps": 20.0, "p50_ms": 50.5, "p99_ms": 51.0, "non_2xx": 0, "socket_errors": 0}},
    "floor": {"chat": {"rps": 19.0, "p50_ms": 52.0, "p99_ms": 53.0, "non_2xx": 0, "socket_errors": 0}},
}


def test_ratios_compare_systems_from_the_same_run_and_say_what_was_not_measured():
    r = ratios(RESULTS)
    assert (r["aura_get_vs_seed"], r["aura_get_vs_ceiling"], r["aura_get_p99_vs_seed"]) == (4.0, 0.5, 0.3)
    assert r["chat_overhead_p50_ms"] == 3.0
    assert (r["floor_chat_overhead_p50_ms"], r["aura_chat_overhead_vs_floor"]) == (1.5, 2.0)
    assert r["aura_post_vs_seed"] is None


def test_the_markdown_table_counts_every_failed_request_and_shows_each_runs_tail():
    table = markdown({"results": RESULTS, "ratios": ratios(RESULTS)})
    assert "| AURA, PostgreSQL | chat | 18 | 53.5 ms | 56.0 ms | 55, 56, 181 ms | 3 |" in table
    assert "| the loopback model alone | chat | 20 | 50.5 ms | 51.0 ms | - | 0 |" in table
    assert "| aura_post_vs_seed | n/a |" in table


def test_the_relay_floor_answers_the_chat_request_through_the_model(model_url, monkeypatch):
    """The floor does the least any Flask relay can: read the message, ask the model, answer."""
    import relay_floor

    monkeypatch.setattr(relay_floor, "_model", relay_floor.urlsplit(model_url))
    monkeypatch.setattr(relay_floor, "_connection", None)
    client = relay_floor.app.test_client()
    sockets = []
    for _ in range(2):
        reply = client.post("/api/v1/orcha/chat", json={"user_id": 1, "message": "What do I like?"})
        assert reply.json == {"status": "ok", "reply": "Hello from the bench model."}
        sockets.append(relay_floor._connection.sock)
    relay_floor._connection.close()
    assert sockets[0] is sockets[1] is not None  # the second turn went over the kept-alive connection


def test_the_relay_floor_recovers_a_connection_left_mid_request(model_url, monkeypatch):
    """A turn cut short leaves http.client's connection mid-request; the next turns must not all fail."""
    import relay_floor

    model = relay_floor.urlsplit(model_url)
    stuck = relay_floor.http.client.HTTPConnection(model.hostname, model.port, timeout=5)
    stuck.putrequest("POST", "/v1/chat/completions")  # sent, never finished: CannotSendRequest next
    monkeypatch.setattr(relay_floor, "_model", model)
    monkeypatch.setattr(relay_floor, "_connection", stuck)
    reply = relay_floor.app.test_client().post("/api/v1/orcha/chat", json={"user_id": 1, "message": "hi"})
    assert reply.status_code == 200 and reply.json["reply"] == "Hello from the bench model."
    assert relay_floor._connection is not stuck
    relay_floor._connection.close()
