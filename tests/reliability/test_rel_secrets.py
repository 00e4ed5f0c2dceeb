"""Secrets stay secret. A full flow against a real anvil — deploy, add issuers, issue through
the API, anchor, verify, revoke, refused requests, and the CLI (``issuer add``, ``worker
--once``, ``config``) as subprocesses — runs with every logger at DEBUG. Then the captured
logs, the subprocesses' output, the ledger (after a WAL checkpoint) and every file of the data
directory are searched for the issuers' private keys (recovered by decrypting their
keystores), the admin key, the keystore password and every API key: none is found anywhere
but where it must be (the one-time print of a new API key). Keystores are encrypted (scrypt,
0600), API keys are stored as SHA-256 digests."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from credanchor.chain.keys import load_keystore
from credanchor.core.multikey import decode_secret_multibase
from credanchor.usecases.issuer_identity import key_ring
from credanchor.web import create_app
from kit.chain import key_hex
from kit.service import KEYSTORE_PASSWORD, deploy_service
from kit.settings import sample_items

pytestmark = [pytest.mark.anvil]

DEBUG_CLI = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); "
             "from credanchor.cli.main import main; main()")


def forms(secret: str) -> list[bytes]:
    """The ways a secret could be written down: as given, hex without 0x, either case, and
    (for a hex key) its raw bytes."""
    text = secret[2:] if secret.startswith("0x") else secret
    out = {text.encode(), text.lower().encode(), text.upper().encode()}
    try:
        raw = bytes.fromhex(text)
        if len(raw) == 32:
            out.add(raw)
    except ValueError:
        pass
    return sorted(out)


def leaks(haystack: bytes, secrets: dict[str, str]) -> list[str]:
    return [name for name, s in secrets.items() if any(f in haystack for f in forms(s))]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run([sys.executable, "-c", DEBUG_CLI, *args], env=env,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return proc


def test_no_key_or_api_key_in_logs_ledger_or_data_dir(node, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    data = tmp_path / "data"
    service = deploy_service(node, data, issuers=2)
    rt = service.runtime()
    try:
        client = create_app(runtime=rt).test_client()
        auth = {"Authorization": f"Bearer {service.api_key}"}
        r = client.post("/api/v1/credentials", json=sample_items(4), headers=auth)
        assert r.status_code == 202
        ids = [c["id"] for c in r.get_json()["credentials"]]
        rt.anchorer().run_until_idle(timeout=60)
        doc = client.get(f"/api/v1/credentials/{ids[0]}", headers=auth).get_json()["credential"]
        assert client.post("/api/v1/verify", json=doc).get_json()["status"] == "VALID"
        client.post(f"/api/v1/credentials/{ids[1]}/revoke", json={"reason": 1}, headers=auth)
        rt.anchorer().run_until_idle(timeout=60, force_seal=False)
        wrong_key = "cak_" + "Z" * 43
        assert client.get("/api/v1/credentials",
                          headers={"Authorization": f"Bearer {wrong_key}"}).status_code == 401
        client.post("/api/v1/credentials", data=b"{", headers={
            **auth, "Content-Type": "application/json"})
    finally:
        rt.close()

    env = service.full_env(PYTHONPATH=os.pathsep.join(sys.path))
    added = run_cli(env, "issuer", "add", "Third Academy")
    new_key = next(line.split(": ", 1)[1] for line in added.stdout.decode().splitlines()
                   if line.startswith("API key"))
    worker = run_cli(env, "worker", "--once")
    config = run_cli(env, "config")
    assert b"admin_key = ****" in config.stdout and b"keystore_password = ****" in config.stdout

    # -- what must stay secret -----------------------------------------------------------------
    rt = service.runtime()
    store = rt.store()
    issuers = store.list_issuers()
    assert len(issuers) == 3
    secrets = {"admin key": service.admin_key, "keystore password": KEYSTORE_PASSWORD,
               "refused API key": wrong_key, "new API key": new_key, "API key 1": service.api_key}
    for n, (_, _, key) in enumerate(service.extra_issuers, start=2):
        secrets[f"API key {n}"] = key
    for issuer in issuers:
        # Keystores are encrypted: the key comes back only with the password.
        path = Path(issuer.keystore)
        keystore = json.loads(path.read_text())
        assert keystore["crypto"]["kdf"] == "scrypt" and keystore["crypto"]["ciphertext"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        signer = load_keystore(path, KEYSTORE_PASSWORD)
        assert signer.address == issuer.address
        secrets[f"private key of {issuer.name}"] = key_hex(signer)
        # Its Ed25519 signing key (issue 14): encrypted beside it, under the same password.
        assert issuer.did and issuer.did.startswith("did:key:")
        ed25519 = key_ring(rt, issuer).load_current(KEYSTORE_PASSWORD)
        assert issuer.did == ed25519.did
        secrets[f"Ed25519 key of {issuer.name}"] = decode_secret_multibase(
            ed25519.secret_multibase()).hex()
        secrets[f"Ed25519 multikey of {issuer.name}"] = ed25519.secret_multibase()
    assert stat.S_IMODE((data / "keys").stat().st_mode) == 0o700

    # API keys are stored as SHA-256 digests, and only so.
    rows = store.db.execute("SELECT key_hash, hint FROM api_keys").fetchall()
    assert len(rows) == 3  # two from the deployment, one from the CLI
    digests = {bytes(r[0]) for r in rows}
    for key in (service.api_key, new_key, *[k for _, _, k in service.extra_issuers]):
        assert hashlib.sha256(key.encode()).digest() in digests
    assert all(len(r[1]) <= 9 for r in rows)  # a hint: "cak_" + 4 characters
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rt.close()

    logs = "\n".join(r.getMessage() for r in caplog.records).encode()
    logs += caplog.text.encode()
    assert len(caplog.records) > 50  # DEBUG really was on (web3, urllib3, credanchor)
    assert leaks(logs, secrets) == []
    assert b"DEBUG" in worker.stderr and b"eth_sendRawTransaction" in worker.stderr + logs
    for name, out in (("issuer add stderr", added.stderr), ("worker", worker.stdout +
                      worker.stderr), ("config", config.stdout + config.stderr)):
        assert leaks(out, secrets) == [], name
    # The one place a new API key appears: the one-time print on the operator's terminal.
    assert leaks(added.stdout, secrets) == ["new API key"]

    files = [p for p in data.rglob("*") if p.is_file()]
    assert any(p.name == "ledger.sqlite" for p in files) and len(files) >= 4
    for path in files:
        found = leaks(path.read_bytes(), secrets)
        assert found == [], (str(path.relative_to(data)), found)


def test_embedded_demo_keeps_keys_out_of_the_ledger(runtime, caplog):
    """The embedded demo generates its keystore password into a 0600 file beside the
    keystore (README); the ledger and the logs still hold neither it nor the key."""
    caplog.set_level(logging.DEBUG)
    store = runtime.store()
    issuer = store.list_issuers()[0]
    key = store.create_api_key(issuer.id)
    client = create_app(runtime=runtime).test_client()
    client.post("/api/v1/credentials", json=sample_items(2),
                headers={"Authorization": f"Bearer {key}"})
    runtime.anchorer().run_until_idle(timeout=60)
    signer = runtime.signer_for(issuer)
    password = runtime.settings.keystore_password.reveal()
    secrets = {"issuer key": key_hex(signer), "API key": key,
               "keystore password": password}
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert leaks(runtime.settings.ledger_path.read_bytes(), secrets) == []
    assert leaks(caplog.text.encode(), secrets) == []
    keystore = Path(issuer.keystore)
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert leaks(keystore.read_bytes(), secrets) == []
