"""The per-client limit of the public endpoints (``CREDANCHOR_PUBLIC_RATE_LIMIT``).

Public means reachable without an API key: ``POST /api/v1/verify``, the issuer list and
status, the served status lists and DID documents, and the ``/verify`` and ``/c/{id}`` pages.
Each client address (``request.remote_addr``: the proxy's ``X-Forwarded-For`` only when
``CREDANCHOR_TRUSTED_PROXIES`` says so, see credanchor.web) gets, on each endpoint, a fixed
window per limit, counted in memory by the ``limits`` library, per process (under gunicorn,
per worker). Past it, a 429 problem (or page) with ``Retry-After``.

The counting is ``limits``'; this module only wires it to the views, which flask-limiter
used to do at ~0.15-0.25 ms a request (its limit resolution runs on every call: a sixth of
an in-process ``/api/v1/verify``), against ~5 µs for the count itself.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from credanchor.errors import ConfigError

__all__ = ["PublicLimit", "limit_views"]


class SweptMemoryStorage(MemoryStorage):
    """limits' ``memory://`` storage without a thread per request.

    ``MemoryStorage`` starts a ``threading.Timer`` (a new thread, 10 ms) on every hit whose
    previous timer has finished: under load, one thread start per request or so, about a
    fifth of the time ``POST /api/v1/verify`` took in-process (issue 15's profile). The
    counts do not need it — a hit reads its window's expiry itself — only the memory of
    clients gone quiet does; here that sweep runs inline, at most once a second."""

    SWEEP_EVERY = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = time.monotonic() + self.SWEEP_EVERY
        self._sweep_lock = threading.Lock()

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the private timer start
        now = time.monotonic()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + self.SWEEP_EVERY
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        finally:
            self._sweep_lock.release()


class PublicLimit:
    """``rate`` (``600/minute``; several separated by ``;``) per client address."""

    def __init__(self, rate: str) -> None:
        try:
            self.items: list[RateLimitItem] = parse_many(rate)
        except ValueError as exc:
            raise ConfigError(
                f"CREDANCHOR_PUBLIC_RATE_LIMIT {rate!r:.60} is not a rate such as 600/minute"
            ) from exc
        if not self.items:
            raise ConfigError("CREDANCHOR_PUBLIC_RATE_LIMIT is empty (e.g. 600/minute)")
        self.storage = SweptMemoryStorage()
        self._limiter = FixedWindowRateLimiter(self.storage)

    def check(self, endpoint: str) -> None:
        """Count this request for its client on ``endpoint``; TooManyRequests (429) past a
        limit."""
        client = f"{endpoint}/{request.remote_addr or '127.0.0.1'}"
        for item in self.items:
            if not self._limiter.hit(item, client):
                reset = self._limiter.get_window_stats(item, client).reset_time
                raise TooManyRequests(
                    f"Too many requests from this address: the limit is {item}. "
                    "Try again later.",
                    retry_after=max(1, math.ceil(reset - time.time())),
                )

    def wrap(self, view: Callable[..., Any], endpoint: str) -> Callable[..., Any]:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            self.check(endpoint)
            return view(*args, **kwargs)

        return limited


def limit_views(app: Flask, endpoints: list[str]) -> None:
    """Put ``endpoints`` under the app's public limit (one per app, made on first use; each
    endpoint counts each client separately)."""
    limit = app.extensions.get("credanchor.public_limit")
    if limit is None:
        rate = app.extensions["credanchor"].settings.public_rate_limit
        limit = app.extensions["credanchor.public_limit"] = PublicLimit(rate)
    for endpoint in endpoints:
        app.view_functions[endpoint] = limit.wrap(app.view_functions[endpoint], endpoint)
