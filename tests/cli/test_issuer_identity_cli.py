"""``credanchor issuer show`` prints an issuer's signing DID and keys (``issuer list --json``
carries the DID too); ``credanchor issuer rotate-key`` rotates a did:web issuer's key and
refuses a did:key issuer in one line with a non-zero exit. In-process, embedded chain."""

from __future__ import annotations

import json

from credanchor.cli.errors import EXIT_ERROR
from credanchor.core.did_document import parse_did_document
from credanchor.usecases.config import load_settings
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuer_identity import did_document_for
from kit.settings import sample_items


def test_show_and_list_print_the_did_and_a_did_key_issuer_cannot_rotate(cli):
    rows = [json.loads(line) for line in cli("issuer", "list", "--json").splitlines()]
    [row] = rows
    assert row["did"].startswith("did:key:z6Mk")

    text = cli("issuer", "show", "1")
    assert f"did: {row['did']}" in text
    assert "status lists: http://127.0.0.1:8000/status/1/<n>" in text
    assert "DID document" not in text  # a did:key has none to serve
    shown = json.loads(cli("issuer", "show", row["address"], "--json"))
    assert shown["did"] == row["did"] and shown["didDocument"] is None
    [key] = shown["keys"]
    assert key["retired"] is None and row["did"] == f"did:key:{key['publicKeyMultibase']}"

    out = cli("issuer", "rotate-key", "1", code=EXIT_ERROR)
    assert out.count("\n") == 1 and out.startswith("error: issuer 1 signs as did:key:")
    assert "only a did:web issuer can rotate" in out
    # Nothing changed.
    assert json.loads(cli("issuer", "show", "1", "--json"))["keys"] == [key]
    cli("issuer", "show", "99", code=EXIT_ERROR)


def test_a_did_web_issuer_rotates_and_keeps_its_old_key_retired(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("CREDANCHOR_PUBLIC_URL", "https://badges.example.org")
    before = json.loads(cli("issuer", "show", "1", "--json"))
    assert before["did"] == "did:web:badges.example.org"
    assert before["didDocument"] == "https://badges.example.org/.well-known/did.json"
    assert before["statusLists"] == "https://badges.example.org/status/1/"
    [old] = before["keys"]

    # Refused while a badge signed with the current key waits for its anchor.
    items = tmp_path / "one.json"
    items.write_text(json.dumps(sample_items(1)))
    cli("issue", str(items))
    refused = cli("issuer", "rotate-key", "1", code=EXIT_ERROR)
    assert refused.startswith("error: issuer 1 has 1 credential(s) signed with the current key")
    assert json.loads(cli("issuer", "show", "1", "--json"))["keys"] == [old]
    cli("anchor")

    out = cli("issuer", "rotate-key", "1")
    assert "issuer 1 (did:web:badges.example.org) now signs with key z6Mk" in out
    after = json.loads(cli("issuer", "show", "1", "--json"))
    first, new = after["keys"]
    assert first["publicKeyMultibase"] == old["publicKeyMultibase"]
    assert first["retired"] is not None and new["retired"] is None
    assert new["publicKeyMultibase"] in out
    text = cli("issuer", "show", "1")
    assert f"key {old['publicKeyMultibase']}" in text and "retired 20" in text

    # What the service then publishes: both keys, the old one revoked, the new one current.
    settings = load_settings(data_dir=tmp_path / "data")
    runtime = Runtime.open(settings)
    try:
        issuer = runtime.store().get_issuer(1)
        document = parse_did_document(did_document_for(runtime, issuer), issuer.did)
        old_vm = f"{issuer.did}#{old['publicKeyMultibase']}"
        new_vm = f"{issuer.did}#{new['publicKeyMultibase']}"
        assert document.is_assertion_method(new_vm) and not document.is_assertion_method(old_vm)
        assert document.revoked(old_vm) is not None
        # And the issuance signs with the new key.
        assert runtime.issuance(issuer).verification_method == new_vm
    finally:
        runtime.close()
