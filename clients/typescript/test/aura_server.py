"""AURA for the TypeScript client's tests: SQLite, a loopback model, a real HTTP server.

Prints one JSON line ({"url", "token", "jwt"}) once it answers, then serves until stdin closes.
The loopback model answers a message containing "[slow]" with one token and then holds the
rest back (for aborted streams), "[echo]" with the messages it was sent, "[tool]" with a tool
call, "[cut]" by hanging up mid-stream; everything else with "Hello from the fake model."
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from aura import MIGRATIONS_DIR, create_app  # noqa: E402
from aura.auth.tokens import mint_user_token  # noqa: E402
from tests.conftest import SERVICE_TOKEN  # noqa: E402
from tests.fake_llm import Answer, FakeLLM  # noqa: E402

HELD = threading.Event()  # never set: a "[slow]" stream stops after its first token


TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
}


# A consolidation's answer, as the v2 prompt asks for it: one edit adding what the tests' users say.
CONSOLIDATED = {"edits": [{"op": "add", "line": 0, "text": "Drinks tea every morning.", "because": ""}]}


def answer(body: dict) -> Answer:
    last = str(body["messages"][-1].get("content"))
    if "long-term memory" in str(body["messages"][0].get("content")):
        return Answer(reply=json.dumps(CONSOLIDATED))
    if "[slow]" in last:
        return Answer(tokens=["first", " second"], hold_after_first_token=HELD)
    if "[echo]" in last:  # what the model was sent, as its reply: the OpenAI tests check the memory's place
        echoed = json.dumps(body["messages"])
        return Answer(reply=echoed, tokens=[echoed])
    if "[tool]" in last:
        return Answer(tool_calls=[TOOL_CALL])
    if "[cut]" in last:
        return Answer(cut_after_first_token=True)
    return Answer()


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request: noise in test output
    fake = FakeLLM().start()
    fake.responder = answer
    database = Path(tempfile.mkdtemp()) / "aura.db"
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "AURA_LLM_BASE_URL": fake.url,
            "AURA_LLM_MODEL": "fake-model",
            "AURA_RATE_LIMIT_CONSOLIDATE": "3/hour",
            "AURA_CORS_ORIGINS": sys.argv[1] if len(sys.argv) > 1 else "",
            "AURA_LOG_LEVEL": "WARNING",
        },
    )
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        jwt = mint_user_token(42, minutes=60)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    print(json.dumps({"url": url, "token": SERVICE_TOKEN, "jwt": jwt}), flush=True)
    sys.stdin.read()  # until the test runner closes it
    server.shutdown()
    fake.stop()


if __name__ == "__main__":
    main()
