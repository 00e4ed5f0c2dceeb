"""Third-party VC verifiers and signers, run offline from Python tests.

A thin wrapper around ``tests/interop/verifiers.mjs`` (Node): each function runs one command
of it with ``subprocess`` and returns the parsed JSON. The verifiers are real, independent
implementations pinned in package.json — ``@digitalcredentials/verifier-core`` (what Learner
Credential Wallet and VerifierPlus use) and ``@digitalbazaar/vc`` with the ``eddsa-rdfc-2022``
Data Integrity suite — so a credential they accept is one the ecosystem accepts. See
docs/interop.md.

Nothing here touches the network except :func:`serve_directory`'s server on 127.0.0.1, which
the CLI is allowed to reach for status lists.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("verifiers.mjs")
#: Generous: loading the libraries alone takes 1-3 s on a busy 2-core machine.
TIMEOUT = 300.0


class HarnessError(RuntimeError):
    """The harness itself failed (no Node, no node_modules, a usage error, a crash): never a
    verdict about a credential."""


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise HarnessError("node is not on PATH: the interop tests need Node.js")
    if not (ROOT / "node_modules" / "@digitalcredentials" / "verifier-core").is_dir():
        raise HarnessError("node_modules lacks the verifiers: run `npm ci` at the repo root")
    return node


def run(*args: str, ok: Sequence[int] = (0,)) -> subprocess.CompletedProcess[str]:
    """Run ``node verifiers.mjs ARGS``; HarnessError (with its stderr) on another exit code."""
    proc = subprocess.run(
        [_node(), str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if proc.returncode not in ok:
        raise HarnessError(
            f"verifiers.mjs {args[0] if args else ''} exited {proc.returncode}: "
            f"{proc.stderr.strip()[-2000:]}"
        )
    return proc


def _seed_hex(seed: bytes | str) -> str:
    value = seed.hex() if isinstance(seed, bytes) else seed
    if len(value) != 64:
        raise ValueError("an Ed25519 seed is 32 bytes")
    return value


def _json_line(proc: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(proc.stdout)


@contextmanager
def _input_file(document: Mapping[str, Any]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="credanchor-interop-") as tmp:
        path = Path(tmp) / "input.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        yield path


# --- verdicts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What both verifiers said about one file (the CLI's JSON line, with readable accessors)."""

    file: str
    verifier_core: Mapping[str, Any]
    db_vc: Mapping[str, Any]
    #: URLs (or DIDs) each verifier asked for and was refused because the run is offline.
    refused: Mapping[str, Sequence[str]]

    @property
    def core_signature(self) -> bool | None:
        """verifier-core's ``valid_signature``: None when it could not tell."""
        value = self.verifier_core["valid_signature"]
        return value if isinstance(value, bool) else None

    @property
    def core_valid(self) -> bool:
        """verifier-core accepts it: good signature and no fatal error."""
        return self.core_signature is True and not self.verifier_core["errors"]

    @property
    def core_revoked(self) -> bool | None:
        """True when verifier-core found the revocation bit set, False when clear, None when it
        did not check or the check failed (see ``verifier_core["revocation_status"]``)."""
        status = self.verifier_core["revocation_status"]
        return (not status) if isinstance(status, bool) else None

    @property
    def db_valid(self) -> bool:
        """@digitalbazaar/vc verified it (proof, issuer/controller, dates; a status list that
        could be read and verified). A set status bit does not make this False: see
        :attr:`db_revoked`."""
        return self.db_vc["verified"] is True

    @property
    def db_revoked(self) -> bool | None:
        """True when a ``revocation`` entry's bit is set in the list @digitalbazaar/vc read."""
        status = self.db_vc.get("status")
        if not status or not status.get("verified"):
            return None
        bits = [e["set"] for e in status["entries"] if e["statusPurpose"] == "revocation"]
        return any(bits) if bits else None

    @property
    def accepted(self) -> bool:
        """Both verifiers accept it."""
        return self.core_valid and self.db_valid

    @property
    def offline_complete(self) -> bool:
        """No verifier was refused anything: a negative verdict is about the credential, not
        about a document the offline run could not fetch."""
        return not any(self.refused.values())


def verify(*paths: Path | str, did_docs: Mapping[str, Path | str] | None = None) -> list[Verdict]:
    """Both verifiers on each file, in order. ``did_docs`` maps a did:web DID to a file holding
    its DID document (served to both verifiers instead of fetching it)."""
    if not paths:
        raise ValueError("verify needs at least one file")
    args = ["verify"]
    for did, doc in (did_docs or {}).items():
        args += ["--did-doc", f"{did}={doc}"]
    proc = run(*args, *map(str, paths), ok=(0, 1))
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(lines) != len(paths):
        raise HarnessError(
            f"expected {len(paths)} results, got {len(lines)}: {proc.stderr[-2000:]}"
        )
    out = []
    for line in lines:
        if "error" in line:
            raise HarnessError(f"{line['file']}: {line['error']}")
        out.append(
            Verdict(
                file=line["file"],
                verifier_core=line["verifierCore"],
                db_vc=line["dbVc"],
                refused=line["refused"],
            )
        )
    return out


def verify_documents(
    documents: Mapping[str, Mapping[str, Any]],
    directory: Path,
    *,
    did_docs: Mapping[str, Path | str] | None = None,
) -> dict[str, Verdict]:
    """Write each document to ``directory/NAME.json`` and verify them all in one run (the
    libraries take seconds to load, so one run for many files is much faster)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, doc in documents.items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        paths.append(path)
    return dict(zip(documents, verify(*paths, did_docs=did_docs), strict=True))


# --- signing and status lists ---------------------------------------------------------------


def sign_all(
    credentials: Sequence[Mapping[str, Any]],
    *,
    seed: bytes | str,
    issuer_did: str | None = None,
    verification_method: str | None = None,
    created: str | None = None,
) -> list[dict[str, Any]]:
    """Each credential with an eddsa-rdfc-2022 Data Integrity proof added by @digitalbazaar/vc.

    The key is the Ed25519 key of ``seed``; the issuer defaults to its did:key (verification
    method ``did:key:z…#z…``; ``DID#key-1`` for another DID) and must already be each
    credential's issuer. ``created`` (``YYYY-MM-DDTHH:MM:SSZ``) fixes the proof's date, so the
    output is reproducible (RDFC-1.0 and Ed25519 are deterministic). An existing ``proof`` is
    kept and the new one appended after it.
    """
    if not credentials:
        return []
    args = ["sign", "--seed", _seed_hex(seed)]
    if issuer_did is not None:
        args += ["--issuer-did", issuer_did]
    if verification_method is not None:
        args += ["--verification-method", verification_method]
    if created is not None:
        args += ["--created", created]
    with tempfile.TemporaryDirectory(prefix="credanchor-interop-") as tmp:
        paths = []
        for i, credential in enumerate(credentials):
            path = Path(tmp) / f"input-{i}.json"
            path.write_text(json.dumps(credential), encoding="utf-8")
            paths.append(str(path))
        proc = run(*args, *paths)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def sign(credential: Mapping[str, Any], *, seed: bytes | str, **options: Any) -> dict[str, Any]:
    """One credential signed as :func:`sign_all` does."""
    return sign_all([credential], seed=seed, **options)[0]


def status_list(
    *,
    seed: bytes | str,
    url: str,
    length: int = 131_072,
    revoked: Sequence[int] = (),
    issuer_did: str | None = None,
    purpose: str = "revocation",
    created: str | None = None,
    valid_from: str | None = None,
) -> dict[str, Any]:
    """A ``BitstringStatusListCredential`` (VC 2.0) built and signed by Digital Bazaar's
    libraries, with the bits in ``revoked`` set. 131,072 entries is the spec's minimum size."""
    args = [
        "status-list", "--seed", _seed_hex(seed), "--url", url, "--length", str(length),
        "--revoked", ",".join(map(str, revoked)), "--purpose", purpose,
    ]  # fmt: skip
    if issuer_did is not None:
        args += ["--issuer-did", issuer_did]
    if created is not None:
        args += ["--created", created]
    if valid_from is not None:
        args += ["--valid-from", valid_from]
    result: dict[str, Any] = _json_line(run(*args))
    return result


def read_status_list(credential: Mapping[str, Any]) -> tuple[int, list[int]]:
    """``(length, set bit indexes)`` of a status list credential, decoded by Digital Bazaar's
    reader."""
    with _input_file(credential) as path:
        result = _json_line(run("status-list-read", str(path)))
    return result["length"], result["set"]


def did_document(seed: bytes | str, did: str | None = None) -> dict[str, Any]:
    """A DID document with the seed's key as its one Multikey verification method (``#key-1``
    for a did:web; the did:key document when ``did`` is None)."""
    args = ["did-doc", "--seed", _seed_hex(seed)]
    if did is not None:
        args += ["--did", did]
    result: dict[str, Any] = _json_line(run(*args))
    return result


def did_key(seed: bytes | str) -> str:
    """The ``did:key`` (Ed25519) of the seed."""
    return str(did_document(seed)["id"])


# --- a status-list server -------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # test output stays readable
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over HTTP on 127.0.0.1 (a free port) for the block's duration and
    yield its base URL, e.g. ``http://127.0.0.1:41234``. Files are read on each request, so a
    test may rewrite a status list between two verifications."""
    handler = partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="interop-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
