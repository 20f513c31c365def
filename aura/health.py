"""Liveness and readiness probes for load balancers and orchestrators (no auth, no personal data)."""

from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from aura.deadline import (
    DatabaseDeadlineExceeded,
    abandon_pooled_connections,
    interrupted_by_deadline,
    probe_deadline,
)
from aura.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def live():
    """The process is up and serving requests."""
    return {"status": "ok"}


READY_TIMEOUT_SECONDS = 1.5


@bp.get("/readyz")
def ready():
    """Ready for traffic: the database answers, quickly. 503 otherwise, so the balancer routes around us.

    Bounded well below a balancer's probe timeout: under gevent by a timeout of its own (a frozen
    database would otherwise hold the probe), elsewhere by the connect and statement timeouts.
    """
    try:
        with probe_deadline(READY_TIMEOUT_SECONDS), db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, DatabaseDeadlineExceeded) as error:
        if interrupted_by_deadline(error):
            abandon_pooled_connections(db.engine)
        current_app.logger.error("readiness: database unavailable (%s)", error.__class__.__name__)
        return {"status": "error", "message": "The database is unavailable.", "errors": {}}, 503
    return {"status": "ok", "database": "ok"}
