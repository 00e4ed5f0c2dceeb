"""A JSON-RPC node over HTTP (anvil, geth, a hosted endpoint), checked before first use.

Batching: web3 8's ``w3.batch_requests()`` works on the HTTP provider returned here and sends
many calls in one POST; :meth:`CredentialAnchor.verify_many` uses it for bulk verification
(about 0.8 ms per call through web3.py against anvil, so per-credential calls do not scale).
The provider writes a batch's body with orjson (:class:`BatchHTTPProvider`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.types import RPCEndpoint

from credanchor.chain.head import redact_url
from credanchor.chain.tx import chain_errors
from credanchor.errors import ChainIdMismatch, ConfigError

log = logging.getLogger(__name__)


class BatchHTTPProvider(HTTPProvider):
    """web3's HTTP provider, writing a JSON-RPC batch's body with orjson.

    web3 encodes each call of a batch on its own (a new JSON encoder per call): ~25 µs a
    call here, against ~1 µs for the batch as one orjson value, and the bulk verifier sends
    one ``eth_call`` per file. Ids come from the provider's own counter, as web3's do, so
    the responses are matched the same way. The body differs from web3's only in spacing
    and in writing non-ASCII text as UTF-8 (both are JSON); a value orjson cannot write as
    web3 would (an integer beyond 64 bits, a type other than web3's bytes and mappings)
    sends the whole batch web3's way."""

    def encode_batch_rpc_request(self, calls: Sequence[tuple[RPCEndpoint, Any]]) -> bytes:
        try:
            return orjson.dumps(
                [{"jsonrpc": "2.0", "method": method, "params": params or [],
                  "id": next(self.request_counter)} for method, params in calls],
                default=_as_web3_writes)
        except TypeError:  # orjson.JSONEncodeError included
            return super().encode_batch_rpc_request(list(calls))


def _as_web3_writes(value: object) -> object:
    """What web3's JSON encoder writes for the non-JSON values web3 itself passes: bytes
    (HexBytes included) as 0x hex, an AttributeDict as its mapping."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def connect_rpc(
    url: str,
    *,
    expected_chain_id: int | None,
    timeout: float = 10,
    retries: int = 2,
    poa: bool = False,
    check: bool = True,
) -> Web3:
    """A Web3 on ``url`` whose chain id has been checked.

    ``timeout`` bounds each HTTP request (seconds). Idempotent reads are retried ``retries``
    times on connection errors (web3 never retries sends). ``poa=True`` accepts the long
    extraData of proof-of-authority chains. Raises ChainUnavailable if the node cannot be
    reached, ChainIdMismatch if it serves another chain. Example::

        w3 = connect_rpc("http://127.0.0.1:8545", expected_chain_id=31337)
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"RPC URL must be http(s)://host[:port][/path], got {redact_url(url)}")
    provider = BatchHTTPProvider(
        url,
        request_kwargs={"timeout": timeout},
        session=rpc_session(url),
        exception_retry_configuration=ExceptionRetryConfiguration(
            errors=(requests.ConnectionError, requests.Timeout),
            retries=max(1, retries + 1),  # web3 counts attempts, not retries
            backoff_factor=0.1,
        ),
        # web3 asks for the chain id before every call and estimate (its validation
        # middleware); it cannot change under a URL we checked, so answer it from memory.
        cache_allowed_requests=True,
        cacheable_requests={RPCEndpoint("eth_chainId"), RPCEndpoint("net_version")},
    )
    w3 = Web3(provider)
    if poa:
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    if check:
        check_chain_id(w3, url, expected_chain_id)
    return w3


def rpc_session(url: str) -> requests.Session:
    """A ``requests`` session for one node URL that has read the environment once.

    By default ``requests`` re-reads the proxy variables (``HTTPS_PROXY``, ``NO_PROXY``…),
    the CA bundle variables and ``~/.netrc`` on every request: ~0.3 ms of CPU per JSON-RPC
    call here, a third of what a call to anvil costs in all. The URL is fixed, so the answer
    is too: ``requests``' own :meth:`~requests.Session.merge_environment_settings` and
    ``get_netrc_auth`` are asked once, and their proxies, CA bundle and credentials kept on
    the session (credentials in the URL itself are honoured as before). A change to the
    environment or to ``~/.netrc`` takes effect when the process restarts.
    """
    session = requests.Session()
    found = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies.update(found["proxies"])
    session.verify = found["verify"]
    session.auth = requests.utils.get_netrc_auth(url)
    session.trust_env = False
    return session


def check_chain_id(w3: Web3, url: str, expected_chain_id: int | None) -> int:
    """Ask the node for its chain id; ChainIdMismatch if it is not the expected one."""
    where = redact_url(url)
    with chain_errors(f"connecting to {where}"):
        chain_id = int(w3.eth.chain_id)
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainIdMismatch(
            f"the node at {where} serves chain id {chain_id}, but chain id "
            f"{expected_chain_id} is configured"
        )
    log.info("connected to %s (chain id %d)", where, chain_id)
    return chain_id
