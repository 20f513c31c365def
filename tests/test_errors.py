"""Unexpected failures: logged on the server, a plain 500 for the client, never a traceback."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture()
def broken_app(make_app):
    app = make_app()

    def explode():
        raise RuntimeError("secret internals: /srv/aura/config.py line 42")

    app.add_url_rule("/api/v1/explode", "api_explode", explode)
    app.add_url_rule("/explode", "page_explode", explode)
    return app


def test_api_500_is_the_standard_json_error_without_details(broken_app, caplog):
    caplog.set_level(logging.ERROR)
    response = broken_app.test_client().get("/api/v1/explode")
    assert response.status_code == 500
    assert response.get_json() == {
        "status": "error",
        "code": "internal_error",
        "message": "Internal server error.",
        "errors": {},
    }
    assert "secret internals" not in response.get_data(as_text=True)
    assert "secret internals" in caplog.text  # the operator still gets the traceback


def test_page_500_is_an_html_page_without_details(broken_app):
    response = broken_app.test_client().get("/explode")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
