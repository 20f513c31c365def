"""gunicorn entry point: `gunicorn wsgi:app` runs AURA in production mode unless AURA_ENV says otherwise."""

import gc
import os

from aura import create_app

os.environ.setdefault("AURA_ENV", "production")
app = create_app()
# Everything loaded so far lives as long as the worker: leave it out of garbage collection.
# Full collections otherwise walk every module, class and function on each pass, which showed
# as 40-50 ms stalls in the p99 of GETs under load (p99 77-89 ms -> 34 ms).
gc.freeze()
