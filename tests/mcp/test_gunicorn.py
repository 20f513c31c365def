"""AURA's /mcp as production serves it: gunicorn with two workers, no session kept, so each message
of a connection may reach either worker and every one is answered."""

from __future__ import annotations

import pytest

from tests.gunicorn_server import gunicorn
from tests.mcp.conftest import MODES, mcp_client, run


@pytest.mark.parametrize("mode", MODES)
def test_a_connection_is_served_by_whichever_worker_takes_each_message(app, db, database_url, mode):
    user = 900 if mode == "legacy" else 901

    async def body(url: str):
        async with mcp_client(url, user=user, mode=mode) as client:
            statuses = [
                (await client.call_tool("remember", {"fact": f"Fact number {n}."})).structured_content[
                    "status"
                ]
                for n in range(12)
            ]
            read = await client.call_tool("get_memory", {})
            history = await client.call_tool("memory_history", {"page": 2})
            return statuses, read.structured_content["memory"], history.structured_content

    with gunicorn(database_url, WEB_CONCURRENCY="2") as url:
        statuses, memory, history = run(body, url)
    assert statuses == ["added"] * 12
    assert memory["version"] == 12 and memory["content"].splitlines()[-1] == "Fact number 11."
    assert history["total"] == 12 and history["pages"] == 2 and len(history["revisions"]) == 2
