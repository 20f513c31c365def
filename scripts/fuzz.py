"""Fuzz the JSON API from its own OpenAPI document with schemathesis.

Serves AURA on 127.0.0.1 (a fresh SQLite database, a fake OpenAI-compatible model on loopback,
a service token) and runs `st run` against it. Any 5xx, or any response that breaks the
documented schema, fails the run. Usage: .venv/bin/python scripts/fuzz.py [--max-examples N]
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from aura import MIGRATIONS_DIR, create_app  # noqa: E402
from tests.fake_llm import FakeLLM  # noqa: E402

TOKEN = "fuzz-service-token-0123456789abcdefghijklmnop"
CHECKS = "all"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=60)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    fake_llm = FakeLLM().start()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            "testing",
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/fuzz.db",
                "AURA_SERVICE_TOKENS": f"fuzz={TOKEN}",
                "AURA_LLM_BASE_URL": fake_llm.url,
                "AURA_LLM_MODEL": "fuzz-model",
                "AURA_LOG_LEVEL": "WARNING",  # hundreds of requests: keep the CI log readable
            },
        )
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        command = [
            str(Path(sys.executable).parent / "st"),
            "--config-file",
            str(ROOT / "scripts" / "schemathesis.toml"),
            "run",
            f"{base}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(args.max_examples),
            "--workers",
            "1",
        ]
        if args.seed is not None:
            command += ["--seed", str(args.seed)]
        print(f"==> schemathesis against {base} ({args.max_examples} examples per operation)", flush=True)
        result = subprocess.run(command, check=False)
        server.shutdown()
    fake_llm.stop()
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
