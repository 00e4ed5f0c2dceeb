"""``/api/v1``: the issuer API (Bearer API keys) and the public verification API.

An issuer sees and acts on its own credentials and batches only: every lookup is scoped by the
authenticated issuer, and another issuer's id answers 404 exactly like a missing one.
"""

from __future__ import annotations

import functools
import json as _json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request, url_for

from credanchor import __version__
from credanchor.core.credentials import parse_datetime
from credanchor.core.hashing import from_hex32, loads_plain, loads_strict, to_hex
from credanchor.core.timefmt import utc_text_or_none
from credanchor.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from credanchor.issuing.pipeline import load_items
from credanchor.ledger.store import CREDENTIAL_STATUSES, Batch, Issuer, StoredCredential
from credanchor.usecases import revocation
from credanchor.usecases import stacks as stacking
from credanchor.usecases.issuing import issue_request
from credanchor.usecases.revocation import reason_code
from credanchor.web import get_runtime, published, ratelimit
from credanchor.web.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# -- authentication ----------------------------------------------------------------------------


def issuer_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
        issuer = get_runtime().store().authenticate(key.strip())
        if issuer is None:
            raise Unauthorized("unknown or revoked API key")
        if not issuer.active:
            raise Forbidden(f"issuer {issuer.address} is suspended")
        g.issuer = issuer
        return view(*args, **kwargs)

    return wrapper


def current_issuer() -> Issuer:
    return g.issuer


# -- representations ---------------------------------------------------------------------------


def credential_summary(c: StoredCredential) -> dict[str, Any]:
    return {
        "id": c.id,
        "credentialHash": to_hex(c.credential_hash),
        "status": c.status,
        "batchId": c.batch_id,
        "createdAt": utc_text_or_none(c.created_at),
    }


def batch_view(b: Batch) -> dict[str, Any]:
    runtime = get_runtime()
    explorer = runtime.settings.explorer_url
    return {
        "id": b.id,
        "status": b.status,
        "root": to_hex(b.root),
        "count": b.count,
        "sealedAt": utc_text_or_none(b.sealed_at),
        "transactionHash": b.tx_hash,
        "blockNumber": b.block_number,
        "anchoredAt": utc_text_or_none(b.anchored_at),
        "confirmedAt": utc_text_or_none(b.confirmed_at),
        "chainId": runtime.chain.chain_id,
        "contract": runtime.chain.contract_address,
        "explorerUrl": f"{explorer.rstrip('/')}/tx/{b.tx_hash}" if explorer and b.tx_hash else None,
        "lastError": b.last_error,
    }


def _body_bytes() -> bytes:
    data = request.get_data(cache=True)
    if not data:
        raise InvalidInput("the request body is empty; send JSON")
    return data


def _json_body() -> Any:
    return loads_strict(_body_bytes())


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"query parameter {name} must be an integer") from None
    if not lo <= value <= hi:
        raise InvalidInput(f"query parameter {name} must be between {lo} and {hi}")
    return value


def _reason() -> tuple[int, str | None]:
    body = _json_body() if request.get_data(cache=True) else {}
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object like {\"reason\": \"superseded\"}")
    code = reason_code(body.get("reason", "unspecified"))
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise InvalidInput("note must be a string")
    return code, note


# -- issuer endpoints --------------------------------------------------------------------------


@bp.post("/credentials")
@issuer_required
def post_credentials() -> Response:
    runtime = get_runtime()
    issuer = current_issuer()
    upload = request.files.get("file")
    if upload is not None:
        items = load_items(upload.read(), upload.mimetype)
    else:
        if not request.get_data(cache=True):
            raise InvalidInput("send credentials as JSON, as CSV (text/csv) or as a 'file' upload")
        items = load_items(request.get_data(cache=True), request.content_type)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 200):
        raise InvalidInput("Idempotency-Key must be 1-200 characters")
    accepted = issue_request(runtime, issuer, items, idempotency_key=key)
    resp = jsonify({"count": len(accepted), "credentials": [a.to_dict() for a in accepted]})
    resp.status_code = 202
    return resp


@bp.get("/credentials")
@issuer_required
def list_credentials() -> Response:
    status = request.args.get("status")
    if status is not None and status not in CREDENTIAL_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(CREDENTIAL_STATUSES)}")
    batch_id = _int_arg("batch", 0, 0, 2**62) or None
    limit = _int_arg("limit", 100, 1, 1000)
    after = _int_arg("after", 0, 0, 2**62)
    items = get_runtime().store().list_credentials(
        current_issuer().id, status=status, batch_id=batch_id, after_seq=after, limit=limit
    )
    nxt = items[-1].seq if len(items) == limit else None
    return jsonify({"items": [credential_summary(c) for c in items], "next": nxt})


@bp.get("/credentials/<path:credential_id>")
@issuer_required
def get_credential(credential_id: str) -> Response:
    runtime = get_runtime()
    store = runtime.store()
    cred = store.get_credential(credential_id, issuer_id=current_issuer().id)
    body = credential_summary(cred)
    body["shared"] = store.is_shared(cred.id)
    revocation = store.revocation_of(cred.issuer_id, "credential", cred.credential_hash)
    body["revocation"] = None if revocation is None else {
        "reason": revocation["reason"], "status": revocation["op_status"] or "queued",
        "transactionHash": revocation["tx_hash"],
    }
    if cred.status == "anchored":
        document = runtime.proofs().credential_file(cred)
        if request.args.get("download"):
            safe = cred.id.replace(":", "-")
            return Response(
                _json.dumps(document, indent=2, ensure_ascii=False), mimetype="application/json",
                headers={"Content-Disposition": f'attachment; filename="{safe}.json"'},
            )
        body["credential"] = document
        body["download"] = url_for("api.get_credential", credential_id=cred.id, download=1)
    else:
        if request.args.get("download"):
            raise NotFound(f"credential {cred.id} is {cred.status}; its file exists once anchored")
        body["credential"] = cred.as_dict()
    return jsonify(body)


@bp.patch("/credentials/<path:credential_id>")
@issuer_required
def patch_credential(credential_id: str) -> Response:
    body = _json_body()
    if not isinstance(body, dict) or set(body) != {"shared"} or not isinstance(body["shared"], bool):
        raise InvalidInput('send {"shared": true} or {"shared": false}')
    store = get_runtime().store()
    store.set_shared(credential_id, body["shared"], issuer_id=current_issuer().id)
    cred = store.get_credential(credential_id, issuer_id=current_issuer().id)
    return jsonify({**credential_summary(cred), "shared": body["shared"]})


@bp.post("/credentials/<path:credential_id>/revoke")
@issuer_required
def revoke_credential(credential_id: str) -> Response:
    runtime = get_runtime()
    cred = runtime.store().get_credential(credential_id, issuer_id=current_issuer().id)
    reason, note = _reason()
    done = revocation.revoke_credential(runtime, cred.id, reason, note,
                                        issuer_id=current_issuer().id)
    return _revocation_response(done, {"id": cred.id,
                                       "credentialHash": to_hex(cred.credential_hash)})


@bp.post("/batches")
@issuer_required
def post_batches() -> Response:
    runtime = get_runtime()
    anchorer = runtime.anchorer()
    sealed = anchorer.seal_due(force=True, issuer_id=current_issuer().id)
    runtime.wake_worker()
    resp = jsonify({"batches": [batch_view(b) for b in sealed]})
    resp.status_code = 202
    return resp


@bp.get("/batches")
@issuer_required
def list_batches() -> Response:
    status = request.args.get("status")
    if status is not None and status not in ("queued", "submitted", "confirmed", "failed"):
        raise InvalidInput("status must be queued, submitted, confirmed or failed")
    limit = _int_arg("limit", 100, 1, 1000)
    items = get_runtime().store().list_batches(
        issuer_id=current_issuer().id, status=status, limit=limit,
        after_id=_int_arg("after", 0, 0, 2**62),
    )
    return jsonify({"items": [batch_view(b) for b in items],
                    "next": items[-1].id if len(items) == limit else None})


@bp.get("/batches/<int:batch_id>")
@issuer_required
def get_batch(batch_id: int) -> Response:
    return jsonify(batch_view(get_runtime().store().get_batch(batch_id, issuer_id=current_issuer().id)))


@bp.post("/batches/<int:batch_id>/revoke")
@issuer_required
def revoke_batch(batch_id: int) -> Response:
    runtime = get_runtime()
    batch = runtime.store().get_batch(batch_id, issuer_id=current_issuer().id)
    reason, note = _reason()
    done = revocation.revoke_batch(runtime, batch.id, reason, note, issuer_id=current_issuer().id)
    return _revocation_response(done, {"id": batch.id, "root": to_hex(batch.root)})


def _revocation_response(done: revocation.Revocation, body: dict[str, Any]) -> Response:
    """202 either way: the worker carries the revocation to the chain."""
    resp = jsonify({**body, "reason": done.reason, "status": done.status})
    resp.status_code = 202
    return resp


# -- stacked qualifications (credanchor.usecases.stacks, docs/stacking.md) -----------------------------


def _stack_request(allowed: set[str]) -> dict[str, Any]:
    body = _json_body()
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object like {\"recipient\": …, \"components\": […]}")
    unknown = set(body) - allowed
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(sorted(unknown))}")
    version = body.get("version")
    # Below 2**63 too: SQLite holds no larger integer (a 500 the API fuzzer found).
    if version is not None and (type(version) is not int or not 1 <= version < 2**63):
        raise InvalidInput("version must be a positive integer")
    return body


def _stack_view(published: stacking.PublishedStack) -> dict[str, Any]:
    return {**published.summary(),
            "definition": dict(published.file or published.definition.document)}


@bp.post("/stacks")
@issuer_required
def post_stacks() -> Response:
    runtime = get_runtime()
    published = stacking.publish(runtime, current_issuer(), _json_body())
    runtime.wake_worker()
    resp = jsonify(_stack_view(published))
    resp.status_code = 202
    return resp


@bp.get("/stacks")
@issuer_required
def list_stacks() -> Response:
    items = stacking.list_stacks(get_runtime(), current_issuer().id)
    return jsonify({"items": [p.summary() for p in items]})


@bp.get("/stacks/<stack_id>")
@issuer_required
def get_stack(stack_id: str) -> Response:
    version = _int_arg("version", 0, 0, 1_000_000) or None
    return jsonify(_stack_view(stacking.get_stack(get_runtime(), current_issuer().id, stack_id,
                                                  version)))


@bp.post("/stacks/<stack_id>/eligibility")
@issuer_required
def stack_eligibility(stack_id: str) -> Response:
    body = _stack_request({"recipient", "components", "version"})
    result = stacking.check_eligibility(get_runtime(), current_issuer(), stack_id,
                                        body.get("components"), body.get("recipient"),
                                        version=body.get("version"))
    return jsonify(result.to_dict())


@bp.post("/stacks/<stack_id>/issue")
@issuer_required
def issue_stack(stack_id: str) -> Response:
    body = _stack_request({"recipient", "name", "components", "version", "validUntil"})
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise InvalidInput("name must be a non-empty string")
    valid_until = body.get("validUntil")
    if valid_until is not None:
        try:
            valid_until = parse_datetime(valid_until)
        except ValueError as exc:
            raise InvalidInput(f"validUntil: {exc}") from None
    runtime = get_runtime()
    accepted = stacking.issue_qualification(
        runtime, current_issuer(), stack_id, body.get("components"), body.get("recipient"),
        name=name.strip() if name else None, version=body.get("version"),
        valid_until=valid_until)
    runtime.wake_worker()
    resp = jsonify(accepted.to_dict())
    resp.status_code = 202
    return resp


# -- public endpoints --------------------------------------------------------------------------


@bp.route("/verify", methods=["POST", "OPTIONS"])
def verify() -> Response:
    if request.method == "OPTIONS":  # CORS preflight: any site may ask us to verify
        return Response(status=204)
    document, plain = loads_plain(_body_bytes())
    if not isinstance(document, dict):
        raise InvalidInput("send one credential as a JSON object")
    report = get_runtime().verify(document, plain=plain)
    return jsonify(report.to_dict())


@bp.get("/issuers")
def issuers() -> Response:
    runtime = get_runtime()
    return jsonify({
        "chainId": runtime.chain.chain_id,
        "contract": runtime.chain.contract_address,
        "issuers": runtime.issuer_index.issuers(),  # indexed: O(1) RPC calls per request
    })


@bp.get("/credentials/by-hash/<hexhash>/status")
def public_status(hexhash: str) -> Response:
    """Whether a hash is known to this ledger (no personal data): lets holders of a pending
    credential check progress without an API key."""
    store = get_runtime().store()
    cred = store.get_credential_by_hash(from_hex32(hexhash))
    if cred is None:
        raise NotFound("no credential with that hash")
    return jsonify({"credentialHash": to_hex(cred.credential_hash), "status": cred.status})


def healthz() -> tuple[Response, int]:
    runtime = get_runtime()
    body: dict[str, Any] = {"version": __version__}
    ok = True
    try:
        store = runtime.store()
        pending, oldest = store.pending_summary()
        last = store.last_confirmed_batch()
        body["database"] = {"ok": True, "schemaVersion": store.schema_version}
        body["backlog"] = {"pending": pending, "oldestPendingAt": utc_text_or_none(oldest)}
        body["lastAnchor"] = None if last is None else {
            "batchId": last.id, "transactionHash": last.tx_hash, "confirmedAt": utc_text_or_none(last.confirmed_at)}
    except Exception as exc:  # health must report, not crash
        ok = False
        body["database"] = {"ok": False, "error": type(exc).__name__}
    try:
        body["chain"] = {"ok": True, "chainId": runtime.chain.chain_id,
                         "contract": runtime.chain.contract_address, "head": runtime.chain.head()}
    except Exception as exc:
        ok = False
        body["chain"] = {"ok": False, "error": str(exc)[:200]}
    body["status"] = "ok" if ok else "degraded"
    return jsonify(body), 200 if ok else 503


def openapi() -> Response:
    return jsonify(openapi_document())


def _cors(resp: Response) -> Response:
    if request.path == "/api/v1/verify":
        resp.headers["Access-Control-Allow-Origin"] = "*"
        resp.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
        resp.headers["Access-Control-Max-Age"] = "86400"
    return resp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # Status lists and DID documents (web.published): public, under the same limit.
    app.register_blueprint(published.bp)
    # The public endpoints, under the per-client limit (credanchor.web.ratelimit).
    endpoints = [f"api.{view.__name__}" for view in (verify, issuers, public_status)]
    endpoints += ["published.status_list", "published.well_known_did", "published.issuer_did"]
    ratelimit.limit_views(app, endpoints)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/openapi.json", "openapi", openapi)
    app.after_request(_cors)
