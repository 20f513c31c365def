"""Settings read from the environment, one class per mode, so nothing is configured in code."""

from __future__ import annotations

import os
from pathlib import Path

from aura.environment import env_bool as _bool
from aura.environment import env_float as _float
from aura.environment import env_int as _int
from aura.environment import env_str as _str
from aura.web.api_docs import API_DESCRIPTION, DOCS_PATH
from aura.web.api_docs import ASSETS_URL as DOCS_ASSETS_URL

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = str(PROJECT_ROOT / "migrations")
# AURA's own instructions, first in every chat prompt unless AURA_SYSTEM_PROMPT replaces them.
DEFAULT_SYSTEM_PROMPT = (
    "You are AURA, an advanced assistant. Be helpful, accurate and concise. "
    "You may be given a 'User Memory': a summary of what you know about this user from earlier "
    "conversations. Use it to personalise your answers, never reveal it verbatim unless asked, "
    "and prefer what the user says now when it contradicts the memory."
)
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 - the value production refuses


def normalize_database_url(url: str) -> str:
    """Make Heroku-style ``postgres://`` URLs use the psycopg 3 driver SQLAlchemy needs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def default_sqlite_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'instance' / 'aura.db'}"


class BaseConfig:
    """Defaults shared by every mode; each value can be overridden by an environment variable."""

    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = normalize_database_url(os.environ.get("DATABASE_URL") or default_sqlite_url())
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # PostgreSQL waits, all bounded (aura.database): a hung database gives 503s, not hung requests.
    AURA_DB_CONNECT_TIMEOUT = _int("AURA_DB_CONNECT_TIMEOUT", 3)  # seconds to establish a connection
    AURA_DB_STATEMENT_TIMEOUT_MS = _int("AURA_DB_STATEMENT_TIMEOUT_MS", 5000)  # per statement / lock wait
    # Seconds to wait in line for a pooled connection: a line is not an outage (docs/operations.md).
    AURA_DB_POOL_TIMEOUT = _float("AURA_DB_POOL_TIMEOUT", 30.0)
    # Per worker process; keep instances x workers x (size + overflow) below PostgreSQL's max_connections.
    # A fixed pool: overflow connections are opened and closed per burst (a new server process
    # each), which cost throughput and p99 under load; past 16 busy, requests wait for one.
    AURA_DB_POOL_SIZE = _int("AURA_DB_POOL_SIZE", 16)
    AURA_DB_POOL_OVERFLOW = _int("AURA_DB_POOL_OVERFLOW", 0)
    # How AURA's connections show in pg_stat_activity (e.g. aura-web-1 per instance).
    AURA_DB_APPLICATION_NAME = _str("AURA_DB_APPLICATION_NAME", "aura")
    # What sits between AURA and PostgreSQL (aura.database): "none" (direct, or PgBouncer in session
    # mode) or "pgbouncer-transaction" (no server-side prepared statements, timeouts per transaction).
    AURA_DB_POOLER = _str("AURA_DB_POOLER", "none")
    # Client-side bound on holding a pooled connection without an answer (gevent; aura.web.deadline):
    # a frozen server that accepts bytes but never answers cannot enforce statement_timeout itself.
    AURA_DB_REQUEST_TIMEOUT = _float("AURA_DB_REQUEST_TIMEOUT", 6.0)
    # Seconds a client has to send its whole request body (gevent workers): 408 beyond, and the
    # database deadline above starts only once the body is in.
    AURA_BODY_TIMEOUT = _float("AURA_BODY_TIMEOUT", 10.0)
    SQLALCHEMY_RECORD_QUERIES = False
    # Whole request body cap (bytes): Werkzeug answers 413 before reading more than this.
    MAX_CONTENT_LENGTH = _int("AURA_MAX_BODY_BYTES", 256 * 1024)
    # Longest memory text accepted, in characters (validation error 422 beyond it).
    AURA_MAX_MEMORY_CHARS = _int("AURA_MAX_MEMORY_CHARS", 20_000)
    # Revisions kept per user; each save prunes the oldest beyond this (`flask memory prune` for old data).
    AURA_MAX_REVISIONS = _int("AURA_MAX_REVISIONS", 50)
    # Days of audit log kept by `flask memory prune` (0: all of it).
    AURA_AUDIT_RETENTION_DAYS = _int("AURA_AUDIT_RETENTION_DAYS", 365)
    # `flask db upgrade`: its own connection (straight to PostgreSQL when the app goes through
    # PgBouncer; default DATABASE_URL) and its own timeouts, never the requests' (migrations/env.py).
    AURA_MIGRATION_DATABASE_URL = os.environ.get("AURA_MIGRATION_DATABASE_URL", "")
    AURA_MIGRATION_STATEMENT_TIMEOUT_MS = _int("AURA_MIGRATION_STATEMENT_TIMEOUT_MS", 0)  # 0: none
    AURA_MIGRATION_LOCK_TIMEOUT_MS = _int("AURA_MIGRATION_LOCK_TIMEOUT_MS", 5000)  # then re-run it
    # Apply pending migrations when the app starts (handy for the SQLite quickstart only).
    AURA_AUTO_MIGRATE = _bool("AURA_AUTO_MIGRATE", False)
    AURA_MIGRATIONS_DIR = MIGRATIONS_DIR
    AURA_LOG_LEVEL = os.environ.get("AURA_LOG_LEVEL", "INFO")
    AURA_LOG_FORMAT = _str("AURA_LOG_FORMAT", "text")  # or json: one object per line (aura.web.log_format)

    # Chat: an OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM, llama.cpp).
    AURA_LLM_BASE_URL = os.environ.get("AURA_LLM_BASE_URL", "")
    AURA_LLM_API_KEY = os.environ.get("AURA_LLM_API_KEY", "")
    AURA_LLM_MODEL = os.environ.get("AURA_LLM_MODEL", "")
    AURA_LLM_TIMEOUT = _float("AURA_LLM_TIMEOUT", 60.0)
    AURA_LLM_CONNECT_TIMEOUT = _float("AURA_LLM_CONNECT_TIMEOUT", 5.0)
    AURA_LLM_MAX_RETRIES = _int("AURA_LLM_MAX_RETRIES", 2)
    # The model's context window in tokens; 0: learned from its first "too long" answer.
    AURA_LLM_CONTEXT_TOKENS = _int("AURA_LLM_CONTEXT_TOKENS", 0)
    AURA_LLM_RETRY_BACKOFF = _float("AURA_LLM_RETRY_BACKOFF", 0.5)
    AURA_LLM_MAX_CONNECTIONS = _int("AURA_LLM_MAX_CONNECTIONS", 1000)  # open model connections per worker
    # /v1/chat/completions may name AURA_LLM_MODEL or one of these (comma-separated) on the same server.
    AURA_OPENAI_MODELS = os.environ.get("AURA_OPENAI_MODELS", "")
    # How the memory is put to the model ({memory}: its text); SECURITY.md, "Memory as instructions".
    AURA_MEMORY_FRAMING = _str("AURA_MEMORY_FRAMING", "User Memory: {memory}")
    # /v1 cost caps per request (400 beyond), and vendor request fields forwarded besides OpenAI's.
    AURA_OPENAI_MAX_N = _int("AURA_OPENAI_MAX_N", 8)
    AURA_OPENAI_MAX_TOKENS = _int("AURA_OPENAI_MAX_TOKENS", 32_768)
    AURA_OPENAI_EXTRA_PARAMS = _str("AURA_OPENAI_EXTRA_PARAMS", "top_k,min_p,repetition_penalty")
    AURA_SYSTEM_PROMPT = os.environ.get("AURA_SYSTEM_PROMPT", "") or DEFAULT_SYSTEM_PROMPT
    AURA_CHAT_MAX_PROMPT_CHARS = _int("AURA_CHAT_MAX_PROMPT_CHARS", 60_000)
    AURA_CHAT_MAX_MESSAGE_CHARS = _int("AURA_CHAT_MAX_MESSAGE_CHARS", 8_000)
    AURA_CHAT_MAX_HISTORY_TURNS = _int("AURA_CHAT_MAX_HISTORY_TURNS", 100)

    # Consolidation (aura.consolidation): AURA merges recent turns into the memory through a model;
    # by default the chat model, or another one (e.g. a cheaper or a local one) on its own server.
    AURA_CONSOLIDATION_MODEL = os.environ.get("AURA_CONSOLIDATION_MODEL", "")
    AURA_CONSOLIDATION_BASE_URL = os.environ.get("AURA_CONSOLIDATION_BASE_URL", "")
    AURA_CONSOLIDATION_API_KEY = os.environ.get("AURA_CONSOLIDATION_API_KEY", "")
    # One deadline for all model calls of one consolidation (seconds; nginx's read timeout must exceed it).
    AURA_CONSOLIDATION_TIMEOUT = _float("AURA_CONSOLIDATION_TIMEOUT", 60.0)
    # Its context window (tokens); 0: AURA_LLM_CONTEXT_TOKENS if it is the chat model, else learned.
    AURA_CONSOLIDATION_CONTEXT_TOKENS = _int("AURA_CONSOLIDATION_CONTEXT_TOKENS", 0)
    # Transcript sent to the model: the newest turns within this many characters, each cut to the second.
    AURA_CONSOLIDATION_MAX_INPUT_CHARS = _int("AURA_CONSOLIDATION_MAX_INPUT_CHARS", 24_000)
    AURA_CONSOLIDATION_MAX_TURN_CHARS = _int("AURA_CONSOLIDATION_MAX_TURN_CHARS", 2_000)
    AURA_CONSOLIDATION_MAX_TURNS = _int("AURA_CONSOLIDATION_MAX_TURNS", 1_000)  # per request (else 422)
    # Length the consolidated memory must fit (a longer current memory may keep its length).
    AURA_MEMORY_TARGET_CHARS = _int("AURA_MEMORY_TARGET_CHARS", 4_000)
    # Instructions for the model: a Jinja template replacing the shipped prompts/consolidation/system-v1.txt.
    AURA_CONSOLIDATION_PROMPT_FILE = os.environ.get("AURA_CONSOLIDATION_PROMPT_FILE", "")
    # "auto": consolidations change the memory at once; "review": they wait as proposals to accept.
    # Users may pick their own ("default" follows this) unless AURA_CONSOLIDATION_USER_MAY_CHOOSE is off.
    AURA_CONSOLIDATION_MODE = _str("AURA_CONSOLIDATION_MODE", "auto")
    AURA_CONSOLIDATION_USER_MAY_CHOOSE = _bool("AURA_CONSOLIDATION_USER_MAY_CHOOSE", True)
    # Shrink guard: a result shorter than (1 - this) x the memory, with no turn asking to forget,
    # is held for review even in auto mode. Forget phrases: comma-separated, case-insensitive.
    AURA_CONSOLIDATION_MAX_DROP = _float("AURA_CONSOLIDATION_MAX_DROP", 0.5)
    AURA_FORGET_PHRASES = _str(
        "AURA_FORGET_PHRASES",
        "forget,delete,remove,erase,don't remember,do not remember,stop remembering,no longer remember",
    )
    # Sampling temperature sent with consolidation requests; empty: the model's default.
    AURA_CONSOLIDATION_TEMPERATURE = os.environ.get("AURA_CONSOLIDATION_TEMPERATURE", "")

    # Record completed chat turns (credentials removed) for consolidation; kept this many days.
    AURA_CONVERSATION_RECORDING = _bool("AURA_CONVERSATION_RECORDING", False)
    AURA_CONVERSATION_RETENTION_DAYS = _int("AURA_CONVERSATION_RETENTION_DAYS", 30)

    # Background consolidation (aura.jobs): a user's recorded turns are consolidated once they have
    # been quiet this long, or at once after this many turns; `flask worker` runs the jobs.
    AURA_CONSOLIDATE_AFTER_SECONDS = _int("AURA_CONSOLIDATE_AFTER_SECONDS", 600)
    AURA_CONSOLIDATE_EVERY_TURNS = _int("AURA_CONSOLIDATE_EVERY_TURNS", 20)
    # Where jobs are queued (Huey): redis://... or a SQLite file path. Empty: the rate-limit Redis
    # when AURA_RATELIMIT_STORAGE_URI is one, else a SQLite file beside a SQLite database.
    AURA_QUEUE_URL = os.environ.get("AURA_QUEUE_URL", "")
    # Key that signs every job (aura.jobs.queue.SignedJobs); empty: derived from SECRET_KEY.
    AURA_QUEUE_SECRET = os.environ.get("AURA_QUEUE_SECRET", "")
    # A job whose worker died runs again within this (its lease is this minus the 60 s sweep period).
    AURA_JOB_REDELIVERY_SECONDS = _int("AURA_JOB_REDELIVERY_SECONDS", 120)
    # A failed job (model down, lost race) is retried this often, after 10 s, 20 s, 40 s ...
    AURA_JOB_RETRIES = _int("AURA_JOB_RETRIES", 5)
    AURA_JOB_RETRY_DELAY = _float("AURA_JOB_RETRY_DELAY", 10.0)
    # Jobs one worker process runs at once (threads: each mostly waits on the model).
    AURA_WORKER_THREADS = _int("AURA_WORKER_THREADS", 32)
    # The worker's own /metrics (jobs running, finished, failed, retried, durations); 0: not served.
    AURA_WORKER_METRICS_PORT = _int("AURA_WORKER_METRICS_PORT", 0)
    AURA_WORKER_METRICS_BIND = _str("AURA_WORKER_METRICS_BIND", "127.0.0.1")

    # Webhooks (aura.webhooks): receivers of memory.updated / .deleted / .proposal_created /
    # .settings_changed events, signed with the Standard Webhooks secret (whsec_...).
    AURA_WEBHOOK_URLS = os.environ.get("AURA_WEBHOOK_URLS", "")
    AURA_WEBHOOK_SECRET = os.environ.get("AURA_WEBHOOK_SECRET", "")
    AURA_WEBHOOK_CONNECT_TIMEOUT = _float("AURA_WEBHOOK_CONNECT_TIMEOUT", 3.0)
    AURA_WEBHOOK_TIMEOUT = _float("AURA_WEBHOOK_TIMEOUT", 10.0)
    # A receiver that is down is retried this often, after 15 s, 30 s, 60 s ... (12: about 17 hours).
    AURA_WEBHOOK_RETRIES = _int("AURA_WEBHOOK_RETRIES", 12)
    AURA_WEBHOOK_RETRY_DELAY = _float("AURA_WEBHOOK_RETRY_DELAY", 15.0)

    # API authentication (see SECURITY.md). Service tokens: "name=token,other=token2".
    AURA_SERVICE_TOKENS = os.environ.get("AURA_SERVICE_TOKENS", "")
    AURA_JWT_SECRET = os.environ.get("AURA_JWT_SECRET", "")  # HS256 user tokens
    AURA_JWT_PUBLIC_KEY = os.environ.get("AURA_JWT_PUBLIC_KEY", "")  # RS256 user tokens (PEM); wins if set
    AURA_JWT_ISSUER = os.environ.get("AURA_JWT_ISSUER", "")
    AURA_JWT_AUDIENCE = os.environ.get("AURA_JWT_AUDIENCE", "")
    # Identity provider (Auth0, Keycloak, Cognito, Supabase...): RS256/ES256 keys from its JWKS URL.
    AURA_JWT_JWKS_URL = os.environ.get("AURA_JWT_JWKS_URL", "")
    AURA_JWT_JWKS_CACHE_SECONDS = _int("AURA_JWT_JWKS_CACHE_SECONDS", 300)
    # Between two fetches of the key set (an unknown kid, or a failed fetch, waits for it), and
    # the bound on one fetch (seconds).
    AURA_JWT_JWKS_COOLDOWN_SECONDS = _int("AURA_JWT_JWKS_COOLDOWN_SECONDS", 30)
    AURA_JWT_JWKS_TIMEOUT = _float("AURA_JWT_JWKS_TIMEOUT", 3.0)
    AURA_JWT_MAX_LIFETIME_MINUTES = _int("AURA_JWT_MAX_LIFETIME_MINUTES", 1440)  # exp - iat at most
    AURA_AUTH_DISABLED = _bool("AURA_AUTH_DISABLED", False)  # local development only
    # Reverse proxy (aura.web.proxy): proxies in front whose X-Forwarded-* headers are trusted, and the
    # Host names AURA answers to (comma-separated; empty: any).
    AURA_TRUSTED_PROXIES = _int("AURA_TRUSTED_PROXIES", 0)
    AURA_ALLOWED_HOSTS = os.environ.get("AURA_ALLOWED_HOSTS", "")
    # /metrics (Prometheus): open on a private network, or behind this bearer token when set.
    AURA_METRICS_TOKEN = os.environ.get("AURA_METRICS_TOKEN", "")
    # Browser origins allowed to call the JSON API (comma-separated, exact); empty: none (aura.web.cors).
    AURA_CORS_ORIGINS = os.environ.get("AURA_CORS_ORIGINS", "")

    # Rate limits (see aura.web.rate_limits): writes and chat per end user, a ceiling per service token,
    # failed API authentications and staff logins per client address. Storage memory:// or redis://
    AURA_RATE_LIMIT_WRITE = _str("AURA_RATE_LIMIT_WRITE", "120/minute")
    AURA_RATE_LIMIT_CHAT = _str("AURA_RATE_LIMIT_CHAT", "60/minute")
    # Every consolidation is a model request (or two): its own, tighter, per-user limit.
    AURA_RATE_LIMIT_CONSOLIDATE = _str("AURA_RATE_LIMIT_CONSOLIDATE", "30/hour")
    AURA_RATE_LIMIT_SERVICE = _str("AURA_RATE_LIMIT_SERVICE", "20000/minute")
    AURA_RATE_LIMIT_AUTH_FAILURES = _str("AURA_RATE_LIMIT_AUTH_FAILURES", "30/minute")
    AURA_RATE_LIMIT_LOGIN = _str("AURA_RATE_LIMIT_LOGIN", "10/minute")
    RATELIMIT_STORAGE_URI = _str("AURA_RATELIMIT_STORAGE_URI", "memory://")
    # Redis connections per worker (a burst waits in line, up to AURA_REDIS_POOL_TIMEOUT s, then 503),
    # and the bound on connecting to and each reply from Redis (seconds).
    AURA_REDIS_MAX_CONNECTIONS = _int("AURA_REDIS_MAX_CONNECTIONS", 50)
    AURA_REDIS_POOL_TIMEOUT = _float("AURA_REDIS_POOL_TIMEOUT", 30.0)
    AURA_REDIS_TIMEOUT = _float("AURA_REDIS_TIMEOUT", 2.0)
    # gunicorn worker processes (gunicorn.conf.py reads the same variable); only used for warnings.
    AURA_WORKERS = _int("WEB_CONCURRENCY", 2)
    # Two counters per key (this window and the last, weighted), not one entry per request: the
    # moving window kept up to the limit's count of timestamps per key and shifted that list on
    # every hit, which at the service limit cost more CPU per save than the save itself.
    RATELIMIT_STRATEGY = "sliding-window-counter"

    # Strict-Transport-Security on responses served over HTTPS (seconds; 0: not sent).
    AURA_HSTS_SECONDS = _int("AURA_HSTS_SECONDS", 31_536_000)

    # Staff sessions: cookies JavaScript can't read and other sites can't send.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("AURA_SECURE_COOKIES", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Staff sessions end AURA_SESSION_HOURS after login whatever happens, and after
    # AURA_SESSION_IDLE_MINUTES without a request (aura.admin.sessions).
    AURA_SESSION_HOURS = _int("AURA_SESSION_HOURS", 8)
    AURA_SESSION_IDLE_MINUTES = _int("AURA_SESSION_IDLE_MINUTES", 30)
    PERMANENT_SESSION_LIFETIME = AURA_SESSION_HOURS * 3600
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session

    # flask-smorest / OpenAPI
    API_TITLE = "AURA memory API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_SPEC_OPTIONS = {"security": [{"bearerAuth": []}], "info": {"description": API_DESCRIPTION}}
    OPENAPI_SWAGGER_UI_PATH = DOCS_PATH
    OPENAPI_SWAGGER_UI_URL = DOCS_ASSETS_URL


class DevelopmentConfig(BaseConfig):
    """Local use: SQLite file that migrates itself on first start."""

    ENV_NAME = "development"
    AURA_AUTO_MIGRATE = _bool("AURA_AUTO_MIGRATE", True)
    AURA_CONVERSATION_RECORDING = _bool("AURA_CONVERSATION_RECORDING", True)  # the quick start learns


class TestingConfig(BaseConfig):
    """Tests pass their own database URL; nothing here disables checks."""

    ENV_NAME = "testing"
    TESTING = True
    AURA_SERVICE_TOKENS = "tests=test-service-token-with-enough-entropy-0123456789"
    AURA_JWT_SECRET = "test-jwt-secret-that-is-long-enough-for-hs256-0123456789"  # noqa: S105
    AURA_RATE_LIMIT_WRITE = "100000/minute"
    AURA_RATE_LIMIT_CHAT = "100000/minute"
    AURA_RATE_LIMIT_CONSOLIDATE = "100000/minute"
    AURA_RATE_LIMIT_SERVICE = "1000000/minute"
    AURA_RATE_LIMIT_AUTH_FAILURES = "100000/minute"
    AURA_RATE_LIMIT_LOGIN = "100000/minute"
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105


class ProductionConfig(BaseConfig):
    """gunicorn via wsgi.py: schema comes only from `flask db upgrade`."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _bool("AURA_SECURE_COOKIES", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None) -> type[BaseConfig]:
    """Pick the config class for AURA_ENV (default development)."""
    key = (name or os.environ.get("AURA_ENV") or "development").lower()
    try:
        return CONFIGS[key]
    except KeyError:
        raise RuntimeError(f"Unknown AURA_ENV {key!r}; use one of {sorted(CONFIGS)}") from None
