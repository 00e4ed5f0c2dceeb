"""Hardening (issue 12), item 4: the data directory holds names, salted e-mail hashes with
their salts, API-key digests, keystores and the embedded chain. It is created 0700 and every
file in it 0600 (ledger, its -wal/-shm, keystores, chain database), whatever the umask; a data
directory left readable by an older version is tightened when it is opened."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from credanchor.ledger.store import Store
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import add_issuer
from kit.settings import make_settings


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default: files 0644, directories 0755
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def modes(root: Path) -> dict[str, int]:
    found = {".": mode(root)}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = mode(path)
    return found


def assert_private(root: Path) -> dict[str, int]:
    found = modes(root)
    loose = {name: oct(m) for name, m in found.items()
             if m != (0o700 if (root / name).is_dir() else 0o600)}
    assert loose == {}, f"not private: {loose}"
    return found


def test_a_new_data_dir_and_everything_in_it_are_private(tmp_path):
    data = tmp_path / "data"
    rt = Runtime.open(make_settings(data))
    try:
        add_issuer(rt, name="Second Academy")  # a keystore under keys/
        rt.store().create_api_key(1)
        found = assert_private(data)  # checked while open: -wal and -shm files exist
    finally:
        rt.close()
    for name in ("ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "chain.sqlite",
                 "chain.sqlite-wal", "issuer-keystore.json", "keys"):
        assert name in found, f"{name} missing from {sorted(found)}"
    assert any(n.startswith("keys/") and n.endswith(".json") for n in found)
    assert_private(data)


def test_an_existing_readable_data_dir_is_tightened_on_open(tmp_path):
    data = tmp_path / "data"
    Runtime.open(make_settings(data)).close()
    for path in [data, *data.rglob("*")]:  # as an older credanchor (or a copy) left it
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert mode(data / "ledger.sqlite") == 0o644
    rt = Runtime.open(make_settings(data))
    try:
        assert_private(data)
    finally:
        rt.close()


def test_a_ledger_opened_on_its_own_is_private(tmp_path):
    path = tmp_path / "new" / "ledger.sqlite"
    store = Store(path)
    try:
        store.add_issuer(address="0x" + "11" * 20, name="Acme")
        assert mode(path.parent) == 0o700
        assert {p.name: mode(p) for p in path.parent.iterdir()} == {
            "ledger.sqlite": 0o600, "ledger.sqlite-wal": 0o600, "ledger.sqlite-shm": 0o600}
    finally:
        store.close()
    path.chmod(0o644)
    Store(path).close()
    assert mode(path) == 0o600
