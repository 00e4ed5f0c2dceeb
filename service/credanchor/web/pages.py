"""Server-rendered pages: the landing page, the verifier and a credential's public page.

The verifier works without JavaScript: ``<form method=post action=/verify>`` is answered here
with the report rendered by Jinja. ``static/verify.js`` enhances it by posting the same JSON to
the public ``POST /api/v1/verify`` and rendering that API's report with the same markup, so the
page and the API can never disagree about a badge: both render one Report (the page the object,
the script its ``to_dict()``). The wording
both use (check titles, outcome words, status explanations) is defined once, here, and handed to
the script as a JSON block.

WARNING: everything inside a credential is attacker-controlled text, and a tampered file is
exactly what this page exists to show. Templates rely on Jinja's autoescaping, links from a
credential pass :func:`safe_url` (no ``javascript:`` hrefs), and the pages are served with a
strict Content-Security-Policy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import segno
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    render_template,
    request,
)
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from credanchor.core.credentials import parse_datetime
from credanchor.core.hashing import loads_strict
from credanchor.core.report import Report
from credanchor.errors import CredanchorError, InvalidInput
from credanchor.verify.qualifications import component_rows
from credanchor.web import get_runtime, hosts, problems, ratelimit

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES = PACKAGE_DIR / "templates"
STATIC = PACKAGE_DIR / "static"

bp = Blueprint("pages", __name__, template_folder=str(TEMPLATES))

# -- wording ----------------------------------------------------------------------------------
# One place for every word the verifier shows; verify.js receives the same tables (labels()).

CHECK_TITLES = {
    "schema": "Follows the Open Badges 3.0 format",
    "integrity": "Unaltered since issued",
    "signature": "Signed by the issuer",
    "merkle": "Part of the issued batch",
    "validity": "Within its validity period",
    "trusted-anchor": "Recorded in a trusted registry",
    "anchored": "Recorded on the blockchain",
    "did-binding": "Issuer identity matches its blockchain account",
    "issuer": "Issued by an accredited issuer",
    "revocation": "Not revoked",
    "confirmations": "Final on the blockchain",
    "status-list": "The issuer's public status list agrees",
    # stacked qualifications (credanchor.verify.qualifications)
    "stack-definition": "Granted under a published, unchanged rule",
    "stack-components": "The badges it is built from are genuine and in force",
    "stack-recipient": "Built from the holder's own badges",
    "stack-rule": "The badges meet the rule",
}

# word shown next to each check, and the icon (a <symbol> id in base.html)
OUTCOMES = {
    "pass": ("Passed", "i-pass"),
    "fail": ("Failed", "i-fail"),
    "error": ("Could not check", "i-error"),
    "skipped": ("Not checked", "i-skip"),
    "warn": ("Warning", "i-warn"),
}

STATUSES = {
    "VALID": (
        "i-pass",
        "This badge is genuine: it is unaltered, was issued by an accredited issuer and is "
        "recorded on the blockchain.",
    ),
    "INVALID": (
        "i-fail",
        "Do not trust this badge: it was altered or was not issued as it claims (see the failed "
        "check below).",
    ),
    "REVOKED": (
        "i-revoked",
        "The issuer has withdrawn this badge, so it no longer counts, even though it was once "
        "issued.",
    ),
    "EXPIRED": (
        "i-expired",
        "This badge was genuinely issued, but today is outside the period in which it is valid.",
    ),
    "PENDING": (
        "i-pending",
        "Not confirmed yet: this badge's record on the blockchain is not final. Check again in "
        "a little while.",
    ),
    "ERROR": (
        "i-error",
        "We could not reach the blockchain right now. This says nothing about the badge; try "
        "again later.",
    ),
}


# A qualification REVOKED because a badge it is built from (or its rule) was withdrawn, while
# the qualification itself was not revoked.
STACK_REVOKED = (
    "i-revoked",
    "A badge this qualification is built from, or the rule it was granted under, has been "
    "withdrawn by its issuer, so the qualification no longer counts (see below).",
)


# PENDING because the file carries no proof at all (Report.unconfirmed): anyone can type such a
# file, so nothing may sound reassuring (issue 12).
UNCONFIRMED = (
    "i-pending",
    "Nothing about this file is confirmed: it carries no blockchain proof, so we cannot tell "
    "whether it is genuine, unaltered or really from the issuer it names. Do not rely on it "
    "until its issuer has recorded it.",
)


def labels() -> dict[str, Any]:
    """The wording tables, as handed to verify.js."""
    return {
        "stackRevoked": {"icon": STACK_REVOKED[0], "text": STACK_REVOKED[1]},
        "unconfirmed": {"icon": UNCONFIRMED[0], "text": UNCONFIRMED[1]},
        "checks": CHECK_TITLES,
        "outcomes": {k: {"word": w, "icon": i} for k, (w, i) in OUTCOMES.items()},
        "statuses": {k: {"icon": i, "text": t} for k, (i, t) in STATUSES.items()},
    }


# -- presenting a report ----------------------------------------------------------------------


def safe_url(value: Any) -> str | None:
    """``value`` if it is an absolute http(s) URL, else None: credential text never becomes a
    ``javascript:`` or ``data:`` link."""
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return value.strip()
    return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def format_time(value: Any) -> str | None:
    """An ISO 8601 string or a Unix timestamp as '1 March 2026, 14:05 UTC' (always UTC: a
    verifier and a holder in different time zones must read the same date)."""
    if value in (None, "", 0):
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            dt = datetime.fromtimestamp(value, UTC)
        elif isinstance(value, str):
            dt = parse_datetime(value, lenient=True)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return str(value)
    return f"{dt.day} {dt:%B %Y, %H:%M} UTC"


def format_date(value: Any) -> str | None:
    full = format_time(value)
    return full.split(",")[0] if full and full.endswith("UTC") else full


def recipient_name(credential: Mapping[str, Any]) -> str | None:
    """The holder's display name, if the credential states one in clear.

    OB 3.0 has no plain name field on the subject; a name travels either as ``name`` (a common
    extension) or as an unhashed IdentityObject of type ``name``. Hashed identifiers (the email
    default) are never shown: they are not names.
    """
    subject = _first(credential.get("credentialSubject"))
    if not isinstance(subject, Mapping):
        return None
    if name := _text(subject.get("name")):
        return name
    identifiers = subject.get("identifier")
    for ident in identifiers if isinstance(identifiers, list) else []:
        if (
            isinstance(ident, Mapping)
            and ident.get("identityType") == "name"
            and ident.get("hashed") is False
        ):
            return _text(ident.get("identityHash"))
    return None


def achievement_of(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = _first(credential.get("credentialSubject"))
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    return achievement if isinstance(achievement, Mapping) else {}


def claimed_issuer_name(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    return _text(issuer.get("name")) if isinstance(issuer, Mapping) else None


def badge_name(credential: Mapping[str, Any]) -> str | None:
    return _text(achievement_of(credential).get("name")) or _text(credential.get("name"))


def _view(report: Report, credential: Any) -> dict[str, Any]:
    """One report (its own checks, not its components) plus its file → what the template
    shows for it; :func:`present` nests the components."""
    status = str(report.status)
    icon, explanation = STATUSES.get(status, STATUSES["ERROR"])
    checks = []
    for c in report.checks:
        outcome = str(c.outcome)
        word, check_icon = OUTCOMES.get(outcome, (outcome, "i-error"))
        checks.append(
            {
                "name": c.name,
                "title": CHECK_TITLES.get(c.name, c.name),
                "outcome": outcome,
                "word": word,
                "icon": check_icon,
                "message": c.message or "",
            }
        )
    doc = credential if isinstance(credential, Mapping) else {}
    issuer = report.issuer
    anchor = report.anchor
    # What the file says is only worth repeating as fact once the file is known to be unaltered.
    unaltered = any(c["name"] == "integrity" and c["outcome"] == "pass" for c in checks)
    if status == "REVOKED" and not any(
        c["name"] == "revocation" and c["outcome"] == "fail" for c in checks
    ) and any(str(c["name"]).startswith("stack-") and c["outcome"] == "fail" for c in checks):
        icon, explanation = STACK_REVOKED
    if report.unconfirmed:
        icon, explanation = UNCONFIRMED
    return {
        "status": status,
        "icon": icon,
        "explanation": explanation,
        # the stack's own checks are shown after the components they are about
        "checks": [c for c in checks if not str(c["name"]).startswith("stack-")],
        "stack_checks": [c for c in checks if str(c["name"]).startswith("stack-")],
        "failed": [c for c in checks if c["outcome"] == "fail"],
        "credential_id": report.credential_id or doc.get("id"),
        "badge_name": badge_name(doc),
        "recipient": recipient_name(doc),
        "unaltered": unaltered,
        "issuer_name": (issuer or {}).get("name") or None,
        "issuer_address": (issuer or {}).get("address"),
        "claimed_issuer": claimed_issuer_name(doc),
        "anchored_at": format_time((anchor or {}).get("anchoredAt")),
        "explorer_url": safe_url((anchor or {}).get("explorerUrl")),
        "transaction": (anchor or {}).get("transactionHash"),
        "components": [],
    }


def present(report: Report, credential: Any = None) -> dict[str, Any]:
    """A report plus the submitted credential → what the template shows, with a stacked
    qualification's components nested under it. The tree is walked in one place
    (credanchor.verify.qualifications.component_rows, which the CLI's text uses too): each
    component's facts (badge, holder) come from the file the qualification carries for it,
    trusted only as far as its own checks say."""
    root = _view(report, credential)
    path = [root]  # the view of each open level: path[d] is the parent of a row at depth d+1
    for row in component_rows(report, credential):
        view = _view(row.report, row.document)
        del path[row.depth:]
        path[-1]["components"].append(view)
        path.append(view)
    return root


def alignments(achievement: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    items = achievement.get("alignment")
    for a in items if isinstance(items, list) else []:
        if isinstance(a, Mapping) and (_text(a.get("targetName")) or safe_url(a.get("targetUrl"))):
            out.append(
                {
                    "name": _text(a.get("targetName")) or a.get("targetUrl"),
                    "url": safe_url(a.get("targetUrl")),
                    "framework": _text(a.get("targetFramework")),
                    "code": _text(a.get("targetCode")),
                }
            )
    return out


def criteria_of(achievement: Mapping[str, Any]) -> dict[str, Any]:
    criteria = achievement.get("criteria")
    if isinstance(criteria, str):
        return {"narrative": _text(criteria), "url": None}
    if isinstance(criteria, Mapping):
        return {"narrative": _text(criteria.get("narrative")), "url": safe_url(criteria.get("id"))}
    return {"narrative": None, "url": None}


# -- routes -----------------------------------------------------------------------------------


@bp.get("/")
def index() -> str:
    return render_template("index.html")


def _verify_page(
    *,
    report: Any = None,
    credential: Any = None,
    error: str | None = None,
    pasted: str = "",
    status: int = 200,
) -> tuple[str, int]:
    view = present(report, credential) if report is not None else None
    html = render_template("verify.html", view=view, error=error, pasted=pasted, labels=labels())
    return html, status


@bp.get("/verify")
def verify() -> tuple[str, int]:
    if "url" in request.args:
        # WARNING: fetching a visitor-supplied URL would make this server a proxy into whatever
        # network it sits in (SSRF); badges come as files or by the id of a shared badge.
        return _verify_page(
            error="We do not fetch badges from other sites. Download the badge file and drop it "
            "here, or paste its contents.",
            status=400,
        )
    credential_id = request.args.get("id", "").strip()
    if not credential_id:
        return _verify_page()
    runtime = get_runtime()
    credential = runtime.shared_credential(credential_id)
    if credential is None:
        # Same answer for "unknown" and "not shared": the page must not reveal which ids exist.
        return _verify_page(
            error="No shared badge has that id. Ask the holder for their badge file and check "
            "it here instead.",
            status=404,
        )
    return _verify_page(report=runtime.verify(credential), credential=credential)


@bp.post("/verify")
def verify_post() -> tuple[str, int]:
    upload = request.files.get("file")
    pasted = request.form.get("credential", "")
    data: bytes | str
    if upload is not None and upload.filename:
        data = upload.read()
        if not data:
            return _verify_page(
                error="That file is empty. Choose the badge's .json file.", status=400
            )
        pasted = ""
    elif pasted.strip():
        data = pasted
    else:
        return _verify_page(
            error="Choose a badge file or paste its contents, then press Verify.", status=400
        )
    try:
        credential = loads_strict(data)
        if not isinstance(credential, dict):
            raise InvalidInput("a badge file holds one JSON object, starting with '{'")
        report = get_runtime().verify(credential)
    except CredanchorError as exc:
        if 400 <= exc.status < 500:
            message = f"This is not a badge file we can read: {exc.detail}"
        else:  # our side failed; blaming the file would be wrong
            message = (
                f"Something went wrong on our side while checking ({exc.title}). Try again later."
            )
        return _verify_page(
            error=message, pasted=pasted, status=exc.status if 400 <= exc.status < 600 else 500
        )
    return _verify_page(report=report, credential=credential, pasted=pasted)


def _shared_or_404(credential_id: str) -> dict[str, Any]:
    credential = get_runtime().shared_credential(credential_id)
    if credential is None:
        abort(404, description="This badge does not exist or its holder has not made it public.")
    return credential


def verify_url(credential_id: str) -> str:
    """Absolute link to this credential's verification (QR codes leave the site): on the
    public URL, never on a Host header the guard has not checked (hosts.py)."""
    return hosts.external_url("pages.verify", id=credential_id)


def qr_svg(data: str) -> Markup:
    qr = segno.make(data, error="m")
    # Markup: segno escapes nothing we pass except ``data``, which it encodes into modules.
    return Markup(
        qr.svg_inline(
            scale=4,
            border=2,
            omitsize=True,
            dark="#000",
            light="#fff",
            svgclass="qr",
            lineclass=None,
        )
    )


@bp.get("/c/<path:credential_id>.json")
def credential_file(credential_id: str) -> Response:
    credential = _shared_or_404(credential_id)
    filename = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in credential_id)
    return Response(
        json.dumps(credential, indent=2, ensure_ascii=False) + "\n",
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}.json"'},
    )


@bp.get("/c/<path:credential_id>")
def credential_page(credential_id: str) -> str:
    credential = _shared_or_404(credential_id)
    achievement = achievement_of(credential)
    link = verify_url(credential_id)
    # Checked on every view: a page that still looked fine after its badge was revoked would
    # mislead exactly the people it is shared with.
    status = present(get_runtime().verify(credential), credential)
    return render_template(
        "credential.html",
        status=status,
        credential_id=credential_id,
        name=badge_name(credential) or "Untitled badge",
        description=_text(achievement.get("description")),
        criteria=criteria_of(achievement),
        issuer=claimed_issuer_name(credential),
        issuer_url=safe_url((credential.get("issuer") or {}).get("url"))
        if isinstance(credential.get("issuer"), Mapping)
        else None,
        recipient=recipient_name(credential),
        alignments=alignments(achievement),
        valid_from=format_date(credential.get("validFrom") or credential.get("issuanceDate")),
        valid_until=format_date(credential.get("validUntil") or credential.get("expirationDate")),
        verify_link=link,
        qr=qr_svg(link),
    )


# -- problems as pages ------------------------------------------------------------------------


def _problem_page(status: int, title: str, detail: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title, detail=detail), status


def _http_page(exc: HTTPException) -> Response:
    """An HTTP error as a page, keeping its headers (Allow on 405, Retry-After on 429)."""
    html, status = _problem_page(exc.code or 500, exc.name, exc.description or "")
    resp = Response(html, status=status, mimetype="text/html")
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            resp.headers[name] = value
    return resp


@bp.app_template_filter("safe_url")
def _safe_url_filter(value: Any) -> str | None:
    return safe_url(value)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return _http_page(exc)


@bp.errorhandler(CredanchorError)
def _credanchor_error(exc: CredanchorError) -> tuple[str, int]:
    status = exc.status if 400 <= exc.status < 600 else 500
    return _problem_page(status, exc.title, exc.detail)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> tuple[str, int]:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _problem_page(
        500, "Something went wrong", "An unexpected error occurred on our side; it has been logged."
    )


def _routing_error(exc: HTTPException) -> Response:
    """Every 404/405 passes here: an app-level handler for a status code outranks the
    blueprint's class-based one. Our own pages answer with a page; an unknown address gets a
    page when a browser asked for HTML, and problem+json otherwise (the API, scripts)."""
    if request.blueprint == bp.name or (
        problems.wants_html() and request.accept_mimetypes.accept_html
    ):
        return _http_page(exc)
    return problems.from_http(exc)


@bp.after_request
def _security_headers(resp: Response) -> Response:
    # Inline SVG needs no exception; the wording tables travel as type=application/json, which
    # is data, not script.
    resp.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    )
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    return resp


def init_app(app: Flask) -> None:
    # The app object is created as ``Flask("credanchor.web")``, whose own static folder would be
    # app/static; the assets live beside the templates at package level, so point the app's
    # /static route there (a blueprint static route on the same URL would be shadowed by it).
    app.static_folder = str(STATIC)
    app.register_blueprint(bp)
    app.register_error_handler(404, _routing_error)
    app.register_error_handler(405, _routing_error)
    # These pages do the same work as POST /api/v1/verify (each one asks the chain), so they
    # get the same per-client limit (credanchor.web.ratelimit).
    ratelimit.limit_views(app, ["pages.verify", "pages.verify_post", "pages.credential_page"])
