"""AURA memory backend: the app factory."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_migrate import upgrade

from aura.admin.views import bp as admin_bp
from aura.auth.cli import auth_cli, staff_cli
from aura.auth.tokens import init_auth
from aura.chat.api import blp as chat_blp
from aura.config import MIGRATIONS_DIR, PROJECT_ROOT, config_for
from aura.consolidation.api import blp as consolidation_blp
from aura.consolidation.cli import eval_consolidation
from aura.consolidation.merge import init_consolidation
from aura.conversations.api import blp as conversations_blp
from aura.database import (
    count_pool_use,
    engine_options,
    ensure_sqlite_directory,
    ping_idle_connections,
    scope_timeouts_to_transactions,
)
from aura.extensions import api, csrf, db, login_manager, migrate
from aura.jobs.cli import worker
from aura.jobs.tasks import init_jobs
from aura.llm.client import init_llm
from aura.llm.settings import check_llm_url
from aura.mcp.api import blp as mcp_blp
from aura.mcp.api import init_mcp
from aura.memory.api import blp as memory_blp
from aura.memory.cli import memory_cli
from aura.openai_compat.api import blp as openai_blp
from aura.openai_compat.api import init_openai_compat
from aura.schemas import ErrorSchema
from aura.web.api_common import document_runtime_limits, init_api_docs
from aura.web.api_docs import bp as api_docs_bp
from aura.web.cookie_sessions import init_cookie_sessions
from aura.web.cors import init_cors
from aura.web.deadline import init_request_deadline
from aura.web.errors import register_error_handlers
from aura.web.fair_turns import init_fair_turns
from aura.web.health import bp as health_bp
from aura.web.metrics import init_metrics
from aura.web.proxy import init_proxy
from aura.web.rate_limits import init_rate_limits
from aura.web.request_log import configure_logging
from aura.web.security import check_config, register_security_headers
from aura.webhooks.cli import webhooks_cli
from aura.webhooks.outbox import init_webhooks


def create_app(mode: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app for a mode (AURA_ENV by default), with optional config overrides for tests."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.from_object(config_for(mode))
    app.config.update(overrides or {})
    app.json.sort_keys = False  # keep "status" first, as documented
    # Every setting is checked before the shared extension objects (the OpenAPI registry, the
    # login manager) are touched, so a refused configuration leaves other apps in the process intact.
    init_auth(app)
    init_cors(app)
    init_rate_limits(app)
    check_llm_url(app.config["AURA_LLM_BASE_URL"])
    check_config(app)
    configure_logging(app)
    init_proxy(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    init_request_deadline(app)
    init_fair_turns(app)
    register_security_headers(app)
    register_commands(app)
    if app.config["AURA_AUTO_MIGRATE"]:
        apply_migrations(app)
    return app


def register_extensions(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options(uri, app.config),
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    ensure_sqlite_directory(uri)
    db.init_app(app)
    with app.app_context():
        ping_idle_connections(db.engine)
        scope_timeouts_to_transactions(db.engine, app.config)
        count_pool_use(db.engine)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, compare_type=True, render_as_batch=True)
    api.ERROR_SCHEMA = ErrorSchema  # document our error shape instead of flask-smorest's
    api.init_app(app)
    init_api_docs(api, app)
    init_llm(app)
    init_consolidation(app)
    init_jobs(app)
    init_webhooks(app)
    init_cookie_sessions(app)
    login_manager.init_app(app)
    csrf.init_app(app)


def register_blueprints(app: Flask) -> None:
    init_openai_compat(app)
    for json_blueprint in (memory_blp, consolidation_blp, conversations_blp, chat_blp, openai_blp):
        csrf.exempt(json_blueprint)  # bearer tokens, not cookies: CSRF protects the pages
        api.register_blueprint(json_blueprint)
    api.register_blueprint(mcp_blp)
    init_mcp(app)
    app.register_blueprint(admin_bp)
    app.register_blueprint(health_bp)
    init_metrics(app)
    app.register_blueprint(api_docs_bp)
    document_runtime_limits(api, app)


def register_commands(app: Flask) -> None:
    """Flask CLI commands beyond `flask db` (added by Flask-Migrate)."""
    app.cli.add_command(staff_cli)
    app.cli.add_command(auth_cli)
    memory_cli.add_command(eval_consolidation)
    app.cli.add_command(memory_cli)
    app.cli.add_command(worker)
    app.cli.add_command(webhooks_cli)


def apply_migrations(app: Flask) -> None:
    """Bring the database to the latest migration (quickstart convenience, off in production)."""
    app.config["AURA_QUIET_MIGRATIONS"] = True
    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR)
    finally:
        app.config["AURA_QUIET_MIGRATIONS"] = False
