"""Issue 14: badges issued by credanchor itself are accepted by the ecosystem's verifiers.

The service runs for real — the embedded chain, the ledger file, the Flask app over HTTP on a
loopback port (its public URL, so the status list URL written in each badge is served) — and
the two third-party verifiers of tests/interop/verifiers.mjs (verifier-core, behind Learner
Credential Wallet, and Digital Bazaar's @digitalbazaar/vc with eddsa-rdfc-2022) judge the
holder files it writes and the status list it serves. Nothing is signed by the test.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from credanchor.ledger.store import Issuer
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuing import anchor_pending, issue_request
from credanchor.usecases.revocation import carry_to_chain, revoke_credential
from credanchor.web import create_app
from interop import verifiers
from kit.anvil import free_port
from kit.settings import make_settings, sample_items

pytestmark = pytest.mark.interop


@dataclass
class Served:
    runtime: Runtime
    issuer: Issuer
    base: str
    ids: list[str]
    out: Path

    def holder_file(self, credential_id: str, name: str | None = None) -> Path:
        document = self.runtime.proofs().credential_file(
            self.runtime.store().get_credential(credential_id))
        path = self.out / f"{name or credential_id.rsplit(':', 1)[-1]}.json"
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        return path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("issued")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    runtime = Runtime.open(make_settings(tmp / "data", public_url=base))
    server = make_server("127.0.0.1", port, create_app(runtime=runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        issuer = runtime.store().list_issuers()[0]
        accepted = issue_request(runtime, issuer, sample_items(3))
        assert anchor_pending(runtime, timeout=120) == 0
        out = tmp / "files"
        out.mkdir()
        yield Served(runtime, issuer, base, [a.id for a in accepted], out)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        runtime.close()


def _status_list_url(path: Path) -> str:
    return json.loads(path.read_text())["credentialStatus"]["statusListCredential"]


def test_fresh_badges_are_accepted_with_their_status_read_from_the_service(
    served: Served,
) -> None:
    paths = [served.holder_file(cid) for cid in served.ids]
    assert all(_status_list_url(p).startswith(served.base + "/status/") for p in paths)
    for verdict in verifiers.verify(*paths):
        assert verdict.accepted, verdict
        assert verdict.core_revoked is False and verdict.db_revoked is False, verdict
        assert verdict.offline_complete, verdict


def test_an_edited_badge_is_refused_by_both(served: Served) -> None:
    path = served.holder_file(served.ids[0], "edited")
    document = json.loads(path.read_text())
    document["credentialSubject"]["achievement"]["name"] += " (edited)"
    path.write_text(json.dumps(document), encoding="utf-8")
    [verdict] = verifiers.verify(path)
    assert verdict.core_signature is False and not verdict.db_valid, verdict


def test_the_served_status_list_is_a_credential_both_accept(served: Served) -> None:
    url = _status_list_url(served.holder_file(served.ids[0]))
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == served.issuer.did
    path = served.out / "status-list.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    [verdict] = verifiers.verify(path)
    assert verdict.core_signature is True and verdict.db_valid, verdict
    edited: dict[str, Any] = copy.deepcopy(document)
    edited["validFrom"] = "2020-01-01T00:00:00Z"
    path.write_text(json.dumps(edited), encoding="utf-8")
    [verdict] = verifiers.verify(path)
    assert verdict.core_signature is False and not verdict.db_valid, verdict


def test_a_revocation_confirmed_on_chain_is_reported_through_the_served_list(
    served: Served,
) -> None:
    revoked, kept = served.ids[1], served.ids[2]
    revoke_credential(served.runtime, revoked, 1)
    carry_to_chain(served.runtime, timeout=120)
    verdicts = verifiers.verify(served.holder_file(revoked), served.holder_file(kept))
    assert verdicts[0].core_revoked is True and verdicts[0].db_revoked is True, verdicts[0]
    # The signature is still good: revoked is a status, not a forgery.
    assert verdicts[0].core_signature is True
    assert verdicts[1].core_revoked is False and verdicts[1].db_revoked is False, verdicts[1]


def test_a_stacked_qualification_is_accepted_by_both(served: Served) -> None:
    """A qualification carries its definition and component files in one JSON literal
    (credanchorStack, @json): both verifiers must canonicalise it exactly as we signed it."""
    from credanchor.usecases import stacks as stacking
    from kit.stacks import ADA, badge, data_analyst

    runtime, issuer = served.runtime, served.issuer
    stacking.publish(runtime, issuer, data_analyst([]))
    components = issue_request(runtime, issuer, [badge(ADA, k) for k in ("excel", "sql", "viz")])
    assert anchor_pending(runtime, timeout=120) == 0
    files = [runtime.proofs().credential_file(runtime.store().get_credential(c.id))
             for c in components]
    granted = stacking.issue_qualification(runtime, issuer, "data-analyst", files, ADA,
                                           name="Ada Lovelace")
    assert anchor_pending(runtime, timeout=120) == 0
    path = served.holder_file(granted.id, "qualification")
    document = json.loads(path.read_text())
    assert document["@context"][-1]["credanchorStack"]["@type"] == "@json"
    assert [p["type"] for p in document["proof"]] == ["DataIntegrityProof",
                                                      "CredanchorMerkleProof2026"]
    [verdict] = verifiers.verify(path)
    assert verdict.accepted, verdict
    assert verdict.core_revoked is False and verdict.offline_complete, verdict
    # And credanchor's own verifier: the whole tree, every check passing.
    assert runtime.verify(document).status.value == "VALID"
