"""Issue 14: the chain stays the authority; the verifier reads the issuer's status list too and
says when the two disagree (advisory ``status-list`` check, never changing the verdict).

Real parts: the embedded chain, the ledger, the service's own signed status lists.
"""

from __future__ import annotations

import copy

from credanchor.core.report import ADVISORY, Outcome, Status
from credanchor.core.statuslist import Bitstring
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuing import anchor_pending, issue_request
from credanchor.usecases.revocation import carry_to_chain, revoke_credential
from credanchor.verify.status_lists import StatusLists
from kit.settings import sample_items


def _files(runtime: Runtime, n: int) -> list[dict]:
    issuer = runtime.store().list_issuers()[0]
    accepted = issue_request(runtime, issuer, sample_items(n))
    assert anchor_pending(runtime, timeout=120) == 0
    store = runtime.store()
    return [runtime.proofs().credential_file(store.get_credential(a.id)) for a in accepted]


def _check(report):
    [check] = [c for c in report.checks if c.name == "status-list"]
    assert check.data[ADVISORY] is True
    return check


def test_list_and_chain_agree_before_and_after_a_confirmed_revocation(runtime: Runtime) -> None:
    revoked, kept = _files(runtime, 2)
    verifier = runtime.verifier()
    report = verifier.verify(revoked)
    assert report.status == Status.VALID
    check = _check(report)
    assert check.outcome == Outcome.PASS and check.data["listed"] is False
    assert "agrees with the blockchain: not revoked" in check.message

    revoke_credential(runtime, revoked["id"], 1)
    carry_to_chain(runtime, timeout=120)
    report = runtime.verifier().verify(revoked)
    assert report.status == Status.REVOKED
    check = _check(report)
    assert check.outcome == Outcome.PASS and check.data["listed"] is True
    assert _check(runtime.verifier().verify(kept)).data["listed"] is False


def test_a_revocation_the_list_does_not_show_is_reported_and_the_chain_decides(
    runtime: Runtime,
) -> None:
    """The registry admin revokes a batch directly on chain: the issuer's ledger, and so its
    list, do not know it yet."""
    [file] = _files(runtime, 1)
    chain = runtime.chain
    anchor = file["proof"][-1]
    chain.admin_send(chain.contract.revoke_batch(anchor["anchor"]["issuerAccount"],
                                                 anchor["merkleRoot"], 3))
    report = runtime.verifier().verify(file)
    assert report.status == Status.REVOKED  # the chain's answer
    check = _check(report)
    assert check.outcome == Outcome.WARN
    assert (check.data["listed"], check.data["onChain"]) == (False, True)
    assert "the blockchain is the authority" in check.message


def test_a_list_not_signed_by_the_badges_issuer_is_not_believed(runtime: Runtime) -> None:
    [file] = _files(runtime, 1)
    url = file["credentialStatus"]["statusListCredential"]
    genuine = runtime._own_status_list(url)
    forged = copy.deepcopy(genuine)
    # Every bit set, well encoded, the issuer's signature left as it was.
    index = int(file["credentialStatus"]["statusListIndex"])
    forged["credentialSubject"]["encodedList"] = Bitstring.from_indexes([index]).encode()
    lists = StatusLists(lambda _: forged)
    check = lists.check(file, False)
    assert check is not None and check.outcome == Outcome.WARN
    assert "could not be read" in check.message and "signature" in check.message
    assert StatusLists(lambda _: genuine).check(file, False).outcome == Outcome.PASS


def test_a_badge_from_before_status_lists_has_nothing_to_compare(runtime: Runtime) -> None:
    [file] = _files(runtime, 1)
    file.pop("credentialStatus")
    assert StatusLists(lambda _: {}).check(file, False) is None
