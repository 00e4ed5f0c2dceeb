"""Which ``Host`` headers the service answers to, and the base of every absolute link it makes.

The verify link and the QR code on a credential's public page leave the site, so they must not
be built on whatever ``Host`` a client sends: with ``Host: evil.example`` the page would send
everyone who scans the code to the attacker. Two rules close that:

* every absolute link is built by :func:`external_url` on ``CREDANCHOR_PUBLIC_URL`` when it is
  set, and on the request's host only when it is not;
* :class:`HostGuard` answers any request whose ``Host`` is not allowed with a 400
  problem+json before Flask sees it (so no page, error handler or link ever runs on it).
  Allowed: the loopback names (any port), the public URL's host, and
  ``CREDANCHOR_ALLOWED_HOSTS``. ``make demo`` and the tests talk to 127.0.0.1 / localhost.

Why not Flask's ``TRUSTED_HOSTS``: Werkzeug 3.1 compares only the part of a trusted name before
its first ``:``, so no entry can ever match the IPv6 loopback ``[::1]``; and a refused host
there surfaces as a routing error, which our pages would render as HTML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import request, url_for

from credanchor.errors import ConfigError
from credanchor.usecases.config import Settings

#: Always answered: a Host naming the machine itself cannot point a link anywhere else.
LOOPBACK = ("localhost", "127.0.0.1", "::1")

# host[:port] as RFC 9110 allows it in Host: a DNS name or IPv4 address, or a bracketed IPv6
# address; the port 1-65535 without leading zeros.
_HOST = re.compile(
    r"(?P<name>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[(?P<ipv6>[0-9a-f:.]+)\])"
    r"(?::(?P<port>[1-9][0-9]{0,4}))?",
    re.ASCII | re.IGNORECASE,
)
# An allowed-hosts entry: a name (a leading dot allows its subdomains) or an IPv6 address.
_NAME = re.compile(r"\.?[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|(?=(?:[^:]*:){2})[0-9a-f:.]+", re.ASCII)

PROBLEM = {
    "type": "https://credanchor.dev/problems/untrusted-host",
    "title": "Host not allowed",
    "status": 400,
    "detail": "This service does not answer to the host named in the Host header; use its "
              "public address.",
    "code": "untrusted-host",
}


def host_name(host: str) -> str | None:
    """The name in a ``Host`` header value (IPv6 without brackets), lower-cased; None when the
    value is malformed or its port is out of range."""
    match = _HOST.fullmatch(host)
    if match is None or (match["port"] and int(match["port"]) > 65535):
        return None
    return (match["ipv6"] or match["name"]).lower()


def allowed_hosts(settings: Settings) -> tuple[str, ...]:
    """The names this deployment answers to (a leading dot: that domain and its subdomains)."""
    names = list(LOOPBACK)
    if settings.public_url:
        hostname = urlsplit(settings.public_url).hostname
        if hostname:
            names.append(hostname.lower())
    for raw in (settings.allowed_hosts or "").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        bare = entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry
        if not _NAME.fullmatch(bare):
            raise ConfigError(f"CREDANCHOR_ALLOWED_HOSTS: {raw.strip()!r} is not a host name "
                              "(write names like badges.example.org or .example.org, no "
                              "scheme, port or path)")
        names.append(bare)
    return tuple(dict.fromkeys(names))


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    name = host_name(host)
    if name is None:
        return False
    for entry in allowed:
        if entry.startswith("."):
            if name == entry[1:] or name.endswith(entry):
                return True
        elif name == entry:
            return True
    return False


class HostGuard:
    """WSGI middleware: a request whose Host is not allowed gets a 400 problem+json."""

    def __init__(self, app: Callable[..., Any], allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = tuple(allowed)
        self._refusal = json.dumps(PROBLEM).encode()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # HTTP/1.0 may omit Host; the server's own name then stands in (as in Werkzeug).
        host = environ.get("HTTP_HOST")
        if host is None:
            host = environ.get("SERVER_NAME", "")
        if host_allowed(host, self.allowed):
            return self.app(environ, start_response)
        start_response("400 Bad Request", [
            ("Content-Type", "application/problem+json"),
            ("Content-Length", str(len(self._refusal))),
        ])
        return [self._refusal]


def external_url(endpoint: str, **values: Any) -> str:
    """Absolute URL of ``endpoint``: on the configured public URL, else on this request's host
    (which :class:`HostGuard` has already checked)."""
    from credanchor.web import get_runtime

    base = get_runtime().settings.public_url or request.host_url
    return base.rstrip("/") + url_for(endpoint, **values)
