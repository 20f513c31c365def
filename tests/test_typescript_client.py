"""The TypeScript client (clients/typescript) in Chromium: a page on a second origin saves and
reads a memory and streams a chat reply through the bundled package, across CORS."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "clients" / "typescript"
BUNDLE = CLIENT / "dist" / "aura-client.bundle.js"
pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>frontend</title></head><body>
<script type="module">
import { configureAura, createAuraClient, getMemory, saveMemory } from "./aura-client.bundle.js";
const params = new URLSearchParams(location.search);
const baseUrl = params.get("aura"), token = params.get("token");
try {
  configureAura({ baseUrl, getToken: async () => token });
  await saveMemory(7, "Saved from the browser.");
  const memory = await getMemory(7);
  const stream = createAuraClient({ baseUrl, token }).chatStream({ userId: 7, message: "Hi" });
  let text = "";
  for await (const token of stream) text += token;
  window.result = { memory, text, final: await stream.final };
} catch (error) {
  window.result = { error: String(error), name: error.name };
}
</script></body></html>
"""


def _bundle() -> Path:
    if BUNDLE.exists():
        return BUNDLE
    if os.environ.get("CI"):
        pytest.fail("clients/typescript is not built: .ci/run builds it (npm ci && npm run build) first")
    pytest.skip("clients/typescript is not built (cd clients/typescript && npm ci && npm run build)")


def test_a_page_on_another_origin_uses_the_bundled_client(browser_page, tmp_path):
    bundle = _bundle()
    shutil.copy(bundle, tmp_path / bundle.name)
    (tmp_path / "index.html").write_text(PAGE)
    page_server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    )
    page_server.daemon_threads = True
    threading.Thread(target=page_server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{page_server.server_port}"
    aura = subprocess.Popen(
        [sys.executable, str(CLIENT / "test" / "aura_server.py"), origin],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        started = json.loads(aura.stdout.readline())
        assert started["url"] != origin  # two origins: the page's, and AURA's
        page = browser_page
        page.goto(f"{origin}/index.html?aura={started['url']}&token={started['token']}")
        page.wait_for_function("window.result !== undefined", timeout=15_000)
        result = page.evaluate("window.result")
    finally:
        aura.stdin.close()
        aura.wait(timeout=10)
        aura.stdout.close()
        page_server.shutdown()
        page_server.server_close()
    assert "error" not in result, result
    assert result["memory"]["content"] == "Saved from the browser." and result["memory"]["version"] == 1
    assert result["text"] == "Hello from the fake model."
    assert result["final"]["reply"] == result["text"] and result["final"]["memory_used"] is True
