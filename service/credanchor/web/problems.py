"""Every error leaves as RFC 9457 ``application/problem+json`` — never a traceback.

``CredanchorError`` subclasses carry their own status and code; Werkzeug's HTTP errors (404 for
an unknown route, 405, 413 from ``MAX_CONTENT_LENGTH``) are rendered the same way; anything else
is logged with its traceback and answered with a bare 500 problem that reveals nothing.
HTML pages register their own handlers for their routes (see pages.py).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from credanchor.errors import CredanchorError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=body["status"], mimetype=PROBLEM_JSON)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def from_error(exc: CredanchorError) -> Response:
    status = exc.status if exc.status >= 400 else 500
    body = exc.to_problem(instance=request.path)
    body["status"] = status
    return problem_response(body)


def from_http(exc: HTTPException) -> Response:
    code = exc.code or 500
    slug = (exc.name or "error").lower().replace(" ", "-")
    body = {
        "type": f"https://credanchor.dev/problems/{slug}",
        "title": exc.name,
        "status": code,
        "detail": exc.description,
        "code": slug,
        "instance": request.path,
    }
    headers = {}
    if code == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    if code == 429 and getattr(exc, "retry_after", None):
        headers["Retry-After"] = str(exc.retry_after)  # type: ignore[attr-defined]
    return problem_response(body, headers)


def from_unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem_response({
        "type": "https://credanchor.dev/problems/internal",
        "title": "Internal error",
        "status": 500,
        "detail": "An unexpected error occurred; it has been logged.",
        "code": "internal",
        "instance": request.path,
    })


def wants_html() -> bool:
    """Pages (not /api) answer in HTML; pages.py decides for its own routes."""
    return not request.path.startswith("/api/") and request.path not in ("/healthz", "/openapi.json")


def init_app(app: Flask) -> None:
    app.register_error_handler(CredanchorError, from_error)
    app.register_error_handler(HTTPException, from_http)
    app.register_error_handler(Exception, from_unexpected)
