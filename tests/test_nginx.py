"""deploy/nginx/aura.conf, served by Debian's nginx in front of gunicorn on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import AUTH
from tests.fake_llm import Answer
from tests.gunicorn_server import free_port, gunicorn
from tests.processes import wait_for_port

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "deploy" / "nginx" / "aura.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MAIN_CONF = """
user root;
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 512; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/aura.conf;
}}
"""


@pytest.fixture()
def nginx_in_front(app, db, database_url, fake_llm, tmp_path):
    if not Path(NGINX).exists():
        message = "Debian's nginx is not installed (apt-get install nginx-light); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    settings = {
        "AURA_TRUSTED_PROXIES": "1",
        "AURA_ALLOWED_HOSTS": "aura.example.com,127.0.0.1",
        "AURA_LLM_BASE_URL": fake_llm.url,
        "AURA_LLM_MODEL": "fake-model",
    }
    with gunicorn(database_url, **settings) as upstream:
        port = free_port()
        site = SITE.read_text().replace(
            "server 127.0.0.1:8000;", f"server {upstream.removeprefix('http://')};"
        )
        site = site.replace("listen 80", f"listen 127.0.0.1:{port}").replace("listen [::]:80", "# ")
        site = site.replace("server_name aura.example.com;", "server_name aura.example.com 127.0.0.1;")
        (tmp_path / "aura.conf").write_text(site)
        (tmp_path / "nginx.conf").write_text(MAIN_CONF.format(tmp=tmp_path))
        check = subprocess.run(
            [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stderr
        process = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
        try:
            wait_for_port(port, process, lambda: (tmp_path / "error.log").read_text())
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_the_frontend_contract_works_through_nginx(nginx_in_front):
    saved = httpx.post(
        f"{nginx_in_front}/api/v1/memory", json={"user_id": 8, "content": "via nginx"}, headers=AUTH
    )
    assert saved.status_code == 200 and saved.headers["ETag"] == '"1"'
    got = httpx.get(f"{nginx_in_front}/api/v1/memory/8", headers=AUTH)
    assert got.json()["memory"]["content"] == "via nginx"


def test_a_streamed_reply_passes_through_unbuffered(nginx_in_front, fake_llm):
    release = threading.Event()
    fake_llm.script(Answer(tokens=["first", " last"], hold_after_first_token=release))
    body = {"user_id": 1, "message": "Hi", "stream": True}
    with httpx.stream(
        "POST", f"{nginx_in_front}/api/v1/orcha/chat", json=body, headers=AUTH, timeout=15
    ) as response:
        lines = response.iter_lines()
        first = next(line for line in lines if line.startswith("data:"))
        assert first == 'data: {"content": "first"}' and not release.is_set()
        release.set()
        assert "event: done" in list(lines)


def test_bodies_over_aura_s_limit_stop_at_nginx(nginx_in_front):
    too_big = {"user_id": 1, "content": "x" * 300_000}
    assert httpx.post(f"{nginx_in_front}/api/v1/memory", json=too_big, headers=AUTH).status_code == 413


def test_slow_clients_wait_on_nginx_not_on_aura(nginx_in_front):
    """40 clients that never finish their request headers are held by nginx, and a request
    behind them is answered at once (a stall would last until their timeouts, seconds; the
    bound leaves room for a slow shared machine, not for that)."""
    port = int(nginx_in_front.rsplit(":", 1)[1])
    with httpx.Client(base_url=nginx_in_front, headers=AUTH) as http:
        assert http.get("/api/v1/memory/1").status_code == 200  # connections and caches warmed
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
        try:
            for sock in slow:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
            started = time.perf_counter()
            assert http.get("/api/v1/memory/1").status_code == 200
            assert time.perf_counter() - started < 1.0
        finally:
            for sock in slow:
                sock.close()


def test_aura_sees_the_scheme_and_host_nginx_was_asked_for(nginx_in_front):
    response = httpx.get(
        f"{nginx_in_front}/api/v1/memory//43",
        headers={**AUTH, "Host": "aura.example.com"},
        follow_redirects=False,
    )
    assert response.status_code == 308
    assert response.headers["Location"].startswith("http://aura.example.com/")
    with pytest.raises(httpx.RemoteProtocolError):  # dropped by the default server, unanswered
        httpx.get(f"{nginx_in_front}/api/v1/memory/43", headers={**AUTH, "Host": "evil.example"})


def test_nginx_hides_its_version_and_keeps_metrics_off_the_public_site(nginx_in_front):
    response = httpx.get(f"{nginx_in_front}/metrics")
    assert response.status_code == 404 and response.headers["Server"] == "nginx"


def test_nginx_waits_longer_for_aura_than_aura_waits_for_its_model():
    """A consolidation (or a chat reply) still running when nginx gives up would be a 504 to the
    client and a memory stored behind its back."""
    import re

    from aura.config import BaseConfig

    read_timeout = re.search(r"proxy_read_timeout\s+(\d+)s;", SITE.read_text())
    assert read_timeout is not None
    assert int(read_timeout.group(1)) > BaseConfig.AURA_CONSOLIDATION_TIMEOUT
    assert int(read_timeout.group(1)) > BaseConfig.AURA_LLM_TIMEOUT
