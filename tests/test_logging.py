"""Logs: one line per request that nobody can forge, text or JSON, never secrets or memory text."""

from __future__ import annotations

import json
import logging

import pytest

from aura import create_app
from aura.web.log_format import HANDLER_MARK, escape_control
from tests.conftest import AUTH, SERVICE_TOKEN


def aura_handler(app) -> logging.Handler:
    return next(h for h in app.logger.handlers if getattr(h, HANDLER_MARK, False))


def emitted(app, caplog) -> list[str]:
    """Each record as AURA's own handler writes it (format and escaping included)."""
    handler = aura_handler(app)
    lines = []
    for record in caplog.records:
        if record.name.startswith("aura") and handler.filter(record):
            lines.append(handler.format(record))
    return lines


def test_a_path_with_cr_lf_cannot_forge_a_second_log_line(make_app, db, caplog):
    app = make_app()
    caplog.set_level(logging.INFO, logger="aura")
    app.test_client().get("/nothing%0d%0aFORGED-LINE 200 0.1ms")
    lines = emitted(app, caplog)
    assert lines and all("\n" not in line and "\r" not in line for line in lines)
    assert any("/nothing\\x0d\\x0aFORGED-LINE" in line for line in lines)


@pytest.mark.parametrize(
    ("raw", "shown"), [("a\rb", "a\\x0db"), ("x\u2028y", "x\\u2028y"), ("tab\there", "tab\\x09here")]
)
def test_control_characters_are_shown_escaped(raw, shown):
    assert escape_control(raw) == shown


def test_json_logs_are_one_object_per_line_with_request_fields(make_app, db, caplog):
    app = make_app(AURA_LOG_FORMAT="json")
    caplog.set_level(logging.INFO, logger="aura")
    client = app.test_client()
    client.post("/api/v1/memory", json={"user_id": 42, "content": "very private text"}, headers=AUTH)
    line = next(line for line in emitted(app, caplog) if '"status": 200' in line)
    entry = json.loads(line)
    assert entry["method"] == "POST" and entry["path"] == "/api/v1/memory"
    assert entry["endpoint"] == "/api/v1/memory" and entry["status"] == 200
    assert entry["principal"] == "service" and entry["user_id"] == 42
    assert isinstance(entry["latency_ms"], float) and entry["request_id"]
    assert "very private text" not in line and SERVICE_TOKEN not in line
    client.get("/api/v1/memory/7", headers=AUTH)
    get_line = json.loads([line for line in emitted(app, caplog) if "/api/v1/memory/7" in line][-1])
    assert get_line["endpoint"] == "/api/v1/memory/<user_id>" and get_line["user_id"] == 7


def test_an_unknown_log_format_refuses_to_start():
    with pytest.raises(RuntimeError, match="AURA_LOG_FORMAT"):
        create_app("testing", {"AURA_LOG_FORMAT": "xml", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_building_apps_again_does_not_stack_handlers(make_app):
    make_app()
    app = make_app()
    assert sum(getattr(h, HANDLER_MARK, False) for h in app.logger.handlers) == 1


def test_ordinary_cli_commands_do_not_print_alembic_lines(tmp_path):
    import subprocess
    import sys

    env = {"AURA_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "PATH": "/usr/bin:/bin"}
    flask = [sys.executable, "-m", "flask", "--app", "aura"]
    staff = subprocess.run([*flask, "staff", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert staff.returncode == 0, staff.stderr
    assert "alembic" not in staff.stderr.lower() and "Running upgrade" not in staff.stderr
    upgrade = subprocess.run([*flask, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60)
    assert "Context impl SQLiteImpl" in upgrade.stderr  # `flask db` still says what it does
