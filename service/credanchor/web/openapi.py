"""The OpenAPI 3.1 description of ``/api/v1``, ``/healthz``, ``/openapi.json`` and what the
service publishes for verifiers (status lists, did:web documents: web.published).

Kept true by tests/web/test_openapi.py: every Flask route under /api/v1 and every published
document must be described here, and the test client's responses are validated against the
schemas below.
"""

from __future__ import annotations

from typing import Any

from credanchor import __version__

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": PROBLEM}}}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _did_json(schema: dict[str, Any], description: str = "The DID document") -> dict[str, Any]:
    return {"description": description, "content": {"application/did+json": {"schema": schema}}}


AUTH_ERRORS = {
    "401": _problem("Missing or unknown API key"),
    "403": _problem("The issuer is suspended"),
}
SECURED: list[dict[str, list[str]]] = [{"apiKey": []}]

REASON_BODY = {
    "required": False,
    "content": {"application/json": {"schema": {
        "type": "object",
        "properties": {
            "reason": {"oneOf": [
                {"type": "string", "enum": ["unspecified", "issued-in-error", "superseded",
                                            "misconduct", "key-compromise", "withdrawn"]},
                {"type": "integer", "minimum": 0, "maximum": 255},
            ]},
            "note": {"type": "string"},
        },
    }}},
}


def openapi_document() -> dict[str, Any]:
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    id_param = {"name": "credential_id", "in": "path", "required": True,
                "schema": {"type": "string"}, "example": "urn:uuid:1f0c…"}
    batch_param = {"name": "batch_id", "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 1}}
    stack_param = {"name": "stack_id", "in": "path", "required": True,
                   "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
                   "example": "data-analyst"}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "credanchor API",
            "version": __version__,
            "description": "Issue Open Badges 3.0 micro-credentials anchored on an Ethereum "
                           "chain, and verify them. Issuer endpoints take `Authorization: Bearer "
                           "<API key>`; /verify, /issuers and /healthz are public, as are the status lists and "
                           "DID documents the service publishes. Any route answers 400 "
                           "`untrusted-host` to a Host header it does not serve.",
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/api/v1/credentials": {
                "post": {
                    "summary": "Issue credentials (one object, a JSON array, or CSV)",
                    "security": SECURED,
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                    "schema": {"type": "string", "minLength": 1, "maxLength": 200}}],
                    "requestBody": {"required": True, "content": {
                        "application/json": {"schema": {"oneOf": [
                            ref("IssueItem"), {"type": "array", "items": ref("IssueItem")}]}},
                        "text/csv": {"schema": {"type": "string"}},
                        "multipart/form-data": {"schema": {"type": "object", "properties": {
                            "file": {"type": "string", "format": "binary"}}}},
                    }},
                    "responses": {
                        "202": _json(ref("Accepted"), "Accepted as pending"),
                        "400": _problem("Malformed JSON, CSV or UTF-8"),
                        "409": _problem("Idempotency-Key reused with another body"),
                        "413": _problem("Too many credentials or too large a body"),
                        "422": _problem("A credential fails the Open Badges 3.0 schema"),
                        **AUTH_ERRORS,
                    },
                },
                "get": {
                    "summary": "List your credentials",
                    "security": SECURED,
                    "parameters": [
                        {"name": "status", "in": "query", "schema": {"type": "string", "enum": [
                            "pending", "sealed", "submitted", "anchored", "failed"]}},
                        {"name": "batch", "in": "query", "schema": {"type": "integer"}},
                        {"name": "after", "in": "query", "schema": {"type": "integer"}},
                        {"name": "limit", "in": "query",
                         "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                    ],
                    "responses": {
                        "200": _json({"type": "object", "required": ["items", "next"], "properties": {
                            "items": {"type": "array", "items": ref("CredentialSummary")},
                            "next": {"type": ["integer", "null"]}}}),
                        "400": _problem("Bad query parameter"),
                        **AUTH_ERRORS,
                    },
                },
            },
            "/api/v1/credentials/{credential_id}": {
                "get": {
                    "summary": "A credential's status; with its proof once anchored",
                    "security": SECURED,
                    "parameters": [id_param, {"name": "download", "in": "query",
                                              "schema": {"type": "string"}}],
                    "responses": {
                        "200": _json(ref("CredentialDetail")),
                        "404": _problem("No such credential (for you)"),
                        **AUTH_ERRORS,
                    },
                },
                "patch": {
                    "summary": "Share (or stop sharing) a credential's public page /c/{id}",
                    "security": SECURED,
                    "parameters": [id_param],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["shared"],
                        "properties": {"shared": {"type": "boolean"}}}}}},
                    "responses": {
                        "200": _json(ref("CredentialSummary")),
                        "400": _problem("Bad body"),
                        "404": _problem("No such credential (for you)"),
                        **AUTH_ERRORS,
                    },
                },
            },
            "/api/v1/credentials/{credential_id}/revoke": {
                "post": {
                    "summary": "Revoke a credential (carried to the chain by the worker)",
                    "security": SECURED,
                    "parameters": [id_param],
                    "requestBody": REASON_BODY,
                    "responses": {
                        "202": _json(ref("RevocationAccepted")),
                        "400": _problem("Bad reason"),
                        "404": _problem("No such credential (for you)"),
                        **AUTH_ERRORS,
                    },
                },
            },
            "/api/v1/batches": {
                "post": {
                    "summary": "Seal everything pending now; the worker anchors it",
                    "security": SECURED,
                    "responses": {
                        "202": _json({"type": "object", "required": ["batches"], "properties": {
                            "batches": {"type": "array", "items": ref("Batch")}}}),
                        **AUTH_ERRORS,
                    },
                },
                "get": {
                    "summary": "List your batches",
                    "security": SECURED,
                    "parameters": [
                        {"name": "status", "in": "query", "schema": {
                            "type": "string", "enum": ["queued", "submitted", "confirmed", "failed"]}},
                        {"name": "after", "in": "query", "schema": {"type": "integer"}},
                        {"name": "limit", "in": "query",
                         "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                    ],
                    "responses": {
                        "200": _json({"type": "object", "required": ["items", "next"], "properties": {
                            "items": {"type": "array", "items": ref("Batch")},
                            "next": {"type": ["integer", "null"]}}}),
                        "400": _problem("Bad query parameter"),
                        **AUTH_ERRORS,
                    },
                },
            },
            "/api/v1/batches/{batch_id}": {
                "get": {
                    "summary": "A batch: status, root, count, transaction, block, explorer link",
                    "security": SECURED,
                    "parameters": [batch_param],
                    "responses": {"200": _json(ref("Batch")),
                                  "404": _problem("No such batch (for you)"), **AUTH_ERRORS},
                },
            },
            "/api/v1/batches/{batch_id}/revoke": {
                "post": {
                    "summary": "Revoke a whole batch",
                    "security": SECURED,
                    "parameters": [batch_param],
                    "requestBody": REASON_BODY,
                    "responses": {"202": _json(ref("RevocationAccepted")),
                                  "400": _problem("Bad reason"),
                                  "404": _problem("No such batch (for you)"), **AUTH_ERRORS},
                },
            },
            "/api/v1/stacks": {
                "post": {
                    "summary": "Publish a stack definition (a new version if the stack exists); "
                               "anchored by the worker like a credential",
                    "security": SECURED,
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": ref("StackInput")}}},
                    "responses": {
                        "202": _json(ref("StackDetail"), "Published, pending anchoring"),
                        "400": _problem("Malformed definition, or an accepted issuer that is "
                                        "not accredited"),
                        "422": _problem("The qualification's achievement fails the OB 3.0 "
                                        "schema"),
                        **AUTH_ERRORS,
                    },
                },
                "get": {
                    "summary": "List your stack definitions (every version)",
                    "security": SECURED,
                    "responses": {
                        "200": _json({"type": "object", "required": ["items"], "properties": {
                            "items": {"type": "array", "items": ref("StackSummary")}}}),
                        **AUTH_ERRORS,
                    },
                },
            },
            "/api/v1/stacks/{stack_id}": {
                "get": {
                    "summary": "A stack definition (latest version unless ?version=N), with its "
                               "proof once anchored",
                    "security": SECURED,
                    "parameters": [stack_param, {"name": "version", "in": "query",
                                                 "schema": {"type": "integer", "minimum": 1}}],
                    "responses": {"200": _json(ref("StackDetail")),
                                  "400": _problem("Bad version"),
                                  "404": _problem("No such stack (for you)"), **AUTH_ERRORS},
                },
            },
            "/api/v1/stacks/{stack_id}/eligibility": {
                "post": {
                    "summary": "Check whether component credential files earn the stack; lists "
                               "what is missing",
                    "security": SECURED,
                    "parameters": [stack_param],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": ref("StackRequest")}}},
                    "responses": {"200": _json(ref("Eligibility")),
                                  "400": _problem("Malformed request"),
                                  "404": _problem("No such stack (for you)"),
                                  "409": _problem("The stack definition was withdrawn"),
                                  "413": _problem("Too many components, or more credentials "
                                                  "to verify than the limit"),
                                  **AUTH_ERRORS},
                },
            },
            "/api/v1/stacks/{stack_id}/issue": {
                "post": {
                    "summary": "Grant the stacked qualification (pending; anchored by the worker)",
                    "security": SECURED,
                    "parameters": [stack_param],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": ref("StackRequest")}}},
                    "responses": {
                        "202": _json({"type": "object",
                                      "required": ["id", "credentialHash", "status"],
                                      "properties": {"id": {"type": "string"},
                                                     "credentialHash": {"type": "string"},
                                                     "status": {"enum": ["pending"]}}},
                                     "Accepted as pending"),
                        "400": _problem("Malformed request"),
                        "404": _problem("No such stack (for you)"),
                        "409": _problem("The stack definition is not anchored yet, or was "
                                        "withdrawn"),
                        "413": _problem("Too many components, or more credentials to verify "
                                        "than the limit"),
                        "422": _problem("Not eligible: `missing` and `shortfalls` say why"),
                        **AUTH_ERRORS,
                    },
                },
            },
            "/api/v1/verify": {
                "post": {
                    "summary": "Verify a credential file (public; CORS enabled)",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"type": "object"}}}},
                    "responses": {
                        "200": _json(ref("Report"), "The verification report"),
                        "400": _problem("Not a JSON object"),
                        "413": _problem("Body too large, or more credentials to verify than "
                                        "CREDANCHOR_MAX_VERIFY_CREDENTIALS (a stacked "
                                        "qualification counts every level)"),
                        "429": _problem("Rate limited"),
                    },
                },
            },
            "/api/v1/issuers": {
                "get": {
                    "summary": "Accredited issuers as the chain records them (public)",
                    "responses": {"200": _json({"type": "object",
                                                "required": ["chainId", "contract", "issuers"],
                                                "properties": {
                        "chainId": {"type": "integer"}, "contract": {"type": "string"},
                        "issuers": {"type": "array", "items": ref("Issuer")}}}),
                        "429": _problem("Rate limited"), "503": _problem("Chain unreachable")},
                },
            },
            "/api/v1/credentials/by-hash/{hexhash}/status": {
                "get": {
                    "summary": "Status of a credential by its hash (public, no personal data)",
                    "parameters": [{"name": "hexhash", "in": "path", "required": True,
                                    "schema": {"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"}}],
                    "responses": {"200": _json({"type": "object", "properties": {
                        "credentialHash": {"type": "string"}, "status": {"type": "string"}}}),
                        "404": _problem("Unknown hash"), "400": _problem("Not a 32-byte hex hash"),
                        "429": _problem("Rate limited")},
                },
            },
            "/status/{issuer_id}/{list_no}": {
                "get": {
                    "summary": "An issuer's signed revocation status list (public; CORS enabled)",
                    "description": "The BitstringStatusListCredential a badge's "
                                   "`credentialStatus.statusListCredential` names: issued and "
                                   "signed (eddsa-rdfc-2022) by the badges' issuer DID; a bit is "
                                   "set once the revocation of its badge, or of its batch, is "
                                   "confirmed on chain. `Cache-Control: public, max-age=60`.",
                    "parameters": [
                        {"name": "issuer_id", "in": "path", "required": True,
                         "schema": {"type": "integer", "minimum": 1}},
                        {"name": "list_no", "in": "path", "required": True,
                         "schema": {"type": "integer", "minimum": 1}},
                    ],
                    "responses": {
                        "200": _json(ref("StatusListCredential"), "The signed status list"),
                        "404": _problem("No such issuer or list, or an issuer that does not "
                                        "sign"),
                        "429": _problem("Rate limited"),
                    },
                },
            },
            "/.well-known/did.json": {
                "get": {
                    "summary": "The DID document of issuer 1 when it is did:web:<host> (public)",
                    "responses": {
                        "200": _did_json(ref("DidDocument")),
                        "404": _problem("Issuer 1 is not a did:web issuer of this host"),
                        "429": _problem("Rate limited"),
                    },
                },
            },
            "/issuers/{slug}/did.json": {
                "get": {
                    "summary": "The DID document of issuer n, did:web:<host>:issuers:n (public)",
                    "parameters": [{"name": "slug", "in": "path", "required": True,
                                    "description": "the issuer id",
                                    "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"}}],
                    "responses": {
                        "200": _did_json(ref("DidDocument")),
                        "404": _problem("No did:web issuer has its document here"),
                        "429": _problem("Rate limited"),
                    },
                },
            },
            "/healthz": {
                "get": {
                    "summary": "Database, chain, backlog and last anchor",
                    "responses": {"200": _json(ref("Health")), "503": _json(ref("Health"), "Degraded")},
                },
            },
            "/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": _json({"type": "object"})}},
            },
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "API key from `credanchor issuer add`"}},
            "schemas": SCHEMAS,
        },
    }
    _add_untrusted_host(document["paths"])
    return document


UNTRUSTED_HOST = "the Host header names a host the service does not answer to (code " \
                 "`untrusted-host`, before anything else runs; see docs/api.md)"


def _add_untrusted_host(paths: dict[str, Any]) -> None:
    """Every route answers 400 untrusted-host (web.hosts.HostGuard): say so on each one,
    beside the operation's own 400 where it has one."""
    for operations in paths.values():
        for operation in operations.values():
            responses = operation["responses"]
            if "400" in responses:
                responses["400"] = _problem(f"{responses['400']['description']}; or "
                                            f"{UNTRUSTED_HOST}")
            else:
                responses["400"] = _problem(UNTRUSTED_HOST[0].upper() + UNTRUSTED_HOST[1:])


NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"},
            "status": {"type": "integer"}, "detail": {"type": "string"},
            "instance": {"type": "string"}, "code": {"type": "string"},
            "refused": {"type": "array", "items": {"type": "string"},
                        "description": "POST /credentials: the refused items, up to 50"},
            "refusedCount": {"type": "integer",
                             "description": "POST /credentials: how many items were refused"},
        },
    },
    "IssueItem": {
        "type": "object",
        "description": "Either the simple form below or a complete OB 3.0 credential "
                       "(an object with @context).",
        "properties": {
            "recipient": {"type": "object", "properties": {
                "name": {"type": "string"}, "email": {"type": "string"},
                "identifier": {"type": "string"}}},
            "achievement": {"type": "object", "properties": {
                "name": {"type": "string"}, "description": {"type": "string"},
                "criteria": {"type": "string"}, "criteriaUrl": {"type": "string"},
                "image": {"type": "string"},
                "id": {"type": "string", "description":
                       "The achievement's stable URL or URN. Without it, an id derived from "
                       "the issuer and the definition (the same in every badge of it; "
                       "docs/proof-format.md section 3)."},
                "skills": {"type": "array", "items": {"type": "object", "properties": {
                    "framework": {"type": "string"}, "code": {"type": "string"},
                    "name": {"type": "string"}, "url": {"type": "string"}}}}}},
            "validFrom": {"type": "string", "format": "date-time"},
            "validUntil": {"type": ["string", "null"], "format": "date-time"},
            "evidence": {"type": "array", "items": {"type": "object"}},
            "clearIdentity": {"type": "boolean"},
        },
    },
    "Accepted": {
        "type": "object",
        "required": ["count", "credentials"],
        "properties": {
            "count": {"type": "integer"},
            "credentials": {"type": "array", "items": {
                "type": "object", "required": ["id", "credentialHash", "status"],
                "properties": {"id": {"type": "string"}, "credentialHash": {"type": "string"},
                               "status": {"type": "string", "enum": ["pending"]}}}},
        },
    },
    "CredentialSummary": {
        "type": "object",
        "required": ["id", "credentialHash", "status", "batchId", "createdAt"],
        "properties": {
            "id": {"type": "string"}, "credentialHash": {"type": "string"},
            "status": {"type": "string",
                       "enum": ["pending", "sealed", "submitted", "anchored", "failed"]},
            "batchId": NULLABLE_INT, "createdAt": {"type": "string"},
            "shared": {"type": "boolean"},
        },
    },
    "CredentialDetail": {
        "allOf": [{"$ref": "#/components/schemas/CredentialSummary"}, {
            "type": "object",
            "required": ["credential", "shared"],
            "properties": {
                "credential": {"type": "object", "description": "OB 3.0 credential; carries "
                               "`proof` once anchored (see docs/proof-format.md)"},
                "download": {"type": "string"},
                "revocation": {"type": ["object", "null"]},
            },
        }],
    },
    "RevocationAccepted": {
        "type": "object", "required": ["reason", "status"],
        "properties": {"reason": {"type": "integer"},
                       "status": {"type": "string", "enum": ["queued", "already-requested"]}},
    },
    "Batch": {
        "type": "object",
        "required": ["id", "status", "root", "count", "chainId", "contract"],
        "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": ["queued", "submitted", "confirmed", "failed"]},
            "root": {"type": "string"}, "count": {"type": "integer"},
            "sealedAt": NULLABLE_STR, "transactionHash": NULLABLE_STR,
            "blockNumber": NULLABLE_INT, "anchoredAt": NULLABLE_STR, "confirmedAt": NULLABLE_STR,
            "chainId": {"type": "integer"}, "contract": {"type": "string"},
            "explorerUrl": NULLABLE_STR, "lastError": NULLABLE_STR,
        },
    },
    "Check": {
        "type": "object", "required": ["name", "outcome", "message"],
        "properties": {
            "name": {"type": "string"},
            "outcome": {"type": "string", "enum": ["pass", "fail", "error", "skipped", "warn"]},
            "message": {"type": "string"}, "data": {"type": "object"},
        },
    },
    "Report": {
        "type": "object", "required": ["status", "checks"],
        "properties": {
            "status": {"type": "string", "enum": ["VALID", "INVALID", "REVOKED", "EXPIRED",
                                                  "PENDING", "ERROR"]},
            "checks": {"type": "array", "items": {"$ref": "#/components/schemas/Check"}},
            "credentialId": NULLABLE_STR, "credentialHash": NULLABLE_STR,
            "issuer": {"type": ["object", "null"]}, "anchor": {"type": ["object", "null"]},
            "components": {"type": "array", "items": {"$ref": "#/components/schemas/Report"}},
        },
    },
    "Issuer": {
        "type": "object", "required": ["address", "name", "active"],
        "properties": {
            "address": {"type": "string"}, "name": {"type": "string"},
            "profileURI": {"type": "string"},
            "did": {"type": "string",
                    "description": "The DID the issuer names itself by, as the registry records it"},
            "active": {"type": "boolean"},
            "accreditedAt": NULLABLE_INT, "suspendedAt": NULLABLE_INT,
        },
    },
    "StackInput": {
        "type": "object", "required": ["stack", "achievement", "rule"],
        "description": "See docs/stacking.md.",
        "properties": {
            "stack": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
            "achievement": {"type": "object", "required": ["id", "name", "description"],
                            "description": "The qualification: the simple achievement form of "
                                           "IssueItem plus a required stable `id` and an "
                                           "optional `achievementType` (default Certificate)"},
            "rule": {"type": "object", "required": ["components"], "properties": {
                "require": {"oneOf": [{"const": "all"}, {"type": "integer", "minimum": 1}]},
                "components": {"type": "array", "items": {
                    "type": "object", "required": ["name", "achievement"], "properties": {
                        "key": {"type": "string"}, "name": {"type": "string"},
                        "achievement": {"type": "string"}, "group": {"type": "string"}}}},
                "groups": {"type": "array", "items": {
                    "type": "object", "required": ["name", "min"], "properties": {
                        "name": {"type": "string"}, "min": {"type": "integer", "minimum": 1}}}},
                "acceptedIssuers": {"type": "array", "items": {"type": "string"}},
                "maxAgeDays": {"type": ["integer", "null"], "minimum": 1},
            }},
        },
    },
    "StackSummary": {
        "type": "object",
        "required": ["stack", "version", "id", "name", "definitionHash", "status", "rule",
                     "publishedAt"],
        "properties": {
            "stack": {"type": "string"}, "version": {"type": "integer"},
            "id": {"type": "string"}, "name": {"type": "string"},
            "definitionHash": {"type": "string"},
            "status": {"type": "string",
                       "enum": ["pending", "sealed", "submitted", "anchored", "failed"]},
            "rule": {"type": "string"}, "publishedAt": {"type": "string"},
        },
    },
    "StackDetail": {
        "allOf": [{"$ref": "#/components/schemas/StackSummary"}, {
            "type": "object", "required": ["definition"],
            "properties": {"definition": {
                "type": "object", "description": "The definition document; carries `proof` "
                                                 "once anchored"}},
        }],
    },
    "StackRequest": {
        "type": "object", "required": ["recipient", "components"],
        "properties": {
            "recipient": {"type": "string", "description": "the learner's e-mail or identifier"},
            "components": {"type": "array", "items": {"type": "object"},
                           "description": "the learner's credential files, proofs included"},
            "version": {"type": "integer", "minimum": 1},
            "name": {"type": "string", "description": "issue only: the holder's display name"},
            "validUntil": {"type": "string", "format": "date-time",
                           "description": "issue only"},
        },
    },
    "Eligibility": {
        "type": "object",
        "required": ["eligible", "stack", "version", "definitionHash", "definitionStatus",
                     "required", "usable", "missing", "shortfalls", "components"],
        "properties": {
            "eligible": {"type": "boolean"}, "stack": {"type": "string"},
            "version": {"type": "integer"}, "id": {"type": "string"},
            "name": {"type": "string"}, "definitionHash": {"type": "string"},
            "definitionStatus": {"type": "string"}, "rule": {"type": "string"},
            "required": {"type": "integer"}, "usable": {"type": "integer"},
            "missing": {"type": "array", "items": {
                "type": "object", "required": ["key", "name", "achievement", "reason"]}},
            "shortfalls": {"type": "array", "items": {"type": "string"}},
            "components": {"type": "array", "items": {
                "type": "object", "required": ["index", "status", "usable", "problems"],
                "properties": {"index": {"type": "integer"}, "id": NULLABLE_STR,
                               "credentialHash": NULLABLE_STR, "name": NULLABLE_STR,
                               "issuer": NULLABLE_STR, "issuerName": NULLABLE_STR,
                               "status": NULLABLE_STR, "usable": {"type": "boolean"},
                               "requirement": NULLABLE_STR,
                               "problems": {"type": "array", "items": {"type": "string"}}}}},
        },
    },
    "StatusListCredential": {
        "type": "object",
        "description": "W3C Bitstring Status List v1.0; see docs/status-list.md",
        "required": ["@context", "id", "type", "issuer", "validFrom", "credentialSubject",
                     "proof"],
        "properties": {
            "@context": {"type": "array", "items": {"type": "string"}},
            "id": {"type": "string", "description": "exactly the URL the badges name"},
            "type": {"type": "array", "items": {"type": "string"},
                     "contains": {"const": "BitstringStatusListCredential"}},
            "issuer": {"type": "string", "description": "the badges' issuer DID"},
            "validFrom": {"type": "string", "format": "date-time",
                          "description": "when the list last changed"},
            "credentialSubject": {
                "type": "object", "required": ["id", "type", "statusPurpose", "encodedList"],
                "properties": {"id": {"type": "string"},
                               "type": {"const": "BitstringStatusList"},
                               "statusPurpose": {"const": "revocation"},
                               "encodedList": {"type": "string", "pattern": "^u[A-Za-z0-9_-]+$"}},
            },
            "proof": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["type", "cryptosuite", "verificationMethod",
                                               "proofPurpose", "proofValue"],
                "properties": {"type": {"const": "DataIntegrityProof"},
                               "cryptosuite": {"const": "eddsa-rdfc-2022"}}}},
        },
    },
    "DidDocument": {
        "type": "object",
        "description": "DID Core: the issuer's Ed25519 Multikeys (retired ones with `revoked`, "
                       "outside `assertionMethod`) and its anchoring account as a CAIP-10 "
                       "`blockchainAccountId`",
        "required": ["@context", "id", "verificationMethod", "assertionMethod"],
        "properties": {
            "@context": {"type": "array", "items": {"type": "string"}},
            "id": {"type": "string", "pattern": "^did:web:"},
            "verificationMethod": {"type": "array", "items": {
                "type": "object", "required": ["id", "type", "controller"],
                "properties": {"id": {"type": "string"}, "type": {"type": "string"},
                               "controller": {"type": "string"},
                               "publicKeyMultibase": {"type": "string"},
                               "blockchainAccountId": {"type": "string"},
                               "revoked": {"type": "string", "format": "date-time"}}}},
            "assertionMethod": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Health": {
        "type": "object", "required": ["status", "database", "chain"],
        "properties": {"status": {"type": "string", "enum": ["ok", "degraded"]},
                       "version": {"type": "string"},
                       "database": {"type": "object"}, "chain": {"type": "object"},
                       "backlog": {"type": "object"}, "lastAnchor": {"type": ["object", "null"]}},
    },
}
