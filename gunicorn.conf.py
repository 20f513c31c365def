"""gunicorn settings for AURA (`gunicorn wsgi:app` picks this file up from the project root).

gthread workers: each worker serves many requests on threads, so a streamed chat reply or a
slow model call holds one thread, not a whole process, and database and LLM waits overlap.
Tokens are written as they come (no buffering). gevent would also work but needs monkey-patching
and a green psycopg; threads need neither.
"""

import os

bind = os.environ.get("AURA_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("AURA_THREADS", "8"))
timeout = int(os.environ.get("AURA_WORKER_TIMEOUT", "120"))  # longer than the slowest model reply
graceful_timeout = 30
keepalive = 5
accesslog = None  # the app logs one line per request itself
errorlog = "-"
