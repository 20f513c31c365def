"""The app factory: modes, safety checks and start-up conveniences."""

from __future__ import annotations

import re

import pytest

from aura import create_app
from aura.config import DEFAULT_SECRET_KEY, normalize_database_url
from tests.conftest import SERVICE_TOKEN, service_client


def test_testing_mode_uses_the_given_database(app, database_url):
    assert app.config["TESTING"] is True
    assert app.config["SQLALCHEMY_DATABASE_URI"] == database_url


def test_production_refuses_the_default_secret_key(tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", {"SECRET_KEY": DEFAULT_SECRET_KEY, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_refuses_an_empty_secret_key():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", {"SECRET_KEY": "", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_starts_with_a_real_secret_and_does_not_migrate_by_itself(tmp_path):
    db_file = tmp_path / "prod.db"
    app = create_app(
        "production",
        {
            "SECRET_KEY": "x" * 40,
            "AURA_SERVICE_TOKENS": "frontend=" + "t" * 40,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
        },
    )
    assert app.config["AURA_AUTO_MIGRATE"] is False


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(RuntimeError, match="AURA_ENV"):
        create_app("staging")


def test_development_creates_and_migrates_a_fresh_sqlite_file(tmp_path):
    db_file = tmp_path / "nested" / "dir" / "aura.db"
    app = create_app(
        "development",
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
            "AURA_AUTO_MIGRATE": True,
            "AURA_SERVICE_TOKENS": f"tests={SERVICE_TOKEN}",
        },
    )
    assert db_file.exists()
    response = service_client(app).post("/api/v1/memory", json={"user_id": 1, "content": "works"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_are_normalised_to_psycopg3(given, expected):
    assert normalize_database_url(given) == expected


def test_unreachable_database_is_a_json_503_not_a_500():
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/none"})
    response = service_client(app).get("/api/v1/memory/1")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert "database" in body["message"].lower()


def test_requests_are_logged_with_an_id_and_without_bodies(client, caplog):
    caplog.set_level("INFO", logger="aura")
    response = client.post("/api/v1/memory", json={"user_id": 5, "content": "very private text"})
    request_id = response.headers["X-Request-ID"]
    lines = [r.getMessage() for r in caplog.records if r.name == "aura"]
    assert f"{request_id} POST /api/v1/memory 200 " in "\n".join(lines), lines
    assert not any("very private text" in line for line in lines)


@pytest.mark.parametrize(
    ("given", "reused"), [("abc-123_X.y", True), ("bad id; with spaces", False), ("x" * 65, False)]
)
def test_a_plain_caller_request_id_is_reused_and_anything_else_replaced(client, given, reused):
    returned = client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"]
    assert (returned == given) is reused
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", returned)


def test_health_probes_need_no_token(anonymous):
    assert anonymous.get("/healthz").get_json() == {"status": "ok"}
    ready = anonymous.get("/readyz").get_json()
    assert ready["status"] == "ok" and ready["database"] == "ok" and ready["schema"]


def test_readiness_fails_when_the_database_is_down():
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/none"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_a_revision_limit_below_one_refuses_to_start():
    with pytest.raises(RuntimeError, match="AURA_MAX_REVISIONS"):
        create_app("testing", {"AURA_MAX_REVISIONS": 0})


def test_a_refused_configuration_leaves_the_running_app_intact(client):
    """Settings are checked before shared extension objects are touched (the OpenAPI registry)."""
    for bad in (
        {"AURA_LLM_BASE_URL": "not a url"},
        {"AURA_RATE_LIMIT_WRITE": "lots"},
        {"AURA_CORS_ORIGINS": "x"},
    ):
        with pytest.raises(RuntimeError):
            create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://", **bad})
    assert "/api/v1/memory" in client.get("/api/v1/openapi.json").get_json()["paths"]


def test_readiness_fails_with_the_reason_when_the_schema_is_behind_the_code(tmp_path):
    from flask_migrate import upgrade

    from aura import MIGRATIONS_DIR
    from aura.extensions import db
    from tests.databases import fresh_database

    with fresh_database(tmp_path) as url:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        client = app.test_client()
        empty = client.get("/readyz")
        assert empty.status_code == 503 and "no schema yet" in empty.get_json()["message"]
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR, revision="f5d161375538")
        behind = client.get("/readyz")
        assert behind.status_code == 503
        assert (
            "f5d161375538" in behind.get_json()["message"]
            and "flask db upgrade" in behind.get_json()["message"]
        )
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR)
        assert client.get("/readyz").status_code == 200
        with app.app_context():
            db.engine.dispose()
        app.extensions["aura_llm"].close()
