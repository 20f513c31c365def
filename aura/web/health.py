"""Liveness and readiness probes for load balancers and orchestrators (no auth, no personal data)."""

from __future__ import annotations

import functools

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from aura.extensions import db
from aura.web.deadline import DatabaseDeadlineExceeded, abandon_pool_if_deadline_hit, probe_deadline
from aura.web.rate_limits import storage_state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def live():
    """The process is up and serving requests."""
    return {"status": "ok"}


READY_TIMEOUT_SECONDS = 1.5
REDIS_CHECK_SECONDS = 0.5
_SCHEMA_VERSION = text("SELECT version_num FROM alembic_version")


@functools.cache
def migrations_head(migrations_dir: str) -> str:
    """The newest migration this code ships (read once: the files do not change while running)."""
    config = Config()
    config.set_main_option("script_location", migrations_dir)
    return ScriptDirectory.from_config(config).get_current_head()


def _not_ready(message: str):
    current_app.logger.error("readiness: %s", message)
    return {"status": "error", "message": message, "errors": {}}, 503


@bp.get("/readyz")
def ready():
    """Ready for traffic: the database answers, quickly, with the schema this code expects.

    The body also names the rate-limit storage's state (ok, unavailable, per-process).

    503 otherwise, with the reason, so the balancer routes around this instance (e.g. new code
    deployed before `flask db upgrade` ran). Bounded well below a balancer's probe timeout:
    under gevent by a timeout of its own, elsewhere by the connect and statement timeouts.
    """
    try:
        with probe_deadline(READY_TIMEOUT_SECONDS), db.engine.connect() as conn:
            schema = conn.execute(_SCHEMA_VERSION).scalar_one_or_none()
    except (SQLAlchemyError, DatabaseDeadlineExceeded) as error:
        abandon_pool_if_deadline_hit(error, db.engine)
        if isinstance(error, DBAPIError) and "alembic_version" in str(error.orig):
            return _not_ready("The database has no schema yet: run `flask db upgrade`.")  # never migrated
        return _not_ready(f"The database is unavailable ({error.__class__.__name__}).")
    expected = migrations_head(current_app.config["AURA_MIGRATIONS_DIR"])
    if schema != expected:
        return _not_ready(
            f"The database schema is at revision {schema}, this code needs {expected}: "
            "run `flask db upgrade`."
        )
    with probe_deadline(REDIS_CHECK_SECONDS):
        rate_limits = storage_state()
    # Still ready without Redis: reads go on (writes and chat answer 503 until it is back), and an
    # instance pulled out of the balancer would serve nothing at all.
    return {"status": "ok", "database": "ok", "schema": schema, "rate_limits": rate_limits}
