"""Fair turns between the connections a gevent worker holds.

A greenlet runs until it waits on I/O. A request that never waits (SQLite is a blocking C
call) or whose waits happen to be short carries straight on to the next request on its
keep-alive connection, while the worker's other connections wait their turn for longer:
on SQLite GET p50 was 1 ms but p99 0.6-1.1 s at 32 connections. Once a response is sent,
the greenlet waits for the hub to go idle, so every connection with a request ready is
served before this one takes another.

Measured (wrk, 32 connections, interleaved runs): SQLite GET p99 637-1,130 ms -> 25-35 ms at
the same throughput; PostgreSQL GET p99 54-81 ms -> 26-43 ms, mix 72-80 -> 53-57 ms, again at
the same throughput. (``gevent.sleep(0)`` instead cost PostgreSQL 5-10% of GET throughput.)
"""

from __future__ import annotations

from flask import Flask, Response

from aura.web.deadline import gevent_is_active


def init_fair_turns(app: Flask) -> None:
    if not gevent_is_active():
        return
    import gevent

    @app.after_request
    def _step_aside_once_sent(response: Response) -> Response:
        response.call_on_close(gevent.idle)  # runs when the server has sent the whole response
        return response
