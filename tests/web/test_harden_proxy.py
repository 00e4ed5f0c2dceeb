"""Hardening (issue 12), item 5: behind a reverse proxy every request comes from the proxy's
address, so all clients shared one rate-limit bucket. ``CREDANCHOR_TRUSTED_PROXIES=N`` applies
Werkzeug's ProxyFix (``X-Forwarded-For`` set by N proxies in front of us) and the limiter keys
on the real client; without it, ``X-Forwarded-For`` is ignored (a client could otherwise pick
its own bucket)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from credanchor.usecases.container import Runtime
from credanchor.web import create_app
from kit.settings import make_settings

UNKNOWN = "/api/v1/credentials/by-hash/0x" + "00" * 32 + "/status"  # public, rate limited
ALICE = {"X-Forwarded-For": "203.0.113.7"}
BOB = {"X-Forwarded-For": "198.51.100.9"}
# Alice prepends a made-up address; our proxy appends the one it saw (hers) last.
ALICE_SPOOFING = {"X-Forwarded-For": "10.9.9.9, 203.0.113.7"}


def make_client(tmp_path, **settings) -> Iterator[FlaskClient]:
    rt = Runtime.open(make_settings(tmp_path / "data", public_rate_limit="2/minute", **settings))
    try:
        yield create_app(runtime=rt).test_client()
    finally:
        rt.close()


@pytest.fixture
def proxied(tmp_path) -> Iterator[FlaskClient]:
    yield from make_client(tmp_path, trusted_proxies=1)


@pytest.fixture
def direct(tmp_path) -> Iterator[FlaskClient]:
    yield from make_client(tmp_path)


def codes(client: FlaskClient, headers: dict[str, str], n: int) -> list[int]:
    return [client.get(UNKNOWN, headers=headers).status_code for _ in range(n)]


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket(proxied):
    assert codes(proxied, ALICE, 3) == [404, 404, 429]
    assert codes(proxied, BOB, 3) == [404, 404, 429]
    # a forged first hop does not buy Alice a fresh bucket: the proxy's last entry counts
    assert codes(proxied, ALICE_SPOOFING, 1) == [429]
    limited = proxied.get(UNKNOWN, headers=BOB)
    assert limited.mimetype == "application/problem+json"
    assert limited.get_json()["status"] == 429


def test_without_the_setting_x_forwarded_for_is_ignored(direct):
    assert codes(direct, ALICE, 2) == [404, 404]
    # the same peer address (the test client's 127.0.0.1): the same, exhausted bucket
    assert codes(direct, BOB, 1) == [429]
    assert codes(direct, {}, 1) == [429]


def test_trusted_proxies_must_not_be_negative(tmp_path):
    from credanchor.errors import ConfigError

    with pytest.raises(ConfigError, match="trusted_proxies must be 0"):
        make_settings(tmp_path / "data", trusted_proxies=-1)
