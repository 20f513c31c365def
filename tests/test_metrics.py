"""Prometheus metrics: what an operator watches, labelled by route and outcome, across workers."""

from __future__ import annotations

import re

import httpx

from tests.conftest import AUTH
from tests.gunicorn_server import gunicorn


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 if absent)."""
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}(?:{{(.*)}})? (\S+)$", line)
        if match and all(label in (match.group(1) or "") for label in wanted):
            total += float(match.group(2))
    return total


def test_requests_are_counted_by_route_template_and_status(client):
    before = client.get("/metrics").get_data(as_text=True)
    for user_id in (1, 2, 3):
        client.get(f"/api/v1/memory/{user_id}")
    client.get("/api/v1/memory/0")  # 422
    after = client.get("/metrics").get_data(as_text=True)
    labels = {"method": "GET", "endpoint": "/api/v1/memory/<user_id>"}
    ok = sample(after, "aura_http_requests_total", status="200", **labels)
    assert ok - sample(before, "aura_http_requests_total", status="200", **labels) == 3
    bad = sample(after, "aura_http_requests_total", status="422", **labels)
    assert bad - sample(before, "aura_http_requests_total", status="422", **labels) == 1
    count = sample(after, "aura_http_request_duration_seconds_count", **labels)
    assert count - sample(before, "aura_http_request_duration_seconds_count", **labels) == 4
    assert "/api/v1/memory/1" not in after  # ids never become labels


def test_made_up_methods_share_one_label_so_the_scrape_cannot_be_grown_by_requests(client):
    before = client.get("/metrics").get_data(as_text=True)
    for n in range(40):
        client.open(f"/api/v1/memory/{n}", method=f"MADEUP{n}")
        client.open("/nowhere", method=f"BREW{n}")
    after = client.get("/metrics").get_data(as_text=True)
    assert "MADEUP" not in after and "BREW" not in after
    other = sample(after, "aura_http_requests_total", method="other") - sample(
        before, "aura_http_requests_total", method="other"
    )
    assert other == 80
    assert len(after) - len(before) < 5_000  # a few new series, not 80 of each metric


def test_saves_are_counted_by_source_and_chat_by_outcome(client):
    before = client.get("/metrics").get_data(as_text=True)
    client.post("/api/v1/memory", json={"user_id": 5, "content": "one"})
    client.post("/api/v1/memory", json={"user_id": 5, "content": "two"})
    first = client.get("/api/v1/memory/5/revisions").get_json()["revisions"][-1]["id"]
    client.post(f"/api/v1/memory/5/revisions/{first}/restore")
    client.post("/api/v1/orcha/chat", json={"user_id": 5, "message": "hi", "dry_run": True})
    client.post("/api/v1/orcha/chat", json={"user_id": 5, "message": "hi"})  # no model configured
    after = client.get("/metrics").get_data(as_text=True)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("aura_memory_saves_total", source="frontend") == 2
    assert delta("aura_memory_saves_total", source="restore") == 1
    assert delta("aura_chat_calls_total", outcome="dry_run") == 1
    assert delta("aura_chat_calls_total", outcome="not_configured") == 1
    assert "aura_db_pool_connections_in_use" in after


def test_a_metrics_token_keeps_the_numbers_private(make_app, db):
    client = make_app(AURA_METRICS_TOKEN="m" * 40).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 40}).status_code == 200


def test_one_scrape_reports_the_requests_of_every_gunicorn_worker(app, db, database_url):
    with gunicorn(database_url, WEB_CONCURRENCY="2") as url:
        requests = 60
        for _ in range(requests):  # new connection each time: the workers share them out
            httpx.get(f"{url}/api/v1/memory/9", headers={**AUTH, "Connection": "close"})
        scrapes = {httpx.get(f"{url}/metrics", headers={"Connection": "close"}).text for _ in range(4)}
    labels = {"method": "GET", "endpoint": "/api/v1/memory/<user_id>", "status": "200"}
    # Whichever worker answered the scrape, the count covers both workers' requests.
    assert {sample(text, "aura_http_requests_total", **labels) for text in scrapes} == {requests}
