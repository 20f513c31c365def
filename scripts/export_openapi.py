"""Write AURA's OpenAPI document (as the running app serves it at /api/v1/openapi.json) to a file.

The TypeScript client's types are generated from it (clients/typescript), and CI regenerates
both and fails if the committed ones differ: the client can never drift from the server.

    .venv/bin/python scripts/export_openapi.py clients/typescript/openapi.json
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aura import create_app  # noqa: E402


def main(target: str) -> None:
    logging.disable(logging.WARNING)  # the testing app's start-up notes are not the document
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    Path(target).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "clients/typescript/openapi.json")
