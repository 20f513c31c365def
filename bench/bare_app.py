"""The yardstick: a bare Flask handler doing one psycopg query from a pool.

AURA's throughput is reported as a ratio against this, measured in the same run, because
absolute numbers on shared machines are noise.
"""

import os

from flask import Flask, jsonify
from psycopg_pool import ConnectionPool

pool = ConnectionPool(os.environ["BENCH_PG_DSN"], min_size=4, max_size=16, open=True)
app = Flask(__name__)


@app.get("/api/v1/memory/<int:user_id>")
def get_memory(user_id: int):
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT content, created_at, updated_at FROM user_memories WHERE user_id = %s", (user_id,)
        ).fetchone()
    if row is None:
        return jsonify(status="ok", memory=None)
    return jsonify(
        status="ok",
        memory={"content": row[0], "created_at": row[1].isoformat(), "updated_at": row[2].isoformat()},
    )
