"""Audit, step 3: the report (JSON for machines) and its summaries for people (Markdown,
HTML). Every value a ledger or the chain supplied is escaped before it reaches a page."""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from credanchor import __version__
from credanchor.audit.reconcile import KINDS, Discrepancy
from credanchor.audit.replay import VERSION, AnchorFact, OnChainPicture
from credanchor.core.timefmt import utc_text
from credanchor.ledger.view import LedgerView

__all__ = [
    "REPORT_FORMAT",
    "build_report",
    "render_html",
    "render_markdown",
    "write_report",
]

REPORT_FORMAT = "credanchor-audit-report"


def build_report(
    picture: OnChainPicture,
    ledger: LedgerView,
    discrepancies: Iterable[Discrepancy],
    *,
    elapsed: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The audit report (JSON-ready): scope, result, per-issuer figures, discrepancies."""
    found = list(discrepancies)
    ours = {i.address.lower(): i for i in ledger.issuers()}
    batches = ledger.batches()
    revocations = ledger.revocations()
    per_issuer_d = Counter((d.issuer or "").lower() for d in found)
    anchors_by: dict[str, list[AnchorFact]] = {}
    for f in picture.anchors.values():
        anchors_by.setdefault(f.issuer.lower(), []).append(f)
    addresses = list(dict.fromkeys([*ours, *picture.issuers, *anchors_by]))
    issuers = []
    for key in addresses:
        rec, li = picture.issuers.get(key), ours.get(key)
        mine = anchors_by.get(key, [])
        entry: dict[str, Any] = {
            "address": (li.address if li else rec.address if rec else mine[0].issuer),
            "name": li.name if li else rec.name if rec else "",
            "inLedger": li is not None,
            "onChain": {
                "name": rec.name if rec else None,
                "did": rec.did if rec else None,
                "active": bool(rec and rec.active),
                "history": rec.history if rec else [],
                "anchors": len(mine),
                "credentialsDeclared": sum(f.count for f in mine),
                "credentialRevocations": sum(
                    1 for (i, _) in picture.credential_revocations if i == key),
                "batchRevocations": sum(1 for (i, _) in picture.batch_revocations if i == key),
            },
            "ledger": None,
            "discrepancies": per_issuer_d.get(key, 0),
        }
        if li is not None:
            own = [b for b in batches if b.issuer.lower() == key]
            revs = [r for r in revocations if r.issuer.lower() == key]
            entry["ledger"] = {
                "status": li.status,
                "batches": dict(Counter(b.status for b in own)),
                "credentials": sum(b.count for b in own),
                "pendingCredentials": li.pending,
                "credentialRevocations": sum(1 for r in revs if r.kind == "credential"),
                "batchRevocations": sum(1 for r in revs if r.kind == "batch"),
                "revocationsInFlight": sum(
                    1 for r in revs if r.state in ("unsent", "queued", "submitted")),
            }
        issuers.append(entry)
    return {
        "format": REPORT_FORMAT,
        "version": VERSION,
        "generator": f"credanchor {__version__}",
        "generatedAt": utc_text(),
        "chain": {
            "chainId": picture.chain_id,
            "contract": picture.contract,
            "fromBlock": picture.from_block,
            "toBlock": picture.to_block,
            "toBlockHash": picture.last_block_hash,
            "events": picture.events,
            "resumedFrom": picture.resumed_from,
            "anchors": len(picture.anchors),
            "credentialRevocations": len(picture.credential_revocations),
            "batchRevocations": len(picture.batch_revocations),
            "admins": sorted(a for a, held in picture.admins.items() if held),
            "notes": picture.notes,
        },
        "ledger": {
            "source": ledger.source,
            "path": str(ledger.path),
            "issuers": len(ours),
            "batches": len(batches),
            "credentials": sum(b.count for b in batches),
            "revocations": len(revocations),
        },
        "clean": not found,
        "summary": {"discrepancies": len(found),
                    "byKind": dict(Counter(d.kind for d in found))},
        "elapsed": dict(elapsed or {}),
        "issuers": issuers,
        "discrepancies": [d.to_dict() for d in found],
    }


def write_report(report: Mapping[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Mapping[str, Any]) -> str:
    """A summary for people: scope, verdict, per-issuer figures, every discrepancy."""
    c, lg = report["chain"], report["ledger"]
    lines = [
        "# credanchor audit",
        "",
        f"Generated {report['generatedAt']} by {report['generator']}.",
        "",
        "| | |",
        "| --- | --- |",
        f"| chain | {c['chainId']} |",
        f"| contract | `{c['contract']}` |",
        f"| blocks | {c['fromBlock']} – {c['toBlock']} ({c['events']} events) |",
        f"| ledger | {lg['source']} `{_md(lg['path'])}`: {lg['issuers']} issuer(s), "
        f"{lg['batches']} batch(es), {lg['credentials']} credential(s), "
        f"{lg['revocations']} revocation(s) |",
        "",
    ]
    if report["clean"]:
        lines += ["**Result: clean.** The ledger and the chain agree.", ""]
    else:
        by_kind = ", ".join(f"{k} {v}" for k, v in report["summary"]["byKind"].items())
        lines += [f"**Result: {report['summary']['discrepancies']} discrepancies** ({by_kind}).",
                  ""]
    for note in c.get("notes") or []:
        lines += [f"> {_md(note)}", ""]
    lines += [
        "## Issuers",
        "",
        "| issuer | address | on chain | anchors (credentials) | ledger batches | "
        "revocations chain / ledger | discrepancies |",
        "| --- | --- | --- | ---: | --- | --- | ---: |",
    ]
    for i in report["issuers"]:
        oc, led = i["onChain"], i["ledger"]
        accredited = "accredited" if oc["active"] else (
            "suspended" if oc["history"] else "never accredited")
        batches = ("—" if led is None else ", ".join(
            f"{n} {s}" for s, n in sorted(led["batches"].items())) or "none")
        chain_revs = f"{oc['credentialRevocations']} cred, {oc['batchRevocations']} batch"
        ledger_revs = ("—" if led is None else
                       f"{led['credentialRevocations']} cred, {led['batchRevocations']} batch")
        lines.append(
            f"| {_md(i['name'] or '?')} | `{i['address']}` | {accredited} | "
            f"{oc['anchors']} ({oc['credentialsDeclared']}) | {batches} | "
            f"{chain_revs} / {ledger_revs} | {i['discrepancies']} |")
    lines += ["", "### Accreditation history", ""]
    for i in report["issuers"]:
        for h in i["onChain"]["history"]:
            name = f" as “{_md(h['name'])}”" if h.get("name") else ""
            lines.append(f"- `{i['address']}` {h['event']}{name} in block {h['block']} "
                         f"(tx `{h['txHash']}`)")
    if report["discrepancies"]:
        lines += ["", "## Discrepancies", ""]
        for kind in dict.fromkeys(d["kind"] for d in report["discrepancies"]):
            lines += [f"### {kind}", "", _md(KINDS.get(kind, "")), "",
                      "| issuer | subject | detail |", "| --- | --- | --- |"]
            for d in report["discrepancies"]:
                if d["kind"] == kind:
                    lines.append(f"| `{d['issuer']}` | `{d['subject']}` | {_md(d['detail'])} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_html(report: Mapping[str, Any]) -> str:
    """The same summary as a standalone HTML page (no scripts, no external resources)."""
    e = html.escape
    c = report["chain"]
    verdict = ("Clean: the ledger and the chain agree." if report["clean"] else
               f"{report['summary']['discrepancies']} discrepancies.")
    rows = "".join(
        f"<tr><td>{e(i['name'] or '?')}</td><td><code>{e(i['address'])}</code></td>"
        f"<td>{'accredited' if i['onChain']['active'] else 'not accredited'}</td>"
        f"<td>{i['onChain']['anchors']}</td><td>{i['onChain']['credentialsDeclared']}</td>"
        f"<td>{'yes' if i['inLedger'] else 'no'}</td><td>{i['discrepancies']}</td></tr>"
        for i in report["issuers"])
    found = "".join(
        f"<tr><td>{e(d['kind'])}</td><td><code>{e(str(d['issuer']))}</code></td>"
        f"<td><code>{e(d['subject'])}</code></td><td>{e(d['detail'])}</td></tr>"
        for d in report["discrepancies"])
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>credanchor audit</title><style>body{font-family:sans-serif;margin:2em}"
        "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3em .6em;"
        "text-align:left}code{font-size:.85em}</style></head><body>"
        f"<h1>credanchor audit</h1><p>Chain {c['chainId']}, contract <code>{e(c['contract'])}"
        f"</code>, blocks {c['fromBlock']}–{c['toBlock']} ({c['events']} events). Generated "
        f"{e(report['generatedAt'])}.</p><p><strong>{e(verdict)}</strong></p>"
        "<h2>Issuers</h2><table><tr><th>issuer</th><th>address</th><th>on chain</th>"
        "<th>anchors</th><th>credentials</th><th>in ledger</th><th>discrepancies</th></tr>"
        f"{rows}</table>"
        + (("<h2>Discrepancies</h2><table><tr><th>kind</th><th>issuer</th><th>subject</th>"
            f"<th>detail</th></tr>{found}</table>") if found else "")
        + "</body></html>\n")

