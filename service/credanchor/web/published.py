"""What the service publishes for verifiers outside it: status lists and DID documents.

* ``GET /status/{issuer}/{list}``: the issuer's signed BitstringStatusListCredential
  (credanchor.usecases.status_lists), at exactly the URL its badges' ``credentialStatus``
  names.
* ``GET /.well-known/did.json`` (issuer 1) and ``GET /issuers/{n}/did.json``: the DID
  document of a did:web issuer (credanchor.usecases.issuer_identity).

Public (no API key), rate limited like the other public endpoints (credanchor.web.api), and
cacheable for a minute: a revocation shows in the list once it is confirmed on chain, and at
most a minute later in a cache.

Media types: ``application/json`` for the list. The Digital Credentials Consortium's
verifier-core reads the body as text whatever its type, and Digital Bazaar's http-client parses
any type that contains ``json``; plain JSON is the one every client's JSON-LD document loader
takes. ``application/did+json`` for DID documents (the did:web specification's type; the DCC
did:web driver and credanchor's own resolver both accept it).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, json

from credanchor.errors import NotFound
from credanchor.usecases.issuer_identity import (
    did_document_for,
    find_issuer_by_did_path,
)
from credanchor.usecases.status_lists import status_list_document
from credanchor.web import get_runtime

bp = Blueprint("published", __name__)

#: Seconds a client or cache may reuse a list or DID document.
MAX_AGE = 60
STATUS_LIST_TYPE = "application/json"
DID_DOCUMENT_TYPE = "application/did+json"


def _public(body: dict[str, Any], mimetype: str) -> Response:
    resp = Response(json.dumps(body), mimetype=mimetype)
    resp.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    # Browser-based verifiers fetch these from other origins.
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


#: An issuer id or list number in a path: canonical ASCII decimal, within SQLite's integer
#: range. The routes take any text and check it here, so that a malformed one is a 404
#: problem+json like an unknown one (a routing 404 would be an HTML page for a browser's
#: Accept header), and nothing else reaches the ledger.
_NUMBER = re.compile(r"[1-9][0-9]{0,17}", re.ASCII)


def _number(text: str, what: str) -> int:
    if _NUMBER.fullmatch(text) is None:
        raise NotFound(f"no such {what}")
    return int(text)


@bp.get("/status/<issuer_id>/<list_no>")
def status_list(issuer_id: str, list_no: str) -> Response:
    document = status_list_document(get_runtime(), _number(issuer_id, "status list"),
                                    _number(list_no, "status list"))
    return _public(document, STATUS_LIST_TYPE)


def _did_document(slug: str | None) -> Response:
    runtime = get_runtime()
    issuer = find_issuer_by_did_path(runtime, slug)  # only where its DID points, else 404
    return _public(did_document_for(runtime, issuer), DID_DOCUMENT_TYPE)


@bp.get("/.well-known/did.json")
def well_known_did() -> Response:
    return _did_document(None)


@bp.get("/issuers/<path:slug>/did.json")
def issuer_did(slug: str) -> Response:
    return _did_document(slug)
