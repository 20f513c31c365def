"""gunicorn entry point: `gunicorn wsgi:app` runs AURA in production mode unless AURA_ENV says otherwise."""

import os

from aura import create_app

os.environ.setdefault("AURA_ENV", "production")
app = create_app()
