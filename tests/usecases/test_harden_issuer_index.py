"""Hardening (issue 12), item 2: ``GET /api/v1/issuers`` is public and unauthenticated, and it
used to replay every issuer event since deployment on each call: O(chain length) RPC requests
per request on a long-lived deployment. The list is now indexed in the ledger, refreshed from
the last block it has seen, at most once per ``verify_cache_ttl`` seconds.

RPC requests are counted on the real transport (a web3 middleware on the runtime's own Web3:
every request the embedded node or anvil receives passes through it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from web3.middleware import Web3Middleware

from credanchor.chain.keys import Signer
from credanchor.usecases.container import Runtime
from credanchor.web import create_app
from kit.anvil import start_anvil
from kit.settings import make_settings

# A request that finds no new block: the head, and whether the last block seen is still
# canonical. One that finds new blocks: also the new head's hash and one eth_getLogs (with
# its own head read), plus one issuerInfo per issuer those blocks touched.
IDLE_CALLS = 2
NEW_BLOCKS_CALLS = 5


class RpcCounter:
    def __init__(self) -> None:
        self.methods: list[str] = []

    def install(self, w3: Any) -> None:
        methods = self.methods

        class Count(Web3Middleware):
            def wrap_make_request(self, make_request):  # type: ignore[no-untyped-def]
                def middleware(method, params):  # type: ignore[no-untyped-def]
                    methods.append(method)
                    return make_request(method, params)

                return middleware

        w3.middleware_onion.add(Count, name="rpc-counter")

    def calls(self, client: FlaskClient) -> tuple[int, list[dict[str, Any]]]:
        before = len(self.methods)
        resp = client.get("/api/v1/issuers")
        assert resp.status_code == 200, resp.data[:300]
        return len(self.methods) - before, resp.get_json()["issuers"]


def accredit(rt: Runtime, n: int, *, start: int = 0) -> list[str]:
    """n new issuers accredited on chain: one event (and one block) each."""
    contract = rt.chain.contract
    addresses = []
    for i in range(start, start + n):
        address = Signer.generate().address
        rt.chain.admin_send(contract.accredit_issuer(address, f"Academy {i}", f"https://{i}.example",
                                                     did=f"did:example:academy-{i}"))
        addresses.append(address)
    return addresses


def full_replay(rt: Runtime) -> list[dict[str, Any]]:
    """What the endpoint answered before: every event replayed, every issuer read."""
    return rt.chain.accredited_issuers()


@pytest.fixture
def rt(tmp_path) -> Iterator[Runtime]:
    # TTL 0: every request refreshes, the worst case for the RPC count.
    runtime = Runtime.open(make_settings(tmp_path / "data", verify_cache_ttl=0.0))
    yield runtime
    runtime.close()


def test_a_request_costs_a_bounded_number_of_rpc_calls_whatever_the_chain_length(rt):
    counter = RpcCounter()
    counter.install(rt.chain.w3)
    client = create_app(runtime=rt).test_client()
    mark = len(counter.methods)
    rt.chain.contract.issuer_info(rt.chain.contract_address)
    per_issuer_info = len(counter.methods) - mark  # what one issuerInfo read costs here

    accredit(rt, 10)
    _, listed = counter.calls(client)  # the first request indexes everything once
    assert listed == full_replay(rt) and len(listed) == 11
    idle_short, _ = counter.calls(client)

    more = accredit(rt, 60, start=10)
    catch_up, listed = counter.calls(client)  # only the 60 new issuers are read
    assert catch_up == NEW_BLOCKS_CALLS + 60 * per_issuer_info
    assert listed == full_replay(rt) and len(listed) == 71
    assert [i["address"] for i in listed[-60:]] == more
    idle_long, _ = counter.calls(client)
    assert idle_short == idle_long == IDLE_CALLS  # 60 events more, not one call more

    # One new event: the new blocks are scanned, and only the issuer it names is read.
    rt.chain.admin_send(rt.chain.contract.suspend_issuer(more[5]))
    one_event, listed = counter.calls(client)
    assert listed == full_replay(rt)
    assert one_event == NEW_BLOCKS_CALLS + per_issuer_info


def test_suspension_and_reactivation_show(rt):
    client = create_app(runtime=rt).test_client()
    [address] = accredit(rt, 1)
    before = {i["address"]: i for i in client.get("/api/v1/issuers").get_json()["issuers"]}
    assert before[address]["active"] is True and before[address]["suspendedAt"] is None

    rt.chain.admin_send(rt.chain.contract.suspend_issuer(address))
    suspended = {i["address"]: i for i in client.get("/api/v1/issuers").get_json()["issuers"]}
    assert suspended[address]["active"] is False
    assert suspended[address]["suspendedAt"] is not None

    rt.chain.admin_send(rt.chain.contract.accredit_issuer(address, "Academy 0", "",
                                                          did="did:example:academy-0"))
    again = {i["address"]: i for i in client.get("/api/v1/issuers").get_json()["issuers"]}
    assert again[address]["active"] is True and again[address]["suspendedAt"] is None

    # A profile update is its own event (IssuerProfileUpdated): the index follows it too.
    rt.chain.admin_send(rt.chain.contract.update_issuer_profile(
        address, "Renamed Academy", "", did="did:example:renamed"))
    again = {i["address"]: i for i in client.get("/api/v1/issuers").get_json()["issuers"]}
    assert again[address]["name"] == "Renamed Academy"
    assert again[address]["did"] == "did:example:renamed"
    assert list(again.values()) == full_replay(rt)


def test_within_the_ttl_a_request_makes_no_rpc_call(tmp_path):
    rt = Runtime.open(make_settings(tmp_path / "data", verify_cache_ttl=3600.0))
    try:
        counter = RpcCounter()
        counter.install(rt.chain.w3)
        client = create_app(runtime=rt).test_client()
        first, listed = counter.calls(client)
        assert first > 0 and len(listed) == 1
        assert [counter.calls(client)[0] for _ in range(20)] == [0] * 20
    finally:
        rt.close()


def test_the_index_outlives_a_restart(tmp_path):
    settings = make_settings(tmp_path / "data", verify_cache_ttl=0.0)
    rt = Runtime.open(settings)
    try:
        accredit(rt, 30)
        create_app(runtime=rt).test_client().get("/api/v1/issuers")
    finally:
        rt.close()
    rt = Runtime.open(settings)  # a new process: the ledger has the index
    try:
        counter = RpcCounter()
        counter.install(rt.chain.w3)
        calls, listed = counter.calls(create_app(runtime=rt).test_client())
        assert len(listed) == 31 and calls <= NEW_BLOCKS_CALLS
    finally:
        rt.close()


@pytest.mark.anvil
def test_an_accreditation_reorganised_away_leaves_the_list(tmp_path):
    """A real reorganisation on anvil (evm_snapshot / evm_revert, then a longer branch):
    the index notices that the last block it saw is gone and rebuilds."""
    from kit.service import deploy_service

    node = start_anvil()
    try:
        service = deploy_service(node, tmp_path / "data", CREDANCHOR_VERIFY_CACHE_TTL="0")
        rt = service.runtime()
        try:
            client = create_app(runtime=rt).test_client()
            counter = RpcCounter()
            counter.install(rt.chain.w3)
            assert [i["address"] for i in counter.calls(client)[1]] == [service.issuer_address]
            snapshot = node.rpc("evm_snapshot")
            [ghost] = accredit(rt, 1)
            assert [i["address"] for i in counter.calls(client)[1]] == [
                service.issuer_address, ghost]
            assert node.rpc("evm_revert", [snapshot]) is True
            node.rpc("anvil_mine", [hex(3)])
            _, listed = counter.calls(client)
            assert [i["address"] for i in listed] == [service.issuer_address]
            assert listed == full_replay(rt)
            idle, _ = counter.calls(client)
            assert idle == IDLE_CALLS
        finally:
            rt.close()
    finally:
        node.stop()
