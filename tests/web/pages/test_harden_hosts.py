"""Hardening (issue 12), item 3: the Host header must not decide the links the service makes.

Without ``CREDANCHOR_PUBLIC_URL`` the verify link and the QR code on ``/c/{id}`` are built on the
request's host, so a forged ``Host: evil.example`` made the page point verifiers (and anyone
scanning the code) at the attacker. Now only loopback names (any port), the public URL's host
and ``CREDANCHOR_ALLOWED_HOSTS`` are answered; any other Host gets a 400 problem+json on every
route, pages included; and with a public URL every absolute link is built on it."""

from __future__ import annotations

import dataclasses

import pytest
import segno

from credanchor.errors import ConfigError
from credanchor.web import create_app
from kit.pages import parse
from kit.settings import make_settings

PROBLEM = "application/problem+json"
FORGED = ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example",
          "10.0.0.1", "[::2]:8000", "badges.example.evil"]
MALFORMED = ["", "local host", "localhost:99999", "localhost:0", "[::1", "::1",
             "localhost:8000:1", "évil.example", "localhost/"]


def app_with(web_runtime, monkeypatch, **settings):
    monkeypatch.setattr(web_runtime, "settings",
                        dataclasses.replace(web_runtime.settings, **settings))
    app = create_app(runtime=web_runtime)
    app.config["TESTING"] = True
    return app.test_client()


def verify_link(resp) -> tuple[str, str]:
    assert resp.status_code == 200 and resp.mimetype == "text/html", resp.data[:300]
    doc = parse(resp.data)
    href = doc.one("a", cls="verify-link").attrs["href"]
    path = doc.one(cls="qr-box").one("path", stroke="#000").attrs["d"]
    return href, path


def qr_path(data: str) -> str:
    svg = parse(segno.make(data, error="m").svg_inline(scale=4, border=2))
    return svg.one("path", stroke="#000").attrs["d"]


def assert_refused(resp) -> None:
    assert resp.status_code == 400, (resp.status_code, resp.data[:300])
    assert resp.mimetype == PROBLEM
    body = resp.get_json(force=True)
    assert body["status"] == 400 and body["code"] == "untrusted-host"
    assert "evil" not in resp.get_data(as_text=True)  # the forged value is not echoed


def every_kind_of_route(badges) -> list[tuple[str, str]]:
    return [("get", f"/c/{badges.shared_id}"), ("get", "/verify"), ("get", "/"),
            ("get", "/api/v1/issuers"), ("post", "/api/v1/verify"), ("get", "/healthz"),
            ("get", "/no-such-page"), ("get", "/api/v1/credentials"),
            ("options", "/api/v1/verify")]


@pytest.mark.parametrize("host", FORGED + MALFORMED)
def test_a_forged_host_is_refused_everywhere_without_a_public_url(client, badges, host):
    for method, url in every_kind_of_route(badges):
        resp = getattr(client, method)(url, headers={"Host": host}, json=badges.shared
                                        if method == "post" else None)
        assert_refused(resp)


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "127.0.0.1",
                                  "[::1]:8000", "[::1]", "LOCALHOST:5000"])
def test_loopback_hosts_are_served_and_build_the_links(client, badges, host):
    href, qr = verify_link(client.get(f"/c/{badges.shared_id}", headers={"Host": host}))
    assert href.startswith(f"http://{host.lower()}/verify?id=")
    assert qr == qr_path(href)


def test_with_a_public_url_every_link_is_built_on_it_whatever_the_host(
        web_runtime, badges, monkeypatch):
    client = app_with(web_runtime, monkeypatch, public_url="https://badges.example/")
    for host in ("badges.example", "badges.example:443", "localhost:8000"):
        href, qr = verify_link(client.get(f"/c/{badges.shared_id}", headers={"Host": host}))
        assert href.startswith("https://badges.example/verify?id=")
        assert qr == qr_path(href)
    for host in FORGED:
        assert_refused(client.get(f"/c/{badges.shared_id}", headers={"Host": host}))


def test_allowed_hosts_adds_names_and_subdomains(web_runtime, badges, monkeypatch):
    client = app_with(web_runtime, monkeypatch,
                      allowed_hosts="verify.example.org, .partner.example")
    for host in ("verify.example.org:8443", "a.partner.example", "partner.example", "localhost"):
        href, _ = verify_link(client.get(f"/c/{badges.shared_id}", headers={"Host": host}))
        assert href.startswith(f"http://{host}/verify")
    for host in ("example.org", "partner.example.evil", "evilpartner.example", *FORGED):
        assert_refused(client.get(f"/c/{badges.shared_id}", headers={"Host": host}))


@pytest.mark.parametrize("hosts", ["bad host", "http://x.example", "x.example:8000", "a/b"])
def test_bad_allowed_hosts_are_refused_at_start(web_runtime, monkeypatch, hosts):
    monkeypatch.setattr(web_runtime, "settings",
                        dataclasses.replace(web_runtime.settings, allowed_hosts=hosts))
    with pytest.raises(ConfigError, match="CREDANCHOR_ALLOWED_HOSTS"):
        create_app(runtime=web_runtime)


@pytest.mark.parametrize("url", ["badges.example", "ftp://badges.example", "https://",
                                 "https://[::1", "https://badges.example:0/"])
def test_a_bad_public_url_is_refused(tmp_path, url):
    with pytest.raises(ConfigError, match="CREDANCHOR_PUBLIC_URL"):
        make_settings(tmp_path / "data", public_url=url)
