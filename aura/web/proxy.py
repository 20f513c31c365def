"""Running behind a reverse proxy: trust its forwarded headers only as far as configured.

With AURA_TRUSTED_PROXIES=N (the number of proxies in front, usually 1 for nginx), Werkzeug's
ProxyFix takes the client address, scheme and host from the last N X-Forwarded-* entries, so
per-address limits (staff logins, failed API auth) count real clients, not the proxy. With
0 (the default) those headers are ignored: a client cannot spoof its address.
AURA_ALLOWED_HOSTS limits the Host header AURA accepts (Flask's TRUSTED_HOSTS): redirects it
builds can then never point at another site.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def parse_hosts(raw: str) -> list[str]:
    return [host.strip().lower() for host in raw.split(",") if host.strip()]


def init_proxy(app: Flask) -> None:
    proxies = int(app.config["AURA_TRUSTED_PROXIES"])
    if proxies < 0:
        raise RuntimeError("AURA_TRUSTED_PROXIES is the number of proxies in front of AURA: 0 or more")
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    hosts = parse_hosts(app.config["AURA_ALLOWED_HOSTS"])
    if hosts:
        app.config["TRUSTED_HOSTS"] = hosts
    elif app.config["ENV_NAME"] == "production":
        app.logger.warning(
            "AURA_ALLOWED_HOSTS is not set: any Host header is accepted (set it to the public host name)"
        )
