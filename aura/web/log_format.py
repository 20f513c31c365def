"""How AURA's log lines look: text (default) or one JSON object per line, never forgeable.

Anything a client controls (paths, ids, header values) may carry CR/LF or other control
characters; written raw, `GET /x%0d%0aFORGED-LINE` would start a second, fake log line.
Every message is escaped before it is written, in both formats.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from flask.logging import default_handler

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
HANDLER_MARK = "aura_handler"
TEXT_FORMAT = "[%(asctime)s] %(levelname)s in %(module)s: %(message)s"  # Flask's, as before


def escape_control(text: str) -> str:
    """Render control characters visibly (\\x0d, \\u2028) so a line can never be split."""
    return _CONTROL.sub(_visible, text)


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class EscapeControlCharacters(logging.Filter):
    """Escapes the formatted message of every record (the traceback, ours, stays multi-line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = escape_control(record.getMessage())
        record.args = None
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and a request's fields if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "aura_request", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def install_log_handler(logger: logging.Logger, log_format: str) -> None:
    """Replace AURA's handler on ``logger`` (idempotent: apps built again in one process don't stack them)."""
    if log_format not in ("text", "json"):
        raise RuntimeError(f"AURA_LOG_FORMAT must be 'text' or 'json', not {log_format!r}")
    logger.removeHandler(default_handler)
    for handler in list(logger.handlers):
        if getattr(handler, HANDLER_MARK, False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler()  # stderr, like Flask's own handler (gunicorn's errorlog: "-")
    setattr(handler, HANDLER_MARK, True)
    # On the handler, not the logger: it then also covers records of aura.* child loggers.
    handler.addFilter(EscapeControlCharacters())
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logger.addHandler(handler)
