"""A real PgBouncer (Debian's package) on a loopback port, in front of the tests' PostgreSQL.

Production databases sit behind PgBouncer; in transaction mode a server connection passes to
another client after every transaction, which is what the tests through it must survive.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.processes import free_port, stop_process, wait_for_port

PGBOUNCER = Path("/usr/sbin/pgbouncer")
CONFIG = """\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = {mode}
default_pool_size = {pool_size}
max_client_conn = 2000
server_reset_query =
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""


def require_pgbouncer() -> None:
    """Skip where PgBouncer is missing locally; fail under CI, whose .ci/run installs it."""
    if PGBOUNCER.exists():
        return
    message = "Debian's pgbouncer is not installed (apt-get install pgbouncer); .ci/run installs it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class PgBouncer:
    """A running PgBouncer: ``url_for(database_url)`` is that database reached through it."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory

    def url_for(self, database_url: str) -> str:
        url = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def log(self) -> str:
        log = self.directory / "pgbouncer.log"
        return log.read_text(errors="replace") if log.exists() else "(no log)"


@contextmanager
def pgbouncer(database_url: str, mode: str = "transaction", pool_size: int = 8) -> Iterator[PgBouncer]:
    """Start PgBouncer in ``mode`` with ``pool_size`` server connections per database and user."""
    require_pgbouncer()
    server = make_url(database_url)
    directory = Path(tempfile.mkdtemp(prefix="aura-pgbouncer-"))
    port = free_port()
    (directory / "userlist.txt").write_text(f'"{server.username or "postgres"}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        CONFIG.format(
            host=server.host or "127.0.0.1",
            port=server.port or 5432,
            listen_port=port,
            directory=directory,
            mode=mode,
            pool_size=pool_size,
        )
    )
    command = [str(PGBOUNCER), str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(directory, "postgres")
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bouncer = PgBouncer(port, directory)
    try:
        wait_for_port(port, process, lambda: f"PgBouncer did not start: {bouncer.log()}")
        yield bouncer
    finally:
        stop_process(process, grace=10)
        shutil.rmtree(directory, ignore_errors=True)
