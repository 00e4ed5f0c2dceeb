"""The Flask application: issuer API, public verification API and pages.

``create_app(settings=None, *, runtime=None)``: nothing is opened at import time. Production runs
``gunicorn "credanchor.web:create_app()"`` (settings from ``CREDANCHOR_*``); tests hand in a
:class:`~credanchor.usecases.container.Runtime` built on a temporary data directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

from credanchor.usecases.config import Settings, load_settings
from credanchor.usecases.container import Runtime


class _JsonProvider(DefaultJSONProvider):
    """Flask's JSON, written by orjson when the value is plain JSON data (what the API
    returns: a verification report takes ~2 µs instead of ~33 µs). Keys stay sorted, as
    Flask sorts them; anything orjson refuses or would write its own way (a datetime, a
    dataclass, a subclass, a non-string key, an integer beyond 64 bits) goes Flask's way, so
    every response parses to the same value as before. Non-ASCII text is written as UTF-8
    rather than as \\u escapes; the template filter ``tojson`` still escapes ``<``, ``>``,
    ``&`` and ``'`` after this."""

    _OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
                | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        option = self._OPTIONS | (orjson.OPT_INDENT_2 if kwargs.get("indent") else 0)
        try:
            return orjson.dumps(obj, option=option).decode()
        except TypeError:  # orjson.JSONEncodeError included
            return super().dumps(obj, **kwargs)


def create_app(
    settings: Settings | Mapping[str, Any] | None = None,
    *,
    runtime: Runtime | None = None,
    start_worker: bool = False,
) -> Flask:
    if runtime is None:
        if settings is None or isinstance(settings, Mapping):
            settings = load_settings(**dict(settings or {}))
        runtime = Runtime.open(settings)
    app = Flask(__name__)
    app.json = _JsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = runtime.settings.max_body_bytes
    app.extensions["credanchor"] = runtime

    from credanchor.web import api, hosts, pages, problems

    # Outermost first: ProxyFix sets the client address from X-Forwarded-For (so the rate
    # limiter keys on the real client, not on the proxy) only when proxies are configured:
    # without one, any client could name its own address and pick a fresh bucket.
    app.wsgi_app = hosts.HostGuard(app.wsgi_app, hosts.allowed_hosts(runtime.settings))  # type: ignore[method-assign]
    if runtime.settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=runtime.settings.trusted_proxies)  # type: ignore[method-assign]
    problems.init_app(app)
    api.init_app(app)
    pages.init_app(app)
    if start_worker:
        runtime.start_worker_thread()
    return app


def get_runtime() -> Runtime:
    from flask import current_app

    return current_app.extensions["credanchor"]
