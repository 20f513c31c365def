"""The production entry point: gunicorn + wsgi.py + gunicorn.conf.py, over real HTTP."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from tests.conftest import AUTH
from tests.fake_llm import Answer
from tests.gunicorn_server import gunicorn

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def gunicorn_url(app, db, database_url, fake_llm):
    with gunicorn(database_url, AURA_LLM_BASE_URL=fake_llm.url, AURA_LLM_MODEL="fake-model") as url:
        yield url


def test_gunicorn_serves_the_frontend_contract(gunicorn_url):
    saved = httpx.post(
        gunicorn_url + "/api/v1/memory", headers=AUTH, json={"user_id": 31, "content": "via gunicorn"}
    )
    assert saved.status_code == 200
    got = httpx.get(gunicorn_url + "/api/v1/memory/31", headers=AUTH).json()
    assert got["memory"]["content"] == "via gunicorn"


def test_gunicorn_streams_the_first_token_without_buffering(gunicorn_url, fake_llm):
    release = threading.Event()
    fake_llm.script(Answer(tokens=["first", " second"], hold_after_first_token=release))
    body = {"user_id": 1, "message": "Hi", "stream": True}
    with httpx.stream(
        "POST", gunicorn_url + "/api/v1/orcha/chat", json=body, headers=AUTH, timeout=15
    ) as response:
        lines = response.iter_lines()
        first = next(line for line in lines if line.startswith("data:"))
        assert not release.is_set()
        assert json.loads(first[5:]) == {"content": "first"}
        release.set()
        assert [line for line in lines if line.startswith("event:")] == ["event: token", "event: done"]


def test_two_instances_on_one_host_never_share_a_control_socket(app, db, database_url, tmp_path):
    """gunicorn's default control socket is one path per machine user: instances removed each other's."""
    home = tmp_path / "home"
    home.mkdir()
    own = tmp_path / "aura-1.ctl"
    plain = {"HOME": str(home), "XDG_RUNTIME_DIR": ""}
    with gunicorn(database_url, AURA_CONTROL_SOCKET=str(own), **plain), gunicorn(database_url, **plain):
        assert own.is_socket()  # the instance that asked for one has it, at its own path
        assert not (home / ".gunicorn").exists()  # the other made none at the shared default
