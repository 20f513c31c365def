"""The floor for a Flask chat turn on this box: bare Flask relaying one message to the model.

The chat analogue of ../shared/reference/ceiling_flask.py: gunicorn sync workers, one kept-alive
standard-library connection to the model per worker, a hand-built dict. No database, Redis,
schemas, auth, limits, logging or retries. Whatever this adds to the model's own latency, any
Flask app served by gunicorn pays before doing any work of its own: AURA's chat overhead is
stated beside it, from the same run.

Run: MODEL_URL=http://127.0.0.1:PORT gunicorn -w 2 --chdir bench relay_floor:app
"""

import http.client
import json
import os
from urllib.parse import urlsplit

from flask import Flask, request

app = Flask(__name__)
_model = urlsplit(os.environ.get("MODEL_URL", "http://127.0.0.1:11434"))
_connection: http.client.HTTPConnection | None = None  # one per sync worker, made after fork


def _complete(messages: list[dict]) -> dict:
    """Over the kept-alive connection; a connection left mid-request (its turn cut short when the
    load generator hung up) is dropped and the turn sent once more on a new one, as any relay
    must, or every later turn fails with CannotSendRequest."""
    global _connection
    body = json.dumps({"model": "bench", "messages": messages})
    for attempt in (1, 2):
        if _connection is None:
            _connection = http.client.HTTPConnection(_model.hostname, _model.port, timeout=30)
        try:
            _connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
            return json.loads(_connection.getresponse().read())
        except (http.client.HTTPException, OSError):
            _connection.close()
            _connection = None
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@app.post("/api/v1/orcha/chat")
def chat():
    message = request.get_json()["message"]
    reply = _complete([{"role": "user", "content": message}])
    return {"status": "ok", "reply": reply["choices"][0]["message"]["content"]}
