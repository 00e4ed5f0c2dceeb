"""A tamper corpus generated from a really issued and anchored credential (embedded chain):
every leaf and every member of the credential body, every element of the Merkle path, the
root, the credential hash, the transaction hash, block, chain id, contract, issuer id and
dates. Every mutation is refused (never VALID), and the report names the check that caught it:

==================================================  ================================
what was changed                                    first failing check
==================================================  ================================
any byte of the body (fields, dates, issuer id)     integrity
the Merkle path, the root                           merkle
a consistent proof around a root never anchored     anchored
transaction hash, block number, anchoredAt          anchored
the issuer account (another address)                anchored
chain id, contract                                  trusted-anchor
a malformed proof (extra member, bad hex, …)        integrity (the proof is damaged)
``proof`` not an array                              schema
a root anchored by another issuer, proof naming it  issuer
… the proof naming the credential's issuer          anchored (that issuer never anchored it)
==================================================  ================================

The proof's ``created`` member is the one value nothing can check (the issuer's note of when
it attached the proof); the verifier neither uses nor shows it — see docs/reliability.md."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from credanchor.core.credentials import to_checksum_address
from credanchor.core.hashing import credential_hash, leaf_hash, signed_content
from credanchor.core.merkle import MerkleTree
from credanchor.core.proof import AnchorRef, CredanchorProof, attach_proof
from credanchor.errors import InvalidInput
from credanchor.issuing.pipeline import issue
from credanchor.usecases.issuers import add_issuer
from kit.schema import same_verdict
from kit.settings import sample_items

Path = tuple[Any, ...]


@pytest.fixture
def anchored(runtime):
    """Five credentials issued and anchored together; the holder files of two of them, and the
    transaction hash of another batch anchored after them."""
    store = runtime.store()
    issuer = store.list_issuers()[0]
    items = sample_items(5)
    items[0]["validUntil"] = "2031-01-15T09:00:00Z"
    items[0]["achievement"]["skills"] = [{"framework": "ESCO", "code": "S5.6.1",
                                          "name": "use spreadsheets software",
                                          "url": "http://data.europa.eu/esco/skill/x"}]
    accepted = issue(store, issuer, runtime.issuance(issuer), items, max_items=5)
    runtime.anchorer().run_until_idle(timeout=60)
    other = issue(store, issuer, runtime.issuance(issuer), sample_items(1, start=9),
                  max_items=1)
    runtime.anchorer().run_until_idle(timeout=60)
    proofs = runtime.proofs()
    files = [proofs.credential_file(store.get_credential(a.id)) for a in accepted[:2]]
    later = proofs.credential_file(store.get_credential(other[0].id))
    for f in files:
        assert runtime.verify(f).status.value == "VALID"
    return files[0], files[1], later["proof"][-1]["anchor"]["transactionHash"]


def verdict(runtime, doc: dict) -> tuple[str, list[str]]:
    report = runtime.verify(doc)
    failing = [c.name for c in report.checks if c.outcome.value in ("fail", "error")]
    return report.status.value, failing


def get(doc: Any, path: Path) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def changed(doc: dict, path: Path, value: Any) -> dict:
    out = copy.deepcopy(doc)
    get(out, path[:-1])[path[-1]] = value
    return out


def removed(doc: dict, path: Path) -> dict:
    out = copy.deepcopy(doc)
    del get(out, path[:-1])[path[-1]]
    return out


def appended(doc: dict, path: Path, value: Any) -> dict:
    out = copy.deepcopy(doc)
    get(out, path).append(value)
    return out


def leaves(obj: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaves(v, (*path, i))
    else:
        yield path, obj


def containers(obj: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    if isinstance(obj, dict | list):
        yield path, obj
        for k, v in (obj.items() if isinstance(obj, dict) else enumerate(obj)):
            yield from containers(v, (*path, k))


def flip_hex(h: str, at: int = -1) -> str:
    digits = list(h)
    digits[at] = "0" if digits[at] != "0" else "1"
    return "".join(digits)


def broken_checksum(address: str) -> str:
    """``address`` with the case of one letter flipped, so that it stays mixed-case: a mixed-case
    spelling other than the EIP-55 one. (Swapping every letter's case is no such thing when the
    checksum leaves all letters in one case: all-lower or all-upper hex carries no checksum and
    is accepted.) An address with too few letters for that gets a malformed value instead."""
    body = address[2:]
    for i, c in enumerate(body):
        if c.isalpha():
            flipped = body[:i] + c.swapcase() + body[i + 1:]
            if flipped not in (flipped.lower(), flipped.upper()):
                return "0x" + flipped
    return "0x00"


def shifted(date: str, seconds: int = 1) -> str:
    dt = datetime.fromisoformat(date.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def leaf_mutations(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int | float):
        return [value + 1, -value]
    if value is None:
        return ["", 0]
    text = str(value)
    out = [text + " ", text[:-1] + chr(ord(text[-1]) ^ 1) if text else "x", text.upper()
           if text != text.upper() else text.lower()]
    if len(text) == 20 and text.endswith("Z") and text[10] == "T":  # a date
        out += [shifted(text, 1), shifted(text, -86400)]
    return [m for m in out if m != value]


def body_mutations(doc: dict) -> Iterator[tuple[str, dict]]:
    body = {k: v for k, v in doc.items() if k != "proof"}
    for path, value in leaves(body):
        for new in leaf_mutations(value):
            yield f"{'/'.join(map(str, path))} = {new!r:.40}", changed(doc, path, new)
    for path, node in containers(body):
        if isinstance(node, dict):
            for key in node:
                yield f"remove {'/'.join(map(str, (*path, key)))}", removed(doc, (*path, key))
            yield f"add member to /{'/'.join(map(str, path))}", changed(
                doc, (*path, "tampered"), "yes") if path else {**doc, "tampered": "yes"}
        elif node:
            yield f"drop first of {'/'.join(map(str, path))}", removed(doc, (*path, 0))
            yield f"repeat first of {'/'.join(map(str, path))}", appended(
                doc, path, copy.deepcopy(node[0]))


def test_every_change_to_the_body_fails_integrity(runtime, anchored):
    doc, _, _ = anchored
    seen = 0
    for what, mutated in body_mutations(doc):
        if {k: v for k, v in mutated.items() if k != "proof"} == {
                k: v for k, v in doc.items() if k != "proof"}:
            continue  # e.g. upper-casing a string that has no letters
        status, failing = verdict(runtime, mutated)
        assert status == "INVALID", (what, status, failing)
        assert "integrity" in failing, (what, failing)
        seen += 1
    assert seen >= 100  # every field of a real credential, several ways each
    print(f"\n{seen} body mutations, all INVALID by integrity")


def proof_cases(doc: dict, sibling: dict, other_tx: str) -> Iterator[tuple[str, dict, str]]:
    """(what, mutated document, the first check that must fail)."""
    p = ("proof", -1)  # the anchor proof, after the issuer's signature
    proof = doc["proof"][-1]
    anchor = proof["anchor"]
    path = proof["merkleProof"]
    assert len(path) >= 2
    for i, node in enumerate(path):
        yield f"merkleProof[{i}] one bit", changed(doc, (*p, "merkleProof", i), flip_hex(node)), \
            "merkle"
        yield f"merkleProof[{i}] first digit", changed(
            doc, (*p, "merkleProof", i), flip_hex(node, 2)), "merkle"
        yield f"merkleProof[{i}] removed", removed(doc, (*p, "merkleProof", i)), "merkle"
        yield f"merkleProof[{i}] = root", changed(
            doc, (*p, "merkleProof", i), proof["merkleRoot"]), "merkle"
    yield "merkleProof reversed", changed(doc, (*p, "merkleProof"), path[::-1]), "merkle"
    yield "merkleProof extended", changed(doc, (*p, "merkleProof"), [*path, path[0]]), "merkle"
    yield "merkleProof emptied", changed(doc, (*p, "merkleProof"), []), "merkle"
    yield "merkleProof of a sibling", changed(
        doc, (*p, "merkleProof"), sibling["proof"][-1]["merkleProof"]), "merkle"
    yield "merkleRoot one bit", changed(doc, (*p, "merkleRoot"), flip_hex(proof["merkleRoot"])), \
        "merkle"
    yield "merkleRoot = a leaf", changed(doc, (*p, "merkleRoot"), "0x" + leaf_hash(
        bytes.fromhex(proof["credentialHash"][2:])).hex()), "merkle"
    yield "credentialHash one bit", changed(
        doc, (*p, "credentialHash"), flip_hex(proof["credentialHash"])), "integrity"
    yield "the sibling's whole proof", {**doc, "proof": sibling["proof"]}, "integrity"
    # A proof that is consistent offline (a one-leaf tree of this very credential) around a
    # root that was never anchored: only the chain can tell.
    own_root = "0x" + leaf_hash(bytes.fromhex(proof["credentialHash"][2:])).hex()
    forged = changed(changed(doc, (*p, "merkleRoot"), own_root), (*p, "merkleProof"), [])
    yield "self-made root and empty path", forged, "anchored"
    yield "transactionHash one bit", changed(
        doc, (*p, "anchor", "transactionHash"), flip_hex(anchor["transactionHash"])), "anchored"
    yield "transactionHash of another batch", changed(
        doc, (*p, "anchor", "transactionHash"), other_tx), "anchored"
    yield "blockNumber + 1", changed(doc, (*p, "anchor", "blockNumber"),
                                     anchor["blockNumber"] + 1), "anchored"
    yield "blockNumber - 1", changed(doc, (*p, "anchor", "blockNumber"),
                                     anchor["blockNumber"] - 1), "anchored"
    yield "anchoredAt + 1 s", changed(doc, (*p, "anchor", "anchoredAt"),
                                      shifted(anchor["anchoredAt"], 1)), "anchored"
    yield "anchoredAt - 1 day", changed(doc, (*p, "anchor", "anchoredAt"),
                                        shifted(anchor["anchoredAt"], -86400)), "anchored"
    # The account the anchor is looked up under: any other one never anchored this root.
    yield "issuerAccount = another address", changed(
        doc, (*p, "anchor", "issuerAccount"), "0x" + "5a" * 20), "anchored"
    yield "issuerAccount = the contract", changed(
        doc, (*p, "anchor", "issuerAccount"), anchor["contract"]), "anchored"
    yield "chainId = 1", changed(doc, (*p, "anchor", "chainId"), 1), "trusted-anchor"
    yield "chainId + 1", changed(doc, (*p, "anchor", "chainId"), anchor["chainId"] + 1), \
        "trusted-anchor"
    yield "contract = another address", changed(
        doc, (*p, "anchor", "contract"), "0x5FbDB2315678afecb367f032d93F642f64180aa3"), \
        "trusted-anchor"
    # Malformed proofs: refused as damaged before anything is looked up.
    yield "contract with a broken checksum", changed(
        doc, (*p, "anchor", "contract"), broken_checksum(anchor["contract"])), "integrity"
    yield "issuerAccount with a broken checksum", changed(
        doc, (*p, "anchor", "issuerAccount"), broken_checksum(anchor["issuerAccount"])), \
        "integrity"
    yield "issuerAccount removed", removed(doc, (*p, "anchor", "issuerAccount")), "integrity"
    yield "issuerAccount a DID", changed(doc, (*p, "anchor", "issuerAccount"),
                                         f"did:pkh:eip155:{anchor['chainId']}:"
                                         f"{anchor['issuerAccount']}"), "integrity"
    yield "transactionHash not hex", changed(doc, (*p, "anchor", "transactionHash"),
                                             "0x" + "zz" * 32), "integrity"
    yield "transactionHash short", changed(doc, (*p, "anchor", "transactionHash"),
                                           anchor["transactionHash"][:-2]), "integrity"
    yield "merkleRoot without 0x", changed(doc, (*p, "merkleRoot"), proof["merkleRoot"][2:]), \
        "integrity"
    yield "chainId as a string", changed(doc, (*p, "anchor", "chainId"),
                                         str(anchor["chainId"])), "integrity"
    yield "chainId 0", changed(doc, (*p, "anchor", "chainId"), 0), "integrity"
    yield "blockNumber negative", changed(doc, (*p, "anchor", "blockNumber"), -1), "integrity"
    yield "anchoredAt not a date", changed(doc, (*p, "anchor", "anchoredAt"), "yesterday"), \
        "integrity"
    yield "anchoredAt with an offset", changed(
        doc, (*p, "anchor", "anchoredAt"), anchor["anchoredAt"].replace("Z", "+00:00")), \
        "integrity"
    yield "proofPurpose changed", changed(doc, (*p, "proofPurpose"), "authentication"), \
        "integrity"
    yield "extra proof member", changed(doc, (*p, "issuer"), "did:example:evil"), "integrity"
    yield "extra anchor member", changed(doc, (*p, "anchor", "verified"), True), "integrity"
    yield "anchor removed", removed(doc, (*p, "anchor")), "integrity"
    yield "merkleProof not a list", changed(doc, (*p, "merkleProof"), path[0]), "integrity"
    yield "65-element path", changed(doc, (*p, "merkleProof"), path[:1] * 65), "integrity"
    yield "two credanchor proofs", {**doc, "proof": [*doc["proof"], proof]}, "integrity"
    yield "proof not a list", {**doc, "proof": proof}, "schema"  # OB 3.0: an array


def test_every_change_to_the_proof_is_caught_by_the_named_check(runtime, anchored):
    doc, sibling, other_tx = anchored
    cases = list(proof_cases(doc, sibling, other_tx))
    assert len(cases) >= 40  # 4 per path element (2 or 3 of them) and 31 others
    wrong = []
    for what, mutated, expected in cases:
        status, failing = verdict(runtime, mutated)
        if status == "VALID" or not failing or failing[0] != expected:
            wrong.append((what, status, failing, expected))
    assert not wrong, "\n".join(map(str, wrong))
    print(f"\n{len(cases)} proof mutations, each caught by the expected check")


def test_both_schema_validators_agree_on_the_tamper_corpus(anchored):
    """The schema check's compiled validator (jsonschema-rs) and its reference (jsonschema)
    give the same verdict on every body and proof mutation (tests/core/test_schema_fast.py)."""
    doc, sibling, other_tx = anchored
    corpus = [*body_mutations(doc), *((w, m) for w, m, _ in proof_cases(doc, sibling, other_tx))]
    verdicts = [same_verdict(mutated, what) for what, mutated in corpus]
    assert len(verdicts) >= 140
    # both sides compared: most mutations keep the schema, some break it (a removed required
    # member, an upper-cased type, the proof not an array, …)
    assert verdicts.count(False) >= 20 and verdicts.count(True) >= 100


def test_spellings_the_format_allows_stay_valid_and_unverifiable_values_are_unused(
        runtime, anchored):
    """Not tampering: upper-case hex (same bytes) and another member order are the same proof.
    ``created`` is the issuer's own note and cannot be checked, so the report never uses it."""
    doc, _, _ = anchored
    p = ("proof", -1)  # the anchor proof, after the issuer's signature
    proof = doc["proof"][-1]
    upper = changed(doc, (*p, "merkleRoot"), "0x" + proof["merkleRoot"][2:].upper())
    upper = changed(upper, (*p, "merkleProof"), ["0x" + h[2:].upper()
                                                 for h in proof["merkleProof"]])
    assert verdict(runtime, upper) == ("VALID", [])
    reordered = json.loads(json.dumps(dict(reversed(list(doc.items())))))
    assert verdict(runtime, reordered) == ("VALID", [])
    later = changed(doc, (*p, "created"), "2099-01-01T00:00:00Z")
    report = runtime.verify(later)
    assert report.status.value == "VALID"
    shown = json.dumps(report.to_dict())
    # The date in either spelling a report uses (a bare "2099" also turns up in random hashes).
    assert "2099-01-01" not in shown and "January 2099" not in shown
    # Removing our proof (the issuer's signature stays): the badge is not anchored (yet).
    bare = {**doc, "proof": doc["proof"][:-1]}
    assert verdict(runtime, bare) == ("PENDING", [])
    renamed = changed(doc, (*p, "type"), "SomeOtherProof2026")
    assert verdict(runtime, renamed) == ("PENDING", [])


def test_a_root_anchored_by_another_issuer_fails_the_issuer_check(runtime, anchored):
    """Issuer B anchors a batch holding a credential that names issuer A: the document and its
    proof are intact, the root is on chain, but not A's."""
    doc, _, _ = anchored
    store = runtime.store()
    a = store.list_issuers()[0]
    b = add_issuer(runtime, name="Squatter Academy").issuer
    # A's genuine, signed credential (as issued, before its anchor proof), copied by B
    claimed = signed_content(doc)
    assert claimed["issuer"]["id"] == a.did
    h = credential_hash(claimed)
    tree = MerkleTree.from_credential_hashes([h, credential_hash({**claimed, "id": "urn:x:2"})])
    chain = runtime.chain
    receipt = chain.admin_send(chain.build_anchor(tree.root, 2), signer=runtime.signer_for(b))
    on_chain = chain.anchor_of(b.address, tree.root)
    assert on_chain is not None and on_chain.issuer == b.address
    assert chain.anchor_of(a.address, tree.root) is None
    proof = CredanchorProof(
        credential_hash=h, merkle_root=tree.root, merkle_proof=tuple(tree.proof(h)),
        anchor=AnchorRef(chain.chain_id, chain.contract_address, receipt.tx_hash,
                         receipt.block_number, datetime.fromtimestamp(on_chain.anchored_at, UTC),
                         b.address),
        created=datetime.now(UTC))
    forged = attach_proof(claimed, proof)
    status, failing = verdict(runtime, forged)
    assert (status, failing) == ("INVALID", ["did-binding"])
    # Naming A's account in the (unhashed) proof instead: anchors are recorded per account,
    # and A never anchored this root, so nothing credits B's anchor to A.
    as_a = changed(forged, ("proof", -1, "anchor", "issuerAccount"), a.address)
    assert verdict(runtime, as_a) == ("INVALID", ["anchored"])
    # and naming B instead of A would not help: the body is hashed, so integrity fails
    renamed = changed(forged, ("issuer", "id"), f"did:pkh:eip155:{chain.chain_id}:{b.address}")
    assert verdict(runtime, renamed)[1][0] == "integrity"


@pytest.mark.parametrize("address", [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # EIP-55's own examples: mixed case
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0x52908400098527886E0F7030069857D2E4169EE7",  # its checksum has every letter upper-case
    "0xde709f2102306220921060314715629080e2fb77",  # ... or lower-case
    "0x0000000000000000000000000000000000000a01",  # one letter: no mixed spelling exists
])
def test_broken_checksum_is_refused_whatever_the_letters(address):
    """The mutation above must be one the parser refuses: a run whose issuer account happened to
    have all its letters in one case once turned "swap every letter" into a valid address."""
    assert to_checksum_address(address) == address  # each is its own EIP-55 spelling
    broken = broken_checksum(address)
    assert broken != address
    with pytest.raises(InvalidInput):
        to_checksum_address(broken)
