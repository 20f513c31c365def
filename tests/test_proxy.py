"""Behind a reverse proxy: real client addresses only when the proxy is trusted; no foreign hosts."""

from __future__ import annotations

import pytest

from aura import create_app
from tests.conftest import AUTH

BAD = {"Authorization": "Bearer wrong-token"}


def failed_auth_from(client, address: str, **headers) -> int:
    return client.get(
        "/api/v1/memory/1", headers={**BAD, **headers}, environ_base={"REMOTE_ADDR": address}
    ).status_code


def test_behind_a_trusted_proxy_limits_count_each_real_client(make_app, db):
    client = make_app(AURA_TRUSTED_PROXIES=1, AURA_RATE_LIMIT_AUTH_FAILURES="2/minute").test_client()
    proxy = "10.0.0.1"
    attacker = [failed_auth_from(client, proxy, **{"X-Forwarded-For": "203.0.113.7"}) for _ in range(3)]
    assert attacker == [401, 401, 429]
    # Everyone else behind the same proxy is not locked out with the attacker.
    ok = client.get(
        "/api/v1/memory/1",
        headers={**AUTH, "X-Forwarded-For": "198.51.100.2"},
        environ_base={"REMOTE_ADDR": proxy},
    )
    assert ok.status_code == 200


def test_without_trusted_proxies_forwarded_headers_are_ignored(make_app, db):
    client = make_app(AURA_RATE_LIMIT_AUTH_FAILURES="2/minute").test_client()
    codes = [failed_auth_from(client, "192.0.2.5", **{"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(3)]
    assert codes == [401, 401, 429]  # spoofing a new address per request does not reset the count


def test_scheme_and_host_come_from_the_proxy_when_trusted(make_app, db):
    client = make_app(AURA_TRUSTED_PROXIES=1).test_client()
    response = client.get(
        "/api/v1/memory//43",
        headers={**AUTH, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "aura.example"},
    )
    assert response.status_code == 308
    assert response.headers["Location"].startswith("https://aura.example/")


def test_a_foreign_host_header_is_refused_not_redirected_to(make_app, db):
    client = make_app(AURA_ALLOWED_HOSTS="aura.example, localhost").test_client()
    response = client.get("/api/v1/memory//43", headers={**AUTH, "Host": "evil.example"})
    assert response.status_code == 400
    assert response.get_json()["status"] == "error"
    assert "evil.example" not in response.headers.get("Location", "")
    assert client.get("/api/v1/memory/43", headers={**AUTH, "Host": "aura.example"}).status_code == 200


def test_a_negative_proxy_count_refuses_to_start():
    with pytest.raises(RuntimeError, match="AURA_TRUSTED_PROXIES"):
        create_app("testing", {"AURA_TRUSTED_PROXIES": -1, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_behind_a_trusted_proxy_one_attacker_cannot_lock_every_staff_member_out(make_app, db):
    from aura.auth.staff import create_staff
    from tests.admin.conftest import TOKEN_RE

    app = make_app(AURA_TRUSTED_PROXIES=1, AURA_RATE_LIMIT_LOGIN="2/minute")
    create_staff("staff@aura.example", "correct horse battery staple")

    def login_attempt(client, forwarded_for: str, password: str) -> int:
        env = {"REMOTE_ADDR": "10.0.0.1"}  # every request arrives from the proxy
        headers = {"X-Forwarded-For": forwarded_for}
        page = client.get("/admin/login", headers=headers, environ_base=env).get_data(as_text=True)
        data = {
            "email": "staff@aura.example",
            "password": password,
            "csrf_token": TOKEN_RE.search(page).group(1),
        }
        return client.post("/admin/login", data=data, headers=headers, environ_base=env).status_code

    attacker, colleague = app.test_client(), app.test_client()
    assert [login_attempt(attacker, "203.0.113.66", "guess") for _ in range(3)] == [401, 401, 429]
    assert login_attempt(colleague, "198.51.100.7", "correct horse battery staple") == 302


@pytest.mark.parametrize("path", ["/admin/login", "/nothing-here", "/healthz", "/static/css/aura.css"])
def test_an_untrusted_host_gets_a_400_page_not_a_500(make_app, db, path):
    """The error page builds its links with url_for, which cannot work for a host Flask refused."""
    client = make_app(AURA_ALLOWED_HOSTS="aura.example").test_client()
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "400 Bad Request" in response.get_data(as_text=True)


def test_hsts_is_sent_over_https_only(make_app, db):
    client = make_app(AURA_TRUSTED_PROXIES=1).test_client()
    over_https = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    switched_off = make_app(AURA_TRUSTED_PROXIES=1, AURA_HSTS_SECONDS=0).test_client()
    assert (
        "Strict-Transport-Security"
        not in switched_off.get("/healthz", headers={"X-Forwarded-Proto": "https"}).headers
    )
