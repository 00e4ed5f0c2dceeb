"""Configuration: defaults, then an optional TOML file, then ``CREDANCHOR_*`` environment
variables, then explicit overrides (tests, CLI flags). Read once, at the edge, into a frozen
:class:`Settings`; nothing below the CLI or ``create_app`` reads the environment.

WARNING: secrets (private key, keystore password) may come from the environment; they are held
as :class:`Secret` so that printing the settings (``credanchor config``) never shows them.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from credanchor.errors import ConfigError

ENV_PREFIX = "CREDANCHOR_"


class Secret(str):
    """A string that does not print itself."""

    def __repr__(self) -> str:
        return "Secret('****')"

    def reveal(self) -> str:
        return str.__str__(self)


#: Where the embedded chain lives in the data directory (usecases.bootstrap creates both).
EMBEDDED_CHAIN_FILE = "chain.sqlite"
EMBEDDED_STATE_FILE = "embedded.json"

@dataclass(frozen=True)
class Settings:
    #: Where the ledger, the embedded chain and the issuer keystores live.
    data_dir: Path = Path("credanchor-data")
    #: "embedded" (in-process EVM persisted in data_dir) or "rpc" (any JSON-RPC node).
    chain: str = "embedded"
    rpc_url: str | None = None
    chain_id: int | None = None
    contract_address: str | None = None
    #: Block the contract was deployed in (auditors replay events from there).
    deploy_block: int = 0
    #: The issuer's signing key: hex in the environment, or an encrypted keystore file.
    private_key: Secret | None = None
    keystore: Path | None = None
    keystore_password: Secret | None = None
    #: scrypt N for keystores this service creates (None: eth-keyfile's default, 2**18).
    kdf_work_factor: int | None = None
    #: The registry admin's key (accredits and suspends issuers); embedded mode has its own.
    admin_key: Secret | None = None
    #: A throwaway development chain, where the admin may hand out test ETH
    #: (``credanchor issuer fund``). None: decided from the chain, see
    #: :func:`is_development_chain`.
    development_chain: bool | None = None
    #: Seal a batch when this many credentials are pending …
    batch_size: int = 10_000
    #: … or when the oldest pending one is this many seconds old.
    batch_max_age: float = 60.0
    #: Hard cap on one batch (the contract counts in uint32).
    batch_max: int = 1_000_000
    confirmations: int = 1
    #: After confirmation, keep re-checking an anchor until it is this many blocks deep.
    recheck_depth: int = 12
    #: Refuse to send a transaction whose max fee per gas exceeds this (gwei).
    max_fee_gwei: float = 200.0
    priority_fee_gwei: float | None = None
    #: Replace a transaction with a bumped fee after it waited this long (seconds).
    tx_timeout: float = 120.0
    rpc_timeout: float = 10.0
    worker_interval: float = 1.0
    #: Seconds the web app reuses fetched anchor transactions and issuer records.
    verify_cache_ttl: float = 10.0
    #: Limits of the issuing API.
    max_credentials_per_request: int = 10_000
    #: Most credentials one verification (a file, a request) checks against the chain: a
    #: stacked qualification counts itself, its definition and every component, at every level.
    max_verify_credentials: int = 256
    max_body_bytes: int = 16 * 1024 * 1024
    #: Rate limit of the public endpoints, per client and endpoint: ``600/minute``, several
    #: separated by ``;`` (the ``limits`` library's syntax).
    public_rate_limit: str = "600/minute"
    #: Extra trusted (chain id, contract) pairs, as a JSON trust-list file.
    trust_list: Path | None = None
    #: Block explorer base URL ("https://sepolia.etherscan.io"); transaction links when set.
    explorer_url: str | None = None
    #: Public base URL of this service ("https://badges.example.org"): every absolute link
    #: (verify links, QR codes) is built on it, and its host is one the service answers to.
    #: Unset: links use the request's host, which must then be loopback or an allowed host.
    public_url: str | None = None
    #: Further host names the service answers to, comma-separated (".example.org" also allows
    #: its subdomains). Loopback names are always allowed; any other Host header gets a 400.
    allowed_hosts: str | None = None
    #: Reverse proxies in front of the service whose X-Forwarded-For is trusted (Werkzeug's
    #: ProxyFix): the rate limiter then keys on the real client. 0: the peer is the client.
    trusted_proxies: int = 0
    issuer_name: str = "Demo Issuer"
    issuer_url: str | None = None
    log_level: str = "INFO"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    @property
    def embedded_chain_path(self) -> Path:
        """The embedded chain's SQLite file (py-evm's key/value store)."""
        return self.data_dir / EMBEDDED_CHAIN_FILE

    @property
    def embedded_state_path(self) -> Path:
        """What bootstrapping the embedded chain recorded: contract, deploy block, accounts."""
        return self.data_dir / EMBEDDED_STATE_FILE

    @property
    def max_fee_wei(self) -> int:
        return int(self.max_fee_gwei * 10**9)

    @property
    def priority_fee_wei(self) -> int | None:
        return None if self.priority_fee_gwei is None else int(self.priority_fee_gwei * 10**9)

    def masked(self) -> dict[str, Any]:
        """Every setting, with secrets masked: what ``credanchor config`` prints."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                value = "****"
            elif isinstance(value, Path):
                value = str(value)
            out[f.name] = value
        return out


#: Chain ids of local development nodes: anvil and hardhat (31337), ganache and geth --dev (1337).
DEVELOPMENT_CHAIN_IDS = frozenset({31337, 1337})


def is_development_chain(settings: Settings, chain_id: int) -> bool:
    """Is the chain with ``chain_id`` (as the node reports it) a development chain? The
    setting decides when given; otherwise the embedded chain and the usual local chain ids
    are, and every other chain (a testnet, mainnet) is not."""
    if settings.development_chain is not None:
        return settings.development_chain
    return settings.chain == "embedded" or chain_id in DEVELOPMENT_CHAIN_IDS


_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True,
               "0": False, "false": False, "no": False, "off": False}


def _coerce(name: str, annotation: Any, raw: Any) -> Any:
    if raw is None or raw == "":
        return None
    kind = str(annotation)
    try:
        if "Secret" in kind:
            return Secret(str(raw))
        if "Path" in kind:
            return Path(str(raw)).expanduser()
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        if kind.startswith("bool"):
            word = str(raw).strip().lower()
            if word not in _BOOL_WORDS:  # a typo must not silently mean "false"
                raise ValueError(word)
            return _BOOL_WORDS[word]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name} = {raw!r} is not a valid {kind}") from exc
    return str(raw)


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    config_file: str | Path | None = None,
    **overrides: Any,
) -> Settings:
    """Build the effective settings. ``env`` defaults to ``os.environ``."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    known = {f.name: f for f in fields(Settings)}
    path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        data = data.get("credanchor", data)
        for key, raw in data.items():
            name = key.replace("-", "_")
            if name not in known:
                raise ConfigError(f"unknown setting {key!r} in {path}")
            values[name] = _coerce(name, known[name].type, raw)
    for name, f in known.items():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = _coerce(name, f.type, raw)
    for name, raw in overrides.items():
        if name not in known:
            raise ConfigError(f"unknown setting {name!r}")
        if raw is not None:
            values[name] = raw if not isinstance(raw, str) else _coerce(name, known[name].type, raw)
    # An RPC URL without an explicit chain mode means the operator wants that node.
    if values.get("rpc_url") and "chain" not in values:
        values["chain"] = "rpc"
    settings = Settings(**{k: v for k, v in values.items() if v is not None})
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    if s.chain not in ("embedded", "rpc"):
        raise ConfigError(f"CREDANCHOR_CHAIN must be 'embedded' or 'rpc', not {s.chain!r}")
    if s.chain == "rpc" and not s.rpc_url:
        raise ConfigError("CREDANCHOR_CHAIN=rpc needs CREDANCHOR_RPC_URL")
    if not 1 <= s.batch_size <= s.batch_max <= 2**32 - 1:
        raise ConfigError("need 1 <= batch_size <= batch_max <= 4294967295")
    if s.confirmations < 1:
        raise ConfigError("confirmations must be at least 1")
    if s.max_fee_gwei <= 0:
        raise ConfigError("max_fee_gwei must be positive")
    if s.trusted_proxies < 0:
        raise ConfigError("trusted_proxies must be 0 (no proxy) or the number of proxies")
    if s.public_url is not None:
        try:
            parts = urlsplit(s.public_url)
            ok = (parts.scheme in ("http", "https") and bool(parts.hostname)
                  and not parts.query and (parts.port is None or parts.port > 0))
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"CREDANCHOR_PUBLIC_URL must be http(s)://host[:port][/path], "
                              f"not {s.public_url!r}")
    if s.max_verify_credentials < 1:
        raise ConfigError("max_verify_credentials must be at least 1")


def replace(settings: Settings, **changes: Any) -> Settings:
    new = dataclasses.replace(settings, **changes)
    _validate(new)
    return new
