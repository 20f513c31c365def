"""AURA as production serves it (gunicorn, two workers) and the official MCP Python SDK pointed at
it, as an agent would be: the server's URL, a bearer token and (for a service token) the
X-Aura-User header. One server per test module; the ``db`` fixture empties the tables per test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager

import httpx
import httpx2
import pytest
from flask import Flask
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import SERVICE_TOKEN, token_minter
from tests.gunicorn_server import Gunicorn, gunicorn

MODES = ("legacy", "auto")  # the initialize handshake (2025-11-25), and server/discover (2026-07-28)


@asynccontextmanager
async def mcp_client(base_url: str, token: str = SERVICE_TOKEN, user: int | None = None, mode: str = "auto"):
    """The SDK's client connected to AURA's /mcp (``user``: the X-Aura-User header)."""
    headers = {"Authorization": f"Bearer {token}"}
    if user is not None:
        headers["X-Aura-User"] = str(user)
    http = httpx2.AsyncClient(headers=headers, timeout=15)
    transport = streamable_http_client(f"{base_url}/mcp", http_client=http)
    async with http, Client(transport, mode=mode) as client:
        yield client


def run(coroutine_function: Callable, *args):
    """Run an async test body to completion (the SDK is async; the suite is not)."""
    return asyncio.run(coroutine_function(*args))


class Served(str):
    """The base URL of the module's gunicorn (``.url`` too, like tests.conftest.LiveServer)."""

    @property
    def url(self) -> str:
        return str(self)


@pytest.fixture(scope="module")
def served(app: Flask, database_url: str) -> Iterator[Gunicorn]:
    settings = {"WEB_CONCURRENCY": "2", "AURA_JWT_SECRET": app.config["AURA_JWT_SECRET"]}
    with gunicorn(database_url, **settings) as url:
        yield url


@pytest.fixture()
def aura(served: Gunicorn, db) -> Served:
    return Served(served)


@pytest.fixture()
def user_token(app: Flask) -> Callable[[int], str]:
    """User tokens the served AURA accepts (it shares the tests' AURA_JWT_SECRET)."""
    return token_minter(app)


@pytest.fixture()
def rest(aura: Served) -> Iterator[httpx.Client]:
    """AURA's REST API as the frontend's backend calls it (to set up and check what MCP did)."""
    with httpx.Client(base_url=aura.url, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}) as client:
        yield client
