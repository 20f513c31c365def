"""A loopback OpenAI-compatible model for the benchmarks (asyncio, so it is never the bottleneck).

Two ways to answer ``POST /v1/chat/completions``:
- streamed (``"stream": true``): ``chunks`` deltas ``chunk_gap`` seconds apart, then ``[DONE]``;
- whole: one chat.completion after ``reply_delay`` seconds, on a keep-alive connection.

Runs in a process of its own (no GIL shared with the load generator):
``start_model(reply_delay=0.05)`` returns its port and the process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time

from common import free_port

REPLY = json.dumps(
    {
        "id": "bench",
        "object": "chat.completion",
        "model": "bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the bench model."}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16},
    }
).encode()


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    return await reader.readexactly(length)


async def _stream(writer: asyncio.StreamWriter, chunks: int, gap: float) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
    for i in range(chunks):
        chunk = {"choices": [{"index": 0, "delta": {"content": f"tok{i} "}}], "model": "bench"}
        writer.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await writer.drain()
        await asyncio.sleep(gap)
    writer.write(b"data: [DONE]\n\n")
    await writer.drain()


async def _connection(reader, writer, args) -> None:
    try:
        while True:  # keep-alive: AURA's client reuses connections for whole replies
            body = await _read_request(reader)
            if b'"stream": true' in body or b'"stream":true' in body:
                await _stream(writer, args.chunks, args.chunk_gap)
                return
            await asyncio.sleep(args.reply_delay)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(REPLY)}\r\n\r\n".encode()
                + REPLY
            )
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _serve(args) -> None:
    server = await asyncio.start_server(
        lambda r, w: _connection(r, w, args), "127.0.0.1", args.port, backlog=4096
    )
    async with server:
        await server.serve_forever()


def start_model(
    chunks: int = 5, chunk_gap: float = 0.3, reply_delay: float = 0.05
) -> tuple[int, subprocess.Popen]:
    """Start the model in its own process; its port and the process."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            str(port),
            f"--chunks={chunks}",
            f"--chunk-gap={chunk_gap}",
            f"--reply-delay={reply_delay}",
        ]
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port, process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the loopback model did not start")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--chunks", type=int, default=5)
    parser.add_argument("--chunk-gap", type=float, default=0.3)
    parser.add_argument("--reply-delay", type=float, default=0.05)
    asyncio.run(_serve(parser.parse_args()))
