"""The service's shared verifier reuses chain facts for a bounded time only."""

from __future__ import annotations

import time

from credanchor.core.report import Status
from credanchor.issuing.pipeline import issue
from credanchor.usecases.container import Runtime
from kit.settings import make_settings, sample_items


def test_issuer_suspension_shows_once_the_cache_expires(tmp_path):
    rt = Runtime.open(make_settings(tmp_path / "d", verify_cache_ttl=0.5))
    try:
        issuer = rt.store().list_issuers()[0]
        [a] = issue(rt.store(), issuer, rt.issuance(issuer), sample_items(1), max_items=1)
        rt.anchorer().run_until_idle(timeout=60)
        doc = rt.proofs().credential_file(rt.store().get_credential(a.id))
        assert rt.verify(doc).status == Status.VALID
        shared = rt.verifier(shared=True)
        assert rt.verifier(shared=True) is shared  # one per process
        rt.chain.admin_send(rt.chain.contract.suspend_issuer(issuer.address))
        time.sleep(0.6)
        report = rt.verify(doc)
        assert report.status == Status.INVALID
        assert "no longer accredited" in report.check("issuer").message
    finally:
        rt.close()


def test_a_fresh_anchor_is_not_pending_because_of_a_cached_head(tmp_path):
    rt = Runtime.open(make_settings(tmp_path / "d"))
    try:
        issuer = rt.store().list_issuers()[0]
        [a] = issue(rt.store(), issuer, rt.issuance(issuer), sample_items(1), max_items=1)
        rt.verifier(shared=True)._cached_head(rt.chain)
        rt.anchorer().run_until_idle(timeout=60)
        doc = rt.proofs().credential_file(rt.store().get_credential(a.id))
        assert rt.verify(doc).status == Status.VALID
    finally:
        rt.close()
