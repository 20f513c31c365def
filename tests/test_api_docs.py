"""The browsable API docs: served entirely by AURA, rendering in a real browser with no outside request."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer


def test_docs_page_and_its_files_need_no_token_and_no_cdn(anonymous):
    page = anonymous.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html  # every file is ours
    assert "<script>" not in html  # no inline script: the page keeps the strict CSP
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    with anonymous.get("/api/v1/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200 and len(asset.data) > 100_000
    assert anonymous.get("/api/v1/docs/assets/../../../etc/passwd").status_code == 404


def test_the_openapi_document_describes_auth_errors_and_limits(anonymous):
    description = anonymous.get("/api/v1/openapi.json").get_json()["info"]["description"]
    for topic in ("Authorization: Bearer", '"status": "error"', "rate-limited", "If-Match"):
        assert topic in description


@pytest.mark.browser
def test_docs_render_in_chromium_without_any_request_leaving_the_machine(app, db, browser_page):
    server = LiveServer(app).start()
    outside: list[str] = []

    def only_this_server(route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    try:
        page = browser_page
        page.route("**/*", only_this_server)
        page.goto(f"{server.url}/api/v1/docs")
        page.locator(".opblock").first.wait_for()
        summaries = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/api/v1/memory" in summaries and "/api/v1/orcha/chat" in summaries
        assert "/api/v1/memory/{user_id}/consolidate" in summaries
        assert "/api/v1/memory/{user_id}/conversations" in summaries
        assert "/v1/chat/completions" in summaries and "/v1/models" in summaries
        assert "/mcp" in summaries and "/.well-known/oauth-protected-resource/mcp" in summaries
        # AURA's 15 operations, OpenAI's 3 (/v1), MCP's one and its 2 discovery documents
        assert len(summaries) == 21
        page.get_by_text("Authentication.", exact=False).first.wait_for()
        assert outside == []
        assert page.dialogs == []
    finally:
        server.stop()


def test_operation_summaries_are_plain_text(anonymous):
    """Swagger UI shows a summary as is (only descriptions are Markdown): no literal backticks."""
    spec = anonymous.get("/api/v1/openapi.json").get_json()
    summaries = [op["summary"] for path in spec["paths"].values() for op in path.values() if "summary" in op]
    assert summaries and not [s for s in summaries if "`" in s]
